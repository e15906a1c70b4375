//! NaCl's secretbox (XSalsa20-Poly1305) by the host
//! (`wharf:storage/secretbox`), for an overlay that encrypts. Inside the
//! sandbox the cipher runs in four lanes of WebAssembly SIMD; the host
//! runs it natively, eight blocks of Salsa20 at once, at more than twice
//! the speed, even with the copies in and out of the call.
//!
//! A box is NaCl's combined form: the 16-byte Poly1305 tag, then the
//! ciphertext. The host seals or opens at most 1 MiB of plaintext per
//! call; past that, or with a key that is not 32 bytes or a nonce that is
//! not 24, the call fails with `error.other` naming the bound.
//!
//! A plugin that calls nothing here does not import it.

use crate::bindings::wharf::storage::secretbox as raw;
use crate::Result;

/// The size of the tag at the start of a box.
pub const TAG: usize = 16;

/// Seals `plaintext` under `key` and `nonce` (never used twice with one
/// key): the box, [`TAG`] bytes longer.
pub fn seal(key: &[u8; 32], nonce: &[u8; 24], plaintext: &[u8]) -> Result<Vec<u8>> {
    raw::seal(key, nonce, plaintext)
}

/// Checks and opens a box [`seal`] made: its plaintext, or `None` if the
/// tag does not match (the box was changed, or sealed under another key
/// or nonce).
pub fn open(key: &[u8; 32], nonce: &[u8; 24], sealed: &[u8]) -> Result<Option<Vec<u8>>> {
    raw::open(key, nonce, sealed)
}
