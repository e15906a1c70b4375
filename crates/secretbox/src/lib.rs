//! NaCl's secretbox (XSalsa20-Poly1305), as rclone's crypt seals each
//! block: the first 32 bytes of the XSalsa20 keystream are the box's
//! Poly1305 key, the data is XORed with the keystream from byte 32 on, and
//! the tag is Poly1305 of the ciphertext.
//!
//! Native, for the host to compute for overlays: the cipher is most of
//! what crypt costs, and inside the sandbox Salsa20 gets four lanes of
//! WebAssembly SIMD and Poly1305 scalar code. Here Salsa20 computes eight
//! blocks at once in AVX2 registers (with AVX-512's rotations where the CPU
//! has them), chosen at run time, and Poly1305 is RustCrypto's, which
//! picks its AVX2 code the same way. Elsewhere four blocks at once in
//! plain arrays. The tests check every path against the `crypto_secretbox`
//! crate.
#![deny(missing_docs)]

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use poly1305::universal_hash::KeyInit;
use subtle::ConstantTimeEq;

/// The Poly1305 tag's size.
pub const TAG: usize = 16;

/// Which code computes Salsa20.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Four blocks at once in plain arrays.
    Portable,
    /// Eight blocks at once in AVX2 registers.
    Avx2,
    /// Eight blocks at once in AVX2 registers, rotated with AVX-512VL.
    Avx512,
}

impl Backend {
    /// The fastest this CPU runs.
    pub fn fastest() -> Backend {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx2")
            {
                return Backend::Avx512;
            }
            if std::is_x86_feature_detected!("avx2") {
                return Backend::Avx2;
            }
        }
        Backend::Portable
    }

    /// Every backend this CPU can run (for tests).
    pub fn available() -> Vec<Backend> {
        let mut all = vec![Backend::Portable];
        if Backend::fastest() != Backend::Portable {
            all.push(Backend::Avx2);
        }
        if Backend::fastest() == Backend::Avx512 {
            all.push(Backend::Avx512);
        }
        all
    }
}

/// Encrypts `data` in place under `key` and `nonce`; its tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG] {
    seal_with(Backend::fastest(), key, nonce, data)
}

/// Checks `tag` and decrypts `data` in place; on a wrong tag `data` is
/// left as it was.
pub fn open(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8], tag: &[u8; TAG]) -> bool {
    open_with(Backend::fastest(), key, nonce, data, tag)
}

/// NaCl's combined form of [`seal`] (`crypto_secretbox_easy`, and each
/// block of rclone's crypt): the box of `plaintext`, its tag then its
/// ciphertext.
pub fn seal_box(key: &[u8; 32], nonce: &[u8; 24], plaintext: &[u8]) -> Vec<u8> {
    let mut boxed = Vec::with_capacity(TAG + plaintext.len());
    boxed.extend_from_slice(&[0; TAG]);
    boxed.extend_from_slice(plaintext);
    let tag = seal(key, nonce, &mut boxed[TAG..]);
    boxed[..TAG].copy_from_slice(&tag);
    boxed
}

/// Opens a box [`seal_box`] made, in place: its plaintext, or `None` if
/// the tag does not match or the box is shorter than a tag.
pub fn open_box(key: &[u8; 32], nonce: &[u8; 24], mut sealed: Vec<u8>) -> Option<Vec<u8>> {
    if sealed.len() < TAG {
        return None;
    }
    let (tag, body) = sealed.split_at_mut(TAG);
    let tag: [u8; TAG] = (&*tag).try_into().expect("16 bytes");
    if !open(key, nonce, body, &tag) {
        return None;
    }
    sealed.drain(..TAG);
    Some(sealed)
}

/// [`seal`] with the given backend, which the CPU must run.
pub fn seal_with(backend: Backend, key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG] {
    let mut stream = Keystream::new(key, nonce);
    let mac_key = stream.begin(data);
    if data.len() > FIRST_DATA {
        stream.xor(backend, &mut data[FIRST_DATA..]);
    }
    poly1305(&mac_key, data)
}

/// [`open`] with the given backend, which the CPU must run.
pub fn open_with(
    backend: Backend,
    key: &[u8; 32],
    nonce: &[u8; 24],
    data: &mut [u8],
    tag: &[u8; TAG],
) -> bool {
    let mut stream = Keystream::new(key, nonce);
    // The MAC key comes from the stream's first bytes, which also decrypt
    // the data's first 224 bytes: a copy keeps them until the tag passes.
    let n = data.len().min(FIRST_DATA);
    let mut head = [0u8; FIRST_DATA];
    head[..n].copy_from_slice(&data[..n]);
    let mac_key = stream.begin(&mut head[..n]);
    let expected = poly1305(&mac_key, data);
    if !bool::from(expected.ct_eq(tag)) {
        return false;
    }
    data[..n].copy_from_slice(&head[..n]);
    if data.len() > FIRST_DATA {
        stream.xor(backend, &mut data[FIRST_DATA..]);
    }
    true
}

fn poly1305(key: &[u8; 32], data: &[u8]) -> [u8; TAG] {
    poly1305::Poly1305::new(key.into())
        .compute_unpadded(data)
        .into()
}

/// The data the first four blocks XOR: after the 32 bytes of MAC key.
const FIRST_DATA: usize = 256 - 32;

/// Salsa20's "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

fn words<const N: usize>(bytes: &[u8]) -> [u32; N] {
    core::array::from_fn(|i| u32::from_le_bytes(bytes[4 * i..4 * i + 4].try_into().expect("4")))
}

/// The Salsa20 input words for `key` and `nonce` (`counter` left zero),
/// or HSalsa20's with a 16-byte nonce.
fn input(key: &[u32; 8], nonce: &[u32]) -> [u32; 16] {
    let mut x = [0u32; 16];
    x[0] = SIGMA[0];
    x[1..5].copy_from_slice(&key[..4]);
    x[5] = SIGMA[1];
    x[6..6 + nonce.len()].copy_from_slice(nonce);
    x[10] = SIGMA[2];
    x[11..15].copy_from_slice(&key[4..]);
    x[15] = SIGMA[3];
    x
}

/// HSalsa20: the XSalsa20 key for `key` and the nonce's first 16 bytes.
fn hsalsa20(key: &[u32; 8], nonce: &[u8]) -> [u32; 8] {
    let x = portable::rounds_of(input(key, &words::<4>(nonce)));
    [0, 5, 10, 15, 6, 7, 8, 9].map(|i| x[i])
}

/// The XSalsa20 keystream of one key and nonce, from a block boundary.
struct Keystream {
    input: [u32; 16],
    counter: u64,
}

impl Keystream {
    fn new(key: &[u8; 32], nonce: &[u8; 24]) -> Keystream {
        let subkey = hsalsa20(&words::<8>(key), &nonce[..16]);
        Keystream {
            input: input(&subkey, &words::<2>(&nonce[16..])),
            counter: 0,
        }
    }

    /// The first four blocks: the Poly1305 key (32 bytes), then 224 bytes
    /// of `data` XORed; the stream is left at the fifth block.
    fn begin(&mut self, data: &mut [u8]) -> [u8; 32] {
        let mut first = [0u8; 256];
        let n = data.len().min(FIRST_DATA);
        first[32..32 + n].copy_from_slice(&data[..n]);
        portable::xor(&self.input, &mut self.counter, &mut first);
        data[..n].copy_from_slice(&first[32..32 + n]);
        first[..32].try_into().expect("32 bytes")
    }

    /// XORs the keystream into `data`, from where the stream is.
    fn xor(&mut self, backend: Backend, data: &mut [u8]) {
        let mut rest = data;
        #[cfg(target_arch = "x86_64")]
        if backend != Backend::Portable {
            let whole = rest.len() / x86::BYTES * x86::BYTES;
            let (done, left) = rest.split_at_mut(whole);
            // SAFETY: `backend` is one the CPU runs (the caller's promise,
            // which `Backend::fastest` keeps).
            unsafe {
                match backend {
                    Backend::Avx512 => x86::xor_avx512(&self.input, &mut self.counter, done),
                    _ => x86::xor_avx2(&self.input, &mut self.counter, done),
                }
            }
            rest = left;
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = backend;
        portable::xor(&self.input, &mut self.counter, rest);
    }
}

#[cfg(test)]
mod tests;
