//! Poly1305 (RFC 8439, section 2.5) with 44-bit limbs: three limbs hold the
//! 130-bit accumulator, and each 16-byte block costs nine 64 x 64 -> 128-bit
//! multiplications. In WebAssembly those are single `i64.mul_wide_u`
//! instructions (the wide-arithmetic proposal, which the plugins are built
//! with and the host enables), where the 26-bit-limb form the `poly1305`
//! crate uses needs 25 multiplications and many more carries: Poly1305 was
//! the larger half of crypt's cipher time.

/// The tag's size.
pub const TAG: usize = 16;

const MASK44: u64 = (1 << 44) - 1;
const MASK42: u64 = (1 << 42) - 1;

/// The one-time authenticator of `message` under `key` (r, then s).
pub fn tag(key: &[u8; 32], message: &[u8]) -> [u8; TAG] {
    let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
    // r, clamped as the RFC says, split into limbs of 44, 44 and 42 bits.
    let (t0, t1) = (word(&key[0..8]), word(&key[8..16]));
    let r0 = t0 & 0xffc0fffffff;
    let r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff;
    let r2 = (t1 >> 24) & 0x00ffffffc0f;
    // 2^130 = 5 (mod p), and a product of limbs 1 and 2 lands at 2^132:
    // 4 x 5 = 20 times the wrapped-around value.
    let (s1, s2) = (r1 * 20, r2 * 20);
    let (mut h0, mut h1, mut h2) = (0u64, 0u64, 0u64);
    let mut block = |m: &[u8; 16], high: u64| {
        let (t0, t1) = (word(&m[0..8]), word(&m[8..16]));
        h0 += t0 & MASK44;
        h1 += ((t0 >> 44) | (t1 << 20)) & MASK44;
        h2 += ((t1 >> 24) & MASK42) | high;
        let mul = |a: u64, b: u64| a as u128 * b as u128;
        let d0 = mul(h0, r0) + mul(h1, s2) + mul(h2, s1);
        let mut d1 = mul(h0, r1) + mul(h1, r0) + mul(h2, s2);
        let mut d2 = mul(h0, r2) + mul(h1, r1) + mul(h2, r0);
        d1 += d0 >> 44;
        h0 = d0 as u64 & MASK44;
        d2 += d1 >> 44;
        h1 = d1 as u64 & MASK44;
        let carry = (d2 >> 42) as u64;
        h2 = d2 as u64 & MASK42;
        h0 += carry * 5;
        h1 += h0 >> 44;
        h0 &= MASK44;
    };
    let mut blocks = message.chunks_exact(16);
    for m in &mut blocks {
        block(m.try_into().expect("16 bytes"), 1 << 40);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // A short last block: its bytes, a 1, then zeros; no high bit.
        let mut last = [0u8; 16];
        last[..rest.len()].copy_from_slice(rest);
        last[rest.len()] = 1;
        block(&last, 0);
    }

    // Carry fully (two passes: the first one's wrap-around into h0 can
    // carry once more), then reduce modulo p = 2^130 - 5.
    for _ in 0..2 {
        h2 += h1 >> 44;
        h1 &= MASK44;
        h0 += (h2 >> 42) * 5;
        h2 &= MASK42;
        h1 += h0 >> 44;
        h0 &= MASK44;
    }
    // g = h + 5 - 2^130: h itself if that borrows, else g (in constant
    // time: a mask, not a branch).
    let mut g0 = h0 + 5;
    let mut carry = g0 >> 44;
    g0 &= MASK44;
    let mut g1 = h1 + carry;
    carry = g1 >> 44;
    g1 &= MASK44;
    let g2 = (h2 + carry).wrapping_sub(1 << 42);
    let keep_g = (g2 >> 63).wrapping_sub(1);
    let keep_h = !keep_g;
    h0 = (h0 & keep_h) | (g0 & keep_g);
    h1 = (h1 & keep_h) | (g1 & keep_g);
    h2 = (h2 & keep_h) | (g2 & keep_g);

    // h mod 2^128, plus s.
    let lo = h0 | (h1 << 44);
    let hi = (h1 >> 20) | (h2 << 24);
    let (s0, s1) = (word(&key[16..24]), word(&key[24..32]));
    let (lo, overflow) = lo.overflowing_add(s0);
    let hi = hi.wrapping_add(s1).wrapping_add(overflow as u64);
    let mut out = [0u8; TAG];
    out[..8].copy_from_slice(&lo.to_le_bytes());
    out[8..].copy_from_slice(&hi.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use poly1305::universal_hash::KeyInit;

    #[test]
    fn the_rfc_8439_vector() {
        // RFC 8439, section 2.5.2.
        let key: [u8; 32] = [
            0x85, 0xd6, 0xbe, 0x78, 0x57, 0x55, 0x6d, 0x33, 0x7f, 0x44, 0x52, 0xfe, 0x42, 0xd5,
            0x06, 0xa8, 0x01, 0x03, 0x80, 0x8a, 0xfb, 0x0d, 0xb2, 0xfd, 0x4a, 0xbf, 0xf6, 0xaf,
            0x41, 0x49, 0xf5, 0x1b,
        ];
        let tag = tag(&key, b"Cryptographic Forum Research Group");
        assert_eq!(
            tag,
            [
                0xa8, 0x06, 0x1d, 0xc1, 0x30, 0x51, 0x36, 0xc6, 0xc2, 0x2b, 0x8b, 0xaf, 0x0c, 0x01,
                0x27, 0xa9
            ]
        );
    }

    /// Against the `poly1305` crate at every length to 300 bytes and some
    /// longer, under keys that push the limbs to their edges.
    #[test]
    fn agrees_with_the_poly1305_crate() {
        let keys: Vec<[u8; 32]> = vec![
            [0xff; 32],
            [0; 32],
            core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11)),
            core::array::from_fn(|i| if i < 16 { 0xff } else { i as u8 }),
        ];
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let ones = vec![0xffu8; 70_000];
        for key in &keys {
            for message in [&data, &ones] {
                for len in (0..300).chain([1023, 1024, 1025, 65_536, 65_536 + 15, 70_000]) {
                    let expected: [u8; 16] = poly1305::Poly1305::new(key.into())
                        .compute_unpadded(&message[..len])
                        .into();
                    assert_eq!(tag(key, &message[..len]), expected, "length {len}");
                }
            }
        }
    }
}
