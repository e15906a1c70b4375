//! NaCl's secretbox (XSalsa20-Poly1305), as rclone seals each block: the
//! first 32 bytes of the XSalsa20 keystream are the block's Poly1305 key,
//! the data is XORed with the keystream from byte 32 on, and the tag is
//! Poly1305 of the ciphertext.
//!
//! Our own Salsa20 because the cipher is most of what crypt costs, and a
//! plugin runs as WebAssembly: the generic crate computes one 64-byte
//! block at a time in scalar code. Here four blocks are computed at once,
//! lane by lane (word `i` of the four blocks side by side), in 128-bit
//! SIMD registers when the plugin is built for wasm with `simd128` (as
//! Wharf builds its plugins), and in plain arrays otherwise, so that
//! native tests check the very algorithm the plugin runs. The
//! `crypto_secretbox` crate checks it in the tests.

use subtle::ConstantTimeEq;

/// The Poly1305 tag's size.
pub const TAG: usize = 16;

/// What four Salsa20 blocks computed side by side need: word `i` of the
/// four blocks in one value, lane `j` being block `j`'s.
trait Lanes: Copy {
    fn splat(word: u32) -> Self;
    /// Four consecutive block counters, low and high words.
    fn counters(first: u64) -> (Self, Self);
    fn add(self, other: Self) -> Self;
    fn xor(self, other: Self) -> Self;
    fn rotate_left<const N: u32>(self) -> Self;
    /// XORs the four blocks, in order, into `out` (256 bytes).
    fn xor_blocks(words: &[Self; 16], out: &mut [u8; 256]);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// Four words in one 128-bit WebAssembly SIMD value.
    #[derive(Clone, Copy)]
    pub struct Simd(v128);

    impl super::Lanes for Simd {
        #[inline(always)]
        fn splat(word: u32) -> Self {
            Simd(u32x4_splat(word))
        }
        #[inline(always)]
        fn counters(first: u64) -> (Self, Self) {
            let at = |n: u64| first.wrapping_add(n);
            let low = u32x4(at(0) as u32, at(1) as u32, at(2) as u32, at(3) as u32);
            let high = u32x4(
                (at(0) >> 32) as u32,
                (at(1) >> 32) as u32,
                (at(2) >> 32) as u32,
                (at(3) >> 32) as u32,
            );
            (Simd(low), Simd(high))
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            Simd(u32x4_add(self.0, other.0))
        }
        #[inline(always)]
        fn xor(self, other: Self) -> Self {
            Simd(v128_xor(self.0, other.0))
        }
        #[inline(always)]
        fn rotate_left<const N: u32>(self) -> Self {
            Simd(v128_or(u32x4_shl(self.0, N), u32x4_shr(self.0, 32 - N)))
        }
        #[inline(always)]
        fn xor_blocks(words: &[Self; 16], out: &mut [u8; 256]) {
            // Each group of four words is transposed into four rows, one
            // per block: 16 bytes of that block, XORed in place.
            for group in 0..4 {
                let [a, b, c, d] = [0, 1, 2, 3].map(|k| words[4 * group + k].0);
                let ab_low = u32x4_shuffle::<0, 4, 1, 5>(a, b);
                let cd_low = u32x4_shuffle::<0, 4, 1, 5>(c, d);
                let ab_high = u32x4_shuffle::<2, 6, 3, 7>(a, b);
                let cd_high = u32x4_shuffle::<2, 6, 3, 7>(c, d);
                let rows = [
                    u64x2_shuffle::<0, 2>(ab_low, cd_low),
                    u64x2_shuffle::<1, 3>(ab_low, cd_low),
                    u64x2_shuffle::<0, 2>(ab_high, cd_high),
                    u64x2_shuffle::<1, 3>(ab_high, cd_high),
                ];
                for (block, row) in rows.into_iter().enumerate() {
                    let at = 64 * block + 16 * group;
                    let bytes: &mut [u8; 16] = (&mut out[at..at + 16]).try_into().expect("16");
                    // SAFETY: `bytes` is 16 bytes; wasm loads and stores
                    // need no alignment.
                    unsafe {
                        let place = bytes.as_mut_ptr() as *mut v128;
                        v128_store(place, v128_xor(v128_load(place), row));
                    }
                }
            }
        }
    }
}

/// Four words in an array: the same algorithm without SIMD.
#[derive(Clone, Copy)]
struct Scalar([u32; 4]);

impl Lanes for Scalar {
    #[inline(always)]
    fn splat(word: u32) -> Self {
        Scalar([word; 4])
    }
    #[inline(always)]
    fn counters(first: u64) -> (Self, Self) {
        let at = |n: u64| first.wrapping_add(n);
        (
            Scalar([0, 1, 2, 3].map(|n| at(n) as u32)),
            Scalar([0, 1, 2, 3].map(|n| (at(n) >> 32) as u32)),
        )
    }
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Scalar([0, 1, 2, 3].map(|j| self.0[j].wrapping_add(other.0[j])))
    }
    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        Scalar([0, 1, 2, 3].map(|j| self.0[j] ^ other.0[j]))
    }
    #[inline(always)]
    fn rotate_left<const N: u32>(self) -> Self {
        Scalar(self.0.map(|w| w.rotate_left(N)))
    }
    fn xor_blocks(words: &[Self; 16], out: &mut [u8; 256]) {
        for (block, bytes) in out.chunks_exact_mut(64).enumerate() {
            for (word, place) in words.iter().zip(bytes.chunks_exact_mut(4)) {
                let mine = u32::from_le_bytes(place.try_into().expect("4")) ^ word.0[block];
                place.copy_from_slice(&mine.to_le_bytes());
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Fastest = simd::Simd;
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
type Fastest = Scalar;

/// Salsa20's "expand 32-byte k".
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// Salsa20's quarter round, on words `a`, `b`, `c`, `d` of `x`.
#[inline(always)]
fn quarter<L: Lanes>(x: &mut [L; 16], a: usize, b: usize, c: usize, d: usize) {
    x[b] = x[b].xor(x[a].add(x[d]).rotate_left::<7>());
    x[c] = x[c].xor(x[b].add(x[a]).rotate_left::<9>());
    x[d] = x[d].xor(x[c].add(x[b]).rotate_left::<13>());
    x[a] = x[a].xor(x[d].add(x[c]).rotate_left::<18>());
}

/// Salsa20's 20 rounds (10 double rounds: columns, then rows).
#[inline(always)]
fn rounds<L: Lanes>(x: &mut [L; 16]) {
    for _ in 0..10 {
        quarter(x, 0, 4, 8, 12);
        quarter(x, 5, 9, 13, 1);
        quarter(x, 10, 14, 2, 6);
        quarter(x, 15, 3, 7, 11);
        quarter(x, 0, 1, 2, 3);
        quarter(x, 5, 6, 7, 4);
        quarter(x, 10, 11, 8, 9);
        quarter(x, 15, 12, 13, 14);
    }
}

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
    let mut x = input(key, &words::<4>(nonce)).map(Scalar::splat);
    rounds(&mut x);
    [0, 5, 10, 15, 6, 7, 8, 9].map(|i| x[i].0[0])
}

/// The XSalsa20 keystream of one key and nonce, four blocks at a time.
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

    /// XORs the next four blocks (256 bytes) into `out`.
    #[inline(always)]
    fn xor_next<L: Lanes>(&mut self, out: &mut [u8; 256]) {
        let mut start = self.input.map(L::splat);
        (start[8], start[9]) = L::counters(self.counter);
        self.counter = self.counter.wrapping_add(4);
        let mut x = start;
        rounds(&mut x);
        for (word, first) in x.iter_mut().zip(start) {
            *word = word.add(first);
        }
        L::xor_blocks(&x, out);
    }

    /// XORs the keystream into `data`, from where it is; then the stream
    /// is at a multiple of four blocks.
    fn xor<L: Lanes>(&mut self, data: &mut [u8]) {
        let mut chunks = data.chunks_exact_mut(256);
        for chunk in &mut chunks {
            self.xor_next::<L>(chunk.try_into().expect("256 bytes"));
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 256];
            last[..rest.len()].copy_from_slice(rest);
            self.xor_next::<L>(&mut last);
            rest.copy_from_slice(&last[..rest.len()]);
        }
    }
}

/// Encrypts `data` in place under `key` and `nonce`; its tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG] {
    seal_with::<Fastest>(key, nonce, data)
}

/// Checks `tag` and decrypts `data` in place; on a wrong tag `data` is
/// left as it was.
pub fn open(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8], tag: &[u8; TAG]) -> bool {
    open_with::<Fastest>(key, nonce, data, tag)
}

/// The first four blocks: the Poly1305 key (32 bytes), then 224 bytes
/// of data XORed; the stream is left at the fifth block.
fn begin<L: Lanes>(stream: &mut Keystream, data: &mut [u8]) -> [u8; 32] {
    let mut first = [0u8; 256];
    let n = data.len().min(256 - 32);
    first[32..32 + n].copy_from_slice(&data[..n]);
    stream.xor_next::<L>(&mut first);
    data[..n].copy_from_slice(&first[32..32 + n]);
    first[..32].try_into().expect("32 bytes")
}

fn seal_with<L: Lanes>(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG] {
    let mut stream = Keystream::new(key, nonce);
    let mac_key = begin::<L>(&mut stream, data);
    if data.len() > 224 {
        stream.xor::<L>(&mut data[224..]);
    }
    crate::poly1305::tag(&mac_key, data)
}

fn open_with<L: Lanes>(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8], tag: &[u8; TAG]) -> bool {
    let mut stream = Keystream::new(key, nonce);
    // The MAC key comes from the stream's first bytes, which also decrypt
    // the data's first 224 bytes: a copy keeps them until the tag passes.
    let n = data.len().min(224);
    let mut head = [0u8; 224];
    head[..n].copy_from_slice(&data[..n]);
    let mac_key = begin::<L>(&mut stream, &mut head[..n]);
    let expected = crate::poly1305::tag(&mac_key, data);
    if !bool::from(expected.ct_eq(tag)) {
        return false;
    }
    data[..n].copy_from_slice(&head[..n]);
    if data.len() > 224 {
        stream.xor::<L>(&mut data[224..]);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_secretbox::aead::AeadInPlace;
    use crypto_secretbox::{KeyInit, XSalsa20Poly1305};

    fn reference_seal(key: &[u8; 32], nonce: &[u8; 24], data: &mut [u8]) -> [u8; TAG] {
        XSalsa20Poly1305::new(key.into())
            .encrypt_in_place_detached(nonce.into(), b"", data)
            .expect("small")
            .into()
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
            .collect()
    }

    /// Every length around the edges: the 224 bytes of the first blocks,
    /// each 256-byte step, and rclone's 64 KiB blocks.
    fn lengths() -> impl Iterator<Item = usize> {
        (0..600).chain([1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536])
    }

    #[test]
    fn seals_as_nacl_at_every_length() {
        let key: [u8; 32] = core::array::from_fn(|i| (i * 7 + 3) as u8);
        let nonce: [u8; 24] = core::array::from_fn(|i| (i * 13 + 1) as u8);
        for len in lengths() {
            let plain = pattern(len, len as u8);
            let mut expected = plain.clone();
            let expected_tag = reference_seal(&key, &nonce, &mut expected);
            let mut sealed = plain.clone();
            let tag = seal_with::<Scalar>(&key, &nonce, &mut sealed);
            assert_eq!((tag, &sealed), (expected_tag, &expected), "length {len}");
            let mut opened = sealed.clone();
            assert!(
                open_with::<Scalar>(&key, &nonce, &mut opened, &tag),
                "length {len}"
            );
            assert_eq!(opened, plain, "length {len}");
        }
    }

    #[test]
    fn a_changed_byte_or_tag_fails_and_leaves_the_data() {
        let (key, nonce) = ([9u8; 32], [4u8; 24]);
        let mut sealed = pattern(1000, 1);
        let tag = seal(&key, &nonce, &mut sealed);
        for at in [0, 223, 224, 999] {
            let mut bad = sealed.clone();
            bad[at] ^= 0x10;
            let before = bad.clone();
            assert!(!open(&key, &nonce, &mut bad, &tag), "byte {at}");
            assert_eq!(bad, before, "byte {at}");
        }
        let mut bad_tag = tag;
        bad_tag[15] ^= 1;
        let mut data = sealed.clone();
        assert!(!open(&key, &nonce, &mut data, &bad_tag));
        assert!(!open(&[8u8; 32], &nonce, &mut data, &tag), "wrong key");
        assert!(open(&key, &nonce, &mut data, &tag));
    }

    /// The block counter is 64 bits: blocks across 2^32 carry into the
    /// high word, as in the reference (reached here by starting the
    /// stream just below it).
    #[test]
    fn the_block_counter_carries_into_its_high_word() {
        let (key, nonce) = ([5u8; 32], [6u8; 24]);
        let mut mine = Keystream::new(&key, &nonce);
        mine.counter = (1 << 32) - 2;
        let mut ours = [0u8; 256];
        mine.xor_next::<Scalar>(&mut ours);
        use salsa20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
        let mut reference = salsa20::XSalsa20::new(&key.into(), &nonce.into());
        reference.seek(((1u64 << 32) - 2) * 64);
        let mut theirs = [0u8; 256];
        reference.apply_keystream(&mut theirs);
        assert_eq!(ours, theirs);
    }
}
