use super::*;
use crypto_secretbox::aead::AeadInPlace;
use crypto_secretbox::XSalsa20Poly1305;

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

/// Every length around the edges: the 224 bytes of the first blocks, each
/// 256- and 512-byte step past them, and rclone's 64 KiB blocks.
fn lengths() -> impl Iterator<Item = usize> {
    (0..1300).chain([4095, 4096, 4097, 65535, 65536, 65537, 1 << 20])
}

#[test]
fn every_backend_seals_as_nacl_at_every_length() {
    let key: [u8; 32] = core::array::from_fn(|i| (i * 7 + 3) as u8);
    let nonce: [u8; 24] = core::array::from_fn(|i| (i * 13 + 1) as u8);
    for backend in Backend::available() {
        for len in lengths() {
            let plain = pattern(len, len as u8);
            let mut expected = plain.clone();
            let expected_tag = reference_seal(&key, &nonce, &mut expected);
            let mut sealed = plain.clone();
            let tag = seal_with(backend, &key, &nonce, &mut sealed);
            assert!(
                tag == expected_tag && sealed == expected,
                "{backend:?}, length {len}"
            );
            let mut opened = sealed.clone();
            assert!(
                open_with(backend, &key, &nonce, &mut opened, &tag),
                "{backend:?}, length {len}"
            );
            assert!(opened == plain, "{backend:?}, length {len}");
        }
    }
}

#[test]
fn a_changed_byte_or_tag_fails_and_leaves_the_data() {
    let (key, nonce) = ([9u8; 32], [4u8; 24]);
    let mut sealed = pattern(5000, 1);
    let tag = seal(&key, &nonce, &mut sealed);
    for at in [0, 223, 224, 999, 4999] {
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
    assert!(!open(&key, &[5u8; 24], &mut data, &tag), "wrong nonce");
    assert!(open(&key, &nonce, &mut data, &tag));
    assert_eq!(data, pattern(5000, 1));
}

/// The block counter is 64 bits: blocks across 2^32 carry into the high
/// word, as in the reference (reached here by starting the stream just
/// below it), on every backend and every lane of it.
#[test]
fn the_block_counter_carries_into_its_high_word() {
    use salsa20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
    let (key, nonce) = ([5u8; 32], [6u8; 24]);
    for backend in Backend::available() {
        for below in 1..=9u64 {
            let mut ours = Keystream::new(&key, &nonce);
            ours.counter = (1 << 32) - below;
            let mut mine = vec![0u8; 1536];
            ours.xor(backend, &mut mine);
            let mut reference = salsa20::XSalsa20::new(&key.into(), &nonce.into());
            reference.seek(((1u64 << 32) - below) * 64);
            let mut theirs = vec![0u8; 1536];
            reference.apply_keystream(&mut theirs);
            assert!(mine == theirs, "{backend:?}, {below} blocks below 2^32");
        }
    }
}
