//! Key derivation by the host (`wharf:storage/kdf`), for an overlay whose
//! keys come from a password. scrypt at rclone's parameters needs 16 MiB;
//! computed inside the plugin, that memory would stay with every instance
//! (a sandbox's memory never shrinks). The host computes it natively,
//! frees it, and remembers the answer, so later instances get it at once.
//!
//! A plugin that calls nothing here does not import it.

use crate::bindings::wharf::storage::kdf as raw;
use crate::Result;

/// scrypt (RFC 7914) of `password` salted with `salt`, at cost
/// N = 2^`log_n`, block size `r`, parallelism `p`: `length` bytes. The host
/// bounds the memory (128 x r x N bytes, within the remote's host memory
/// limit), the work and the length; past a bound the error says which.
pub fn scrypt(
    password: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
    length: u32,
) -> Result<Vec<u8>> {
    raw::scrypt(password, salt, log_n, r, p, length)
}
