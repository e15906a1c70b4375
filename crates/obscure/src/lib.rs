//! rclone's obscured passwords: AES-256-CTR under a key every rclone has,
//! with a random IV in front, in unpadded URL-safe base64. It hides a
//! password from a glance at the config file, no more; crypt's passwords
//! are stored this way, so they are read this way.

use aes::cipher::{KeyIvInit, StreamCipher};
use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// rclone's base64: URL-safe, written without padding; read with or
/// without (a hand-edited config may have it).
const URL_SAFE_NO_PAD: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

type Ctr = ctr::Ctr128BE<aes::Aes256>;

/// rclone's fixed obscuring key.
const KEY: [u8; 32] = [
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
];

/// Obscures `plain` with `iv` (random in use; fixed in tests).
pub fn obscure(plain: &str, iv: [u8; 16]) -> String {
    let mut out = iv.to_vec();
    let mut body = plain.as_bytes().to_vec();
    Ctr::new(&KEY.into(), &iv.into()).apply_keystream(&mut body);
    out.extend_from_slice(&body);
    URL_SAFE_NO_PAD.encode(out)
}

/// The password `obscured` stands for, or why it is not an obscured one.
pub fn reveal(obscured: &str) -> Result<String, String> {
    let bytes = URL_SAFE_NO_PAD.decode(obscured.trim()).map_err(|e| {
        format!("it is not an obscured password (not the base64 rclone writes: {e})")
    })?;
    if bytes.len() < 16 {
        return Err("it is too short to be an obscured password".into());
    }
    let (iv, body) = bytes.split_at(16);
    let mut body = body.to_vec();
    let iv: [u8; 16] = iv.try_into().expect("16 bytes");
    Ctr::new(&KEY.into(), &iv.into()).apply_keystream(&mut body);
    String::from_utf8(body)
        .map_err(|_| "it does not reveal to text, so it is not an obscured password".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rclone's `obscure_test.go` vectors.
    #[test]
    fn obscures_and_reveals_as_rclone() {
        let a = *b"aaaaaaaaaaaaaaaa";
        let b = *b"bbbbbbbbbbbbbbbb";
        assert_eq!(obscure("", a), "YWFhYWFhYWFhYWFhYWFhYQ");
        assert_eq!(obscure("potato", a), "YWFhYWFhYWFhYWFhYWFhYXMaGgIlEQ");
        assert_eq!(obscure("potato", b), "YmJiYmJiYmJiYmJiYmJiYp3gcEWbAw");
        assert_eq!(reveal("YmJiYmJiYmJiYmJiYmJiYp3gcEWbAw").unwrap(), "potato");
        assert_eq!(reveal("YWFhYWFhYWFhYWFhYWFhYQ").unwrap(), "");
        assert!(reveal("YmJiYmJiYmJiYmJiYmJiYp*gcEWbAw").is_err());
        assert!(reveal("aGVsbG8").unwrap_err().contains("too short"));
    }
}
