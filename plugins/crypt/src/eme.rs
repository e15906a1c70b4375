//! EME (ECB-Mix-ECB), the wide-block mode rclone encrypts names with: a
//! tweakable cipher over 1 to 128 AES blocks in which every output byte
//! depends on every input byte, as Halevi and Rogaway define it and
//! rfjakob/eme implements it (which is what rclone runs).

use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecrypt, BlockEncrypt};
use aes::Aes256;

/// The most blocks EME takes (2048 bytes).
pub const MAX_BLOCKS: usize = 128;

/// Doubling in GF(2^128), the 16 bytes read as a little-endian number.
fn mul2(x: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[0] = x[0] << 1;
    if x[15] >= 0x80 {
        out[0] ^= 0x87;
    }
    for j in 1..16 {
        out[j] = (x[j] << 1) | (x[j - 1] >> 7);
    }
    out
}

fn xor(a: &[u8; 16], b: &[u8; 16]) -> [u8; 16] {
    let mut out = [0u8; 16];
    for i in 0..16 {
        out[i] = a[i] ^ b[i];
    }
    out
}

/// Which way to run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Encrypt,
    Decrypt,
}

fn apply(cipher: &Aes256, direction: Direction, block: &[u8; 16]) -> [u8; 16] {
    let mut b = GenericArray::clone_from_slice(block);
    match direction {
        Direction::Encrypt => cipher.encrypt_block(&mut b),
        Direction::Decrypt => cipher.decrypt_block(&mut b),
    }
    b.into()
}

/// Transforms `data` (a whole number of 16-byte blocks, 1 to 128 of them)
/// under `tweak`. The caller checks the length.
pub fn transform(cipher: &Aes256, tweak: &[u8; 16], data: &[u8], direction: Direction) -> Vec<u8> {
    let m = data.len() / 16;
    assert!(data.len().is_multiple_of(16) && (1..=MAX_BLOCKS).contains(&m));
    let block = |j: usize| -> [u8; 16] { data[j * 16..j * 16 + 16].try_into().unwrap() };
    // L is made with the forward cipher in both directions.
    let mut l = apply(cipher, Direction::Encrypt, &[0u8; 16]);
    let mut ltable = Vec::with_capacity(m);
    for _ in 0..m {
        l = mul2(&l);
        ltable.push(l);
    }
    let ppp: Vec<[u8; 16]> = (0..m)
        .map(|j| apply(cipher, direction, &xor(&block(j), &ltable[j])))
        .collect();
    let mut mp = *tweak;
    for p in &ppp {
        mp = xor(&mp, p);
    }
    let mc = apply(cipher, direction, &mp);
    let mut mask = xor(&mp, &mc);
    let mut ccc = vec![[0u8; 16]; m];
    for j in 1..m {
        mask = mul2(&mask);
        ccc[j] = xor(&ppp[j], &mask);
    }
    let mut first = xor(&mc, tweak);
    for c in &ccc[1..] {
        first = xor(&first, c);
    }
    ccc[0] = first;
    let mut out = Vec::with_capacity(data.len());
    for j in 0..m {
        out.extend_from_slice(&xor(&apply(cipher, direction, &ccc[j]), &ltable[j]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::KeyInit;

    #[test]
    fn matches_rfjakob_eme() {
        // rfjakob/eme TestEnc16: zero key, zero tweak, 16 zero bytes.
        let cipher = Aes256::new(&[0u8; 32].into());
        let out = transform(&cipher, &[0; 16], &[0; 16], Direction::Encrypt);
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "f1b9ce8ca15a4ba9fb476905434b9fd3");
        let data: Vec<u8> = (0..96u8).collect();
        let tweak = [7u8; 16];
        let sealed = transform(&cipher, &tweak, &data, Direction::Encrypt);
        assert_eq!(
            transform(&cipher, &tweak, &sealed, Direction::Decrypt),
            data
        );
    }
}
