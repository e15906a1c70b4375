//! The text of an rclone.conf: INI sections of `key = value`, possibly
//! encrypted whole (`RCLONE_ENCRYPT_V0:`) under `RCLONE_CONFIG_PASS`.

use std::collections::BTreeMap;

use base64::Engine;
use crypto_secretbox::aead::Aead;
use crypto_secretbox::{KeyInit, XSalsa20Poly1305};
use sha2::{Digest, Sha256};

/// The line rclone writes before an encrypted configuration.
const ENCRYPTED_MARK: &str = "RCLONE_ENCRYPT_V0:";

/// The sections of `text`, in order, each with its keys.
pub fn sections(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    let mut sections: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.push((name.trim().to_owned(), BTreeMap::new()));
        } else if let (Some((_, values)), Some((key, value))) =
            (sections.last_mut(), line.split_once('='))
        {
            values.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    sections
}

/// Whether `text` is an encrypted configuration.
pub fn is_encrypted(text: &str) -> bool {
    text.lines().any(|l| l.trim() == ENCRYPTED_MARK)
}

/// The plain text of an encrypted configuration, as rclone decrypts it:
/// the key is SHA-256 of `[PASSWORD][rclone-config]`, the body one
/// base64 NaCl secretbox with its 24-byte nonce in front.
pub fn decrypt(text: &str, password: &str) -> Result<String, String> {
    let body: String = text
        .lines()
        .skip_while(|l| l.trim() != ENCRYPTED_MARK)
        .skip(1)
        .map(str::trim)
        .collect();
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("its encrypted body is not base64 ({e}); was it cut short?"))?;
    if sealed.len() < 24 + 16 {
        return Err("its encrypted body is too short; was it cut short?".into());
    }
    let key = Sha256::digest(format!("[{password}][rclone-config]").as_bytes());
    let cipher = XSalsa20Poly1305::new_from_slice(&key).expect("32-byte key");
    let (nonce, boxed) = sealed.split_at(24);
    let plain = cipher.decrypt(nonce.into(), boxed).map_err(|_| {
        "RCLONE_CONFIG_PASS does not open it (wrong password, or the file was changed)".to_owned()
    })?;
    String::from_utf8(plain).map_err(|_| "it decrypts to something that is not text".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sections_and_keys() {
        let text =
            "# comment\n[r2]\ntype = s3\nprovider=Cloudflare\n\n; other\n[local]\ntype = local\n";
        let sections = sections(text);
        assert_eq!(sections.len(), 2);
        assert_eq!(sections[0].0, "r2");
        assert_eq!(sections[0].1["provider"], "Cloudflare");
        assert_eq!(sections[1].1["type"], "local");
    }

    #[test]
    fn decrypts_what_it_sealed_as_rclone_does() {
        let key = Sha256::digest(b"[pw][rclone-config]");
        let cipher = XSalsa20Poly1305::new_from_slice(&key).unwrap();
        let nonce = [7u8; 24];
        let mut sealed = nonce.to_vec();
        sealed.extend(
            cipher
                .encrypt((&nonce).into(), &b"[a]\ntype = local\n"[..])
                .unwrap(),
        );
        let text = format!(
            "# Encrypted rclone configuration File\n\n{ENCRYPTED_MARK}\n{}\n",
            base64::engine::general_purpose::STANDARD.encode(&sealed)
        );
        assert!(is_encrypted(&text));
        assert_eq!(decrypt(&text, "pw").unwrap(), "[a]\ntype = local\n");
        assert!(decrypt(&text, "wrong")
            .unwrap_err()
            .contains("wrong password"));
    }
}
