//! Object content in rclone's crypt format: a 32-byte header (`RCLONE\0\0`
//! and a random 24-byte nonce), then the content in blocks of 64 KiB, each
//! sealed with NaCl secretbox (XSalsa20-Poly1305) under the data key and
//! the nonce plus the block's number (a 192-bit little-endian counter),
//! each stored as its 16-byte tag followed by its ciphertext.

use wharf_plugin::Result;

use crate::error::undecryptable;

/// The header's first bytes.
pub const MAGIC: &[u8; 8] = b"RCLONE\0\0";
/// The header: magic and nonce.
pub const HEADER: usize = 32;
/// Plaintext bytes per block.
pub const BLOCK_DATA: usize = 64 * 1024;
/// What sealing adds to a block (the Poly1305 tag).
pub const BLOCK_OVERHEAD: usize = 16;
/// A full block as stored.
pub const BLOCK: usize = BLOCK_DATA + BLOCK_OVERHEAD;

/// The size stored below for `size` bytes of content.
pub fn encrypted_size(size: u64) -> u64 {
    let (full, rest) = (size / BLOCK_DATA as u64, size % BLOCK_DATA as u64);
    HEADER as u64
        + full * BLOCK as u64
        + if rest > 0 {
            BLOCK_OVERHEAD as u64 + rest
        } else {
            0
        }
}

/// The content size of an object stored as `size` bytes, or why no crypt
/// object has that size.
pub fn decrypted_size(size: u64) -> Result<u64, &'static str> {
    let Some(body) = size.checked_sub(HEADER as u64) else {
        return Err("file is too short to be encrypted");
    };
    let (full, rest) = (body / BLOCK as u64, body % BLOCK as u64);
    if rest != 0 && rest <= BLOCK_OVERHEAD as u64 {
        return Err("file has truncated block header");
    }
    Ok(full * BLOCK_DATA as u64 + rest.saturating_sub(BLOCK_OVERHEAD as u64))
}

/// A block's nonce: the file's nonce plus the block's number, as one
/// 192-bit little-endian number.
#[derive(Clone, Copy)]
pub struct Nonce(pub [u8; 24]);

impl Nonce {
    /// The nonce `n` blocks on.
    pub fn plus(&self, n: u64) -> Nonce {
        let mut out = self.0;
        let mut carry = n as u128;
        for byte in out.iter_mut() {
            if carry == 0 {
                break;
            }
            let sum = *byte as u128 + (carry & 0xff);
            *byte = sum as u8;
            carry = (carry >> 8) + (sum >> 8);
        }
        Nonce(out)
    }
}

/// The header for `nonce`.
pub fn header(nonce: &Nonce) -> [u8; HEADER] {
    let mut out = [0u8; HEADER];
    out[..8].copy_from_slice(MAGIC);
    out[8..].copy_from_slice(&nonce.0);
    out
}

/// The nonce in `header`, or why it is not a crypt header.
pub fn parse_header(header: &[u8]) -> Result<Nonce, &'static str> {
    if header.len() < HEADER {
        return Err("file is too short to be encrypted");
    }
    if &header[..8] != MAGIC {
        return Err("not an encrypted file - bad magic string");
    }
    Ok(Nonce(header[8..HEADER].try_into().expect("24 bytes")))
}

/// Seals and opens the blocks of one object.
pub struct Blocks {
    key: [u8; 32],
    nonce: Nonce,
    next: u64,
}

impl Blocks {
    /// Blocks from `first` on, of an object whose header has `nonce`.
    pub fn new(key: &[u8; 32], nonce: Nonce, first: u64) -> Blocks {
        Blocks {
            key: *key,
            nonce,
            next: first,
        }
    }

    /// Seals the next block (at most [`BLOCK_DATA`] bytes), appending it
    /// (tag, then ciphertext) to `out`.
    pub fn seal(&mut self, plain: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let nonce = self.nonce.plus(self.next);
        self.next += 1;
        out.extend_from_slice(&cipher::seal(&self.key, &nonce.0, plain)?);
        Ok(())
    }

    /// Opens the next block (tag and ciphertext) of the object `key`: its
    /// plaintext, or why it does not open, in rclone's words.
    pub fn open(&mut self, key: &str, block: &[u8]) -> Result<Vec<u8>> {
        let nonce = self.nonce.plus(self.next);
        self.next += 1;
        if block.len() <= BLOCK_OVERHEAD {
            return Err(undecryptable(key, "file has truncated block header"));
        }
        cipher::open(&self.key, &nonce.0, block)?.ok_or_else(|| {
            undecryptable(
                key,
                "failed to authenticate decrypted block - bad password?",
            )
        })
    }
}

/// The cipher: in the sandbox the host's (`wharf_plugin::secretbox`, native
/// and several times faster than WebAssembly); built natively, for this
/// crate's own tests, the same code the host runs.
mod cipher {
    #[cfg(target_arch = "wasm32")]
    pub use wharf_plugin::secretbox::{open, seal};

    #[cfg(not(target_arch = "wasm32"))]
    pub fn seal(key: &[u8; 32], nonce: &[u8; 24], plain: &[u8]) -> wharf_plugin::Result<Vec<u8>> {
        Ok(wharf_secretbox::seal_box(key, nonce, plain))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(
        key: &[u8; 32],
        nonce: &[u8; 24],
        sealed: &[u8],
    ) -> wharf_plugin::Result<Option<Vec<u8>>> {
        Ok(wharf_secretbox::open_box(key, nonce, sealed.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sizes_as_rclone() {
        for (plain, sealed) in [
            (0u64, 32u64),
            (1, 49),
            (65536, 65584),
            (65537, 65601),
            (1 << 20, 1048864),
            ((1 << 20) + 65535, 1048864 + 16 + 65535),
            (1 << 30, 32 + 16384 * 65552),
            ((1 << 40) + 1, 32 + 16777216 * 65552 + 17),
        ] {
            assert_eq!(encrypted_size(plain), sealed, "{plain}");
            assert_eq!(decrypted_size(sealed), Ok(plain), "{sealed}");
        }
        for bad in [0, 1, 7] {
            assert_eq!(
                decrypted_size(bad),
                Err("file is too short to be encrypted")
            );
        }
        for bad in [33, 48, 32 + 65552 + 1, 32 + 65552 + 16] {
            assert_eq!(decrypted_size(bad), Err("file has truncated block header"));
        }
    }

    #[test]
    fn nonces_count_as_rclone() {
        let ff = Nonce([0xff; 24]);
        assert_eq!(ff.plus(1).0, [0; 24]);
        let mut n = [0u8; 24];
        n[..8].copy_from_slice(&[0xff; 8]);
        let mut expected = [0u8; 24];
        expected[0] = 0xfe;
        expected[1..8].copy_from_slice(&[0xff; 7]);
        expected[8] = 1;
        assert_eq!(Nonce(n).plus(u64::MAX).0, expected);
    }

    /// rclone's `TestEncryptData` vectors: zero key, nonce 01..18.
    #[test]
    fn seals_as_rclone() {
        let nonce = Nonce(core::array::from_fn(|i| i as u8 + 1));
        let mut out = Vec::new();
        Blocks::new(&[0; 32], nonce, 0)
            .seal(&[1], &mut out)
            .unwrap();
        assert_eq!(hex(&out), "095b446cd6237bbcb08d09fb524ce565aa");
        let mut out = Vec::new();
        let sixteen: Vec<u8> = (1..=16).collect();
        Blocks::new(&[0; 32], nonce, 0)
            .seal(&sixteen, &mut out)
            .unwrap();
        assert_eq!(
            hex(&out),
            "b9c4552a2710062918960a3e608c29b9aa8a5e1e165b6d075de4e9bb367fd6d4"
        );
        let opened = Blocks::new(&[0; 32], nonce, 0).open("x", &out).unwrap();
        assert_eq!(opened, sixteen);
        let mut corrupt = out;
        corrupt[20] ^= 1;
        let failed = Blocks::new(&[0; 32], nonce, 0)
            .open("x", &corrupt)
            .unwrap_err();
        assert!(failed.to_string().contains("bad password?"), "{failed}");
        let short = Blocks::new(&[0; 32], nonce, 0)
            .open("x", &corrupt[..16])
            .unwrap_err();
        assert!(
            short.to_string().contains("truncated block header"),
            "{short}"
        );
        assert_eq!(
            hex(&header(&nonce)),
            "52434c4f4e4500000102030405060708090a0b0c0d0e0f101112131415161718"
        );
    }
}
