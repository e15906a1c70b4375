//! The keys of a crypt remote, derived from its passwords as rclone
//! derives them: scrypt (N = 16384, r = 8, p = 1) over `password`, salted
//! with `password2` (rclone's fixed salt when that is empty), 80 bytes
//! split into the data key, the name key and the name tweak.

use wharf_plugin::{Error, Result};

/// rclone's salt when `password2` is empty.
const DEFAULT_SALT: [u8; 16] = [
    0xA8, 0x0D, 0xF4, 0x3A, 0x8F, 0xBD, 0x03, 0x08, 0xA7, 0xCA, 0xB8, 0x3E, 0x58, 0x1F, 0x86, 0xB1,
];

/// rclone's scrypt parameters: N = 2^14, r = 8, p = 1.
const LOG_N: u8 = 14;
const R: u32 = 8;
const P: u32 = 1;
/// The bytes derived: the data key, the name key and the name tweak.
const KEY_BYTES: usize = 80;

/// The keys, from the plaintext (revealed) passwords.
#[derive(Clone)]
pub struct Keys {
    /// Seals the content (XSalsa20-Poly1305).
    pub data: [u8; 32],
    /// Encrypts names (AES-256 in EME mode).
    pub name: [u8; 32],
    /// The EME tweak for names.
    pub tweak: [u8; 16],
}

impl Keys {
    /// Derives the keys, scrypt computed by the host (see
    /// [`wharf_plugin::kdf`]: inside the sandbox its 16 MiB would stay
    /// with every instance). An empty password gives all-zero keys, as
    /// rclone does (its test vectors rely on it; configuration refuses one).
    pub fn derive(password: &str, password2: &str) -> Result<Keys> {
        Self::derive_with(password, password2, |password, salt| {
            wharf_plugin::kdf::scrypt(password, salt, LOG_N, R, P, KEY_BYTES as u32)
        })
    }

    /// [`Keys::derive`] with scrypt (N = 2^14, r = 8, p = 1, 80 bytes)
    /// computed by `scrypt(password, salt)`.
    pub fn derive_with(
        password: &str,
        password2: &str,
        scrypt: impl FnOnce(&[u8], &[u8]) -> Result<Vec<u8>>,
    ) -> Result<Keys> {
        let mut key = [0u8; KEY_BYTES];
        if !password.is_empty() {
            let salt = if password2.is_empty() {
                &DEFAULT_SALT[..]
            } else {
                password2.as_bytes()
            };
            let derived = scrypt(password.as_bytes(), salt)?;
            key = derived.try_into().map_err(|derived: Vec<u8>| {
                Error::other(format!(
                    "scrypt gave {} bytes of key, not {KEY_BYTES}",
                    derived.len()
                ))
            })?;
        }
        let mut keys = Keys {
            data: [0; 32],
            name: [0; 32],
            tweak: [0; 16],
        };
        keys.data.copy_from_slice(&key[..32]);
        keys.name.copy_from_slice(&key[32..64]);
        keys.tweak.copy_from_slice(&key[64..]);
        Ok(keys)
    }
}

/// scrypt as the host computes it, in the test's own process (native
/// tests have no host to ask).
#[cfg(test)]
pub(crate) fn native_scrypt(password: &[u8], salt: &[u8]) -> Result<Vec<u8>> {
    let params = scrypt::Params::new(LOG_N, R, P, 32).expect("rclone's parameters");
    let mut key = vec![0u8; KEY_BYTES];
    scrypt::scrypt(password, salt, &params, &mut key).expect("80 bytes");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// rclone's `TestKey` vectors.
    #[test]
    fn derives_rclones_keys() {
        let cases = [
            (
                "potato",
                "",
                "7455c71ab17c865b8471f47b79acb07eb31d5678b80c7e2eaf4fc8066a9ee468",
                "765da27ab15d77f95796711f7b93ad63bbb484072e7180a8d17a9bbec14270d0",
                "c18d5932f55b2828c5e1e87215520310",
            ),
            (
                "Potato",
                "",
                "aeea6ad347df75b963ce12f57623e946d42ed8bf3e928b39243794133e5ef75e",
                "54f7026e8afc560a86636aab2c9c5162e51a122351836eaf50420f981c860a19",
                "f8c1b6272d529b4a8fdaeb424a28ddf3",
            ),
            (
                "potato",
                "sausage",
                "8e9b6b99f8690467a071f9cb92d0aa787f8ff178bec96f999fd5206e644a1b50",
                "3ea95ef681782dc9d9955d225bfd442c6f5d6897b029015c6f462e2a9dae2ce3",
                "f17fd7141d65274f363fc2a04dd2148a",
            ),
            (
                "potato",
                "Sausage",
                "da818c67ef110fc8d5c8624b7fe29e3535b08d798489accba0ff0272031a5e64",
                "02817e7bea99815ad02db96448b028277c20b4d4a468ad4e5c290f79efeedb3b",
                "9ab50b3dcb605955a54de6b6470323e2",
            ),
        ];
        for (password, salt, data, name, tweak) in cases {
            let keys = Keys::derive_with(password, salt, native_scrypt).unwrap();
            assert_eq!(hex(&keys.data), data, "{password}/{salt}");
            assert_eq!(hex(&keys.name), name, "{password}/{salt}");
            assert_eq!(hex(&keys.tweak), tweak, "{password}/{salt}");
        }
        let zero = Keys::derive("", "").unwrap();
        assert_eq!(zero.data, [0; 32]);
        assert_eq!(zero.tweak, [0; 16]);
    }
}
