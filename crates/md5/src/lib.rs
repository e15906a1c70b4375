//! MD5 (RFC 1321), for what S3 makes of it: ETags to check after a
//! download and Content-MD5 headers on uploaded parts. Nothing here is for
//! security; MD5 is how S3 names content.
//!
//! Why not the `md-5` crate: hashing is most of the CPU a download spends
//! (a 1 GiB download checks 1 GiB of MD5), and its block function runs at
//! about 525 MiB/s on this project's test machine against OpenSSL's 718.
//! MD5's 64 steps depend each on the last, so its speed is the length of
//! that chain per step. The block function below keeps it short: each
//! step's constant, message word and the register it replaces are added
//! before the newest register is known, and the round functions take the
//! newest register last (G as a sum of two disjoint masks, so one half
//! is ready early).

#![no_std]

/// The MD5 of `bytes`.
pub fn digest(bytes: &[u8]) -> [u8; 16] {
    let mut md5 = Md5::new();
    md5.update(bytes);
    md5.finalize()
}

/// An MD5 computed as bytes arrive.
#[derive(Clone)]
pub struct Md5 {
    state: [u32; 4],
    /// Bytes of an unfinished block.
    pending: [u8; 64],
    pending_len: usize,
    /// Bytes hashed so far, for the length MD5 appends.
    length: u64,
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    pub const fn new() -> Md5 {
        Md5 {
            state: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
            pending: [0; 64],
            pending_len: 0,
            length: 0,
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len() as u64);
        if self.pending_len > 0 {
            let take = bytes.len().min(64 - self.pending_len);
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len < 64 {
                return;
            }
            let block = self.pending;
            compress(&mut self.state, &block);
            self.pending_len = 0;
        }
        let mut blocks = bytes.chunks_exact(64);
        for block in &mut blocks {
            compress(&mut self.state, block.try_into().expect("64 bytes"));
        }
        let rest = blocks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.pending_len = rest.len();
    }

    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.length.wrapping_mul(8);
        // 0x80, zeros up to 56 bytes into a block, then the length in bits.
        let mut tail = [0u8; 72];
        tail[0] = 0x80;
        let pad = if self.pending_len < 56 {
            56 - self.pending_len
        } else {
            120 - self.pending_len
        };
        tail[pad..pad + 8].copy_from_slice(&bits.to_le_bytes());
        self.update(&tail[..pad + 8]);
        debug_assert_eq!(self.pending_len, 0);
        let mut out = [0u8; 16];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// RFC 1321's constants: the integer part of 2^32 × |sin(i + 1)|.
static K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

/// Constant `i`, loaded where the compiler cannot see it as a constant:
/// LLVM moves constant operands to the end of a sum, which would put the
/// add of the constant after the round function, on the chain every
/// step waits for (measured here: 577 MiB/s with the constants inline).
#[inline(always)]
fn k(i: usize) -> u32 {
    // SAFETY: a read of an element of a static array.
    unsafe { core::ptr::read_volatile(&K[i]) }
}

/// One step: `a` becomes `b + ((a + k + m + f(b, c, d)) <<< s)`, with the
/// sum of everything but the round function formed first.
macro_rules! step {
    (F, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add((($c ^ $d) & $b) ^ $d);
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    (G, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        // (b & d) | (c & !d): the two masks never overlap, so they may be
        // added, the half without b first.
        $a = $a.wrapping_add($m.wrapping_add($k)).wrapping_add($c & !$d);
        $a = $a.wrapping_add($b & $d);
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    (H, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add(($c ^ $d) ^ $b);
        $a = $a.rotate_left($s).wrapping_add($b);
    };
    (I, $a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:expr, $s:expr) => {
        $a = $a.wrapping_add($m.wrapping_add($k));
        $a = $a.wrapping_add(($b | !$d) ^ $c);
        $a = $a.rotate_left($s).wrapping_add($b);
    };
}

fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let mut m = [0u32; 16];
    for (word, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    let [mut a, mut b, mut c, mut d] = *state;
    step!(F, a, b, c, d, m[0], k(0), 7);
    step!(F, d, a, b, c, m[1], k(1), 12);
    step!(F, c, d, a, b, m[2], k(2), 17);
    step!(F, b, c, d, a, m[3], k(3), 22);
    step!(F, a, b, c, d, m[4], k(4), 7);
    step!(F, d, a, b, c, m[5], k(5), 12);
    step!(F, c, d, a, b, m[6], k(6), 17);
    step!(F, b, c, d, a, m[7], k(7), 22);
    step!(F, a, b, c, d, m[8], k(8), 7);
    step!(F, d, a, b, c, m[9], k(9), 12);
    step!(F, c, d, a, b, m[10], k(10), 17);
    step!(F, b, c, d, a, m[11], k(11), 22);
    step!(F, a, b, c, d, m[12], k(12), 7);
    step!(F, d, a, b, c, m[13], k(13), 12);
    step!(F, c, d, a, b, m[14], k(14), 17);
    step!(F, b, c, d, a, m[15], k(15), 22);
    step!(G, a, b, c, d, m[1], k(16), 5);
    step!(G, d, a, b, c, m[6], k(17), 9);
    step!(G, c, d, a, b, m[11], k(18), 14);
    step!(G, b, c, d, a, m[0], k(19), 20);
    step!(G, a, b, c, d, m[5], k(20), 5);
    step!(G, d, a, b, c, m[10], k(21), 9);
    step!(G, c, d, a, b, m[15], k(22), 14);
    step!(G, b, c, d, a, m[4], k(23), 20);
    step!(G, a, b, c, d, m[9], k(24), 5);
    step!(G, d, a, b, c, m[14], k(25), 9);
    step!(G, c, d, a, b, m[3], k(26), 14);
    step!(G, b, c, d, a, m[8], k(27), 20);
    step!(G, a, b, c, d, m[13], k(28), 5);
    step!(G, d, a, b, c, m[2], k(29), 9);
    step!(G, c, d, a, b, m[7], k(30), 14);
    step!(G, b, c, d, a, m[12], k(31), 20);
    step!(H, a, b, c, d, m[5], k(32), 4);
    step!(H, d, a, b, c, m[8], k(33), 11);
    step!(H, c, d, a, b, m[11], k(34), 16);
    step!(H, b, c, d, a, m[14], k(35), 23);
    step!(H, a, b, c, d, m[1], k(36), 4);
    step!(H, d, a, b, c, m[4], k(37), 11);
    step!(H, c, d, a, b, m[7], k(38), 16);
    step!(H, b, c, d, a, m[10], k(39), 23);
    step!(H, a, b, c, d, m[13], k(40), 4);
    step!(H, d, a, b, c, m[0], k(41), 11);
    step!(H, c, d, a, b, m[3], k(42), 16);
    step!(H, b, c, d, a, m[6], k(43), 23);
    step!(H, a, b, c, d, m[9], k(44), 4);
    step!(H, d, a, b, c, m[12], k(45), 11);
    step!(H, c, d, a, b, m[15], k(46), 16);
    step!(H, b, c, d, a, m[2], k(47), 23);
    step!(I, a, b, c, d, m[0], k(48), 6);
    step!(I, d, a, b, c, m[7], k(49), 10);
    step!(I, c, d, a, b, m[14], k(50), 15);
    step!(I, b, c, d, a, m[5], k(51), 21);
    step!(I, a, b, c, d, m[12], k(52), 6);
    step!(I, d, a, b, c, m[3], k(53), 10);
    step!(I, c, d, a, b, m[10], k(54), 15);
    step!(I, b, c, d, a, m[1], k(55), 21);
    step!(I, a, b, c, d, m[8], k(56), 6);
    step!(I, d, a, b, c, m[15], k(57), 10);
    step!(I, c, d, a, b, m[6], k(58), 15);
    step!(I, b, c, d, a, m[13], k(59), 21);
    step!(I, a, b, c, d, m[4], k(60), 6);
    step!(I, d, a, b, c, m[11], k(61), 10);
    step!(I, c, d, a, b, m[2], k(62), 15);
    step!(I, b, c, d, a, m[9], k(63), 21);
    state[0] = state[0].wrapping_add(a);
    state[1] = state[1].wrapping_add(b);
    state[2] = state[2].wrapping_add(c);
    state[3] = state[3].wrapping_add(d);
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use md5_reference::Digest as _;
    use std::vec::Vec;

    fn reference(bytes: &[u8]) -> [u8; 16] {
        md5_reference::Md5::digest(bytes).into()
    }

    fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    #[test]
    fn rfc_1321_test_suite() {
        let hex = |bytes: [u8; 16]| {
            bytes
                .iter()
                .map(|b| std::format!("{b:02x}"))
                .collect::<std::string::String>()
        };
        assert_eq!(hex(digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(hex(digest(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            hex(digest(b"message digest")),
            "f96b697d7cb7938d525a2f31aaf161d0"
        );
        assert_eq!(
            hex(digest(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            )),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
    }

    #[test]
    fn every_length_around_the_padding_boundaries_matches_the_reference() {
        for len in 0..=300 {
            let bytes = pseudo_random(len, len as u32);
            assert_eq!(digest(&bytes), reference(&bytes), "{len} bytes");
        }
    }

    #[test]
    fn bytes_fed_in_any_pieces_hash_as_one_slice() {
        let bytes = pseudo_random(70_001, 7);
        let whole = reference(&bytes);
        for piece in [1, 3, 63, 64, 65, 127, 4096, 65_537] {
            let mut md5 = Md5::new();
            for chunk in bytes.chunks(piece) {
                md5.update(chunk);
            }
            assert_eq!(md5.finalize(), whole, "pieces of {piece}");
        }
    }
}
