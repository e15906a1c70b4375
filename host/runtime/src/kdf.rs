//! `wharf:storage/kdf`: scrypt computed by the host for an overlay. In the
//! sandbox its 16 MiB (at rclone's parameters) would stay in every
//! instance's linear memory, which never shrinks; here it is freed when
//! the derivation ends, and each answer is remembered for the process, so
//! a remote's second and later instances get their keys without the work.

use std::sync::Mutex;

use sha2::{Digest, Sha256};
use wasmtime::component::HasData;

use crate::bindings::overlay::wharf::storage::kdf::Host;
use crate::bindings::types::Error as WitError;

/// The most work (N x r x p) one derivation may take: 32 times what
/// rclone's crypt asks (2^14 x 8 x 1), about a second and a half.
const MAX_WORK: u64 = 1 << 22;
/// The longest key one derivation may return.
const MAX_LENGTH: u32 = 1024;
/// How many answers are remembered (the oldest goes first).
const REMEMBERED: usize = 16;

/// Answers already computed, by the SHA-256 of their arguments: the
/// answer depends on nothing else, so every remote and instance shares
/// them, and no password is kept as a key.
static DERIVED: Mutex<Vec<([u8; 32], Vec<u8>)>> = Mutex::new(Vec::new());

/// What the `kdf` functions of one instance work on: its host memory bound.
pub(crate) struct KdfView {
    pub host_memory: usize,
}

/// Marks [`KdfView`] as the data the `kdf` functions get.
pub(crate) struct KdfData;

impl HasData for KdfData {
    type Data<'a> = KdfView;
}

/// The parameters of one scrypt call, checked against the bounds.
#[derive(Clone, Copy)]
struct Cost {
    log_n: u8,
    r: u32,
    p: u32,
    length: u32,
}

impl Cost {
    /// Why the host will not run it, if it will not.
    fn refusal(&self, host_memory: usize) -> Option<String> {
        let refused = |why: String| Some(format!("the host refused scrypt: {why}"));
        if self.log_n == 0 || self.log_n >= 32 || self.r == 0 || self.p == 0 {
            return refused(format!(
                "log-n {} (1 to 31), r {} and p {} (at least 1) are not scrypt parameters",
                self.log_n, self.r, self.p
            ));
        }
        if self.length == 0 || self.length > MAX_LENGTH {
            return refused(format!(
                "a key of {} bytes (1 to {MAX_LENGTH})",
                self.length
            ));
        }
        let n = 1u64 << self.log_n;
        let memory = 128 * self.r as u64 * n;
        if memory > host_memory as u64 {
            return refused(format!(
                "it needs {} MiB, past the remote's host memory limit of {} MiB; raise \
                 host_memory_limit_mib in the remote's configuration",
                memory.div_ceil(1 << 20),
                host_memory >> 20
            ));
        }
        let work = n * self.r as u64 * self.p as u64;
        if work > MAX_WORK {
            return refused(format!(
                "N x r x p = {work} is past the bound of {MAX_WORK} (32 times rclone's)"
            ));
        }
        None
    }
}

/// The key remembered answers are found by.
fn fingerprint(password: &[u8], salt: &[u8], cost: Cost) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [password, salt] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hash.update([cost.log_n]);
    for n in [cost.r, cost.p, cost.length] {
        hash.update(n.to_le_bytes());
    }
    hash.finalize().into()
}

fn remembered(fingerprint: &[u8; 32]) -> Option<Vec<u8>> {
    let derived = DERIVED.lock().unwrap_or_else(|e| e.into_inner());
    derived
        .iter()
        .find(|(f, _)| f == fingerprint)
        .map(|(_, key)| key.clone())
}

fn remember(fingerprint: [u8; 32], key: &[u8]) {
    let mut derived = DERIVED.lock().unwrap_or_else(|e| e.into_inner());
    if derived.iter().any(|(f, _)| *f == fingerprint) {
        return;
    }
    if derived.len() >= REMEMBERED {
        derived.remove(0);
    }
    derived.push((fingerprint, key.to_vec()));
}

impl Host for KdfView {
    async fn scrypt(
        &mut self,
        password: Vec<u8>,
        salt: Vec<u8>,
        log_n: u8,
        r: u32,
        p: u32,
        length: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, WitError>> {
        let cost = Cost {
            log_n,
            r,
            p,
            length,
        };
        if let Some(why) = cost.refusal(self.host_memory) {
            return Ok(Err(WitError::InvalidConfig(why)));
        }
        let fingerprint = fingerprint(&password, &salt, cost);
        if let Some(key) = remembered(&fingerprint) {
            return Ok(Ok(key));
        }
        // Seconds of CPU at the bound: off the threads that run the
        // other instances' calls.
        let derived = tokio::task::spawn_blocking(move || {
            let params = scrypt::Params::new(cost.log_n, cost.r, cost.p, 32)
                .map_err(|e| format!("the host refused scrypt: {e}"))?;
            let mut key = vec![0u8; cost.length as usize];
            scrypt::scrypt(&password, &salt, &params, &mut key)
                .map_err(|e| format!("the host refused scrypt: {e}"))?;
            Ok::<_, String>(key)
        })
        .await?;
        Ok(match derived {
            Ok(key) => {
                remember(fingerprint, &key);
                Ok(key)
            }
            Err(why) => Err(WitError::InvalidConfig(why)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(log_n: u8, r: u32, p: u32, length: u32) -> Cost {
        Cost {
            log_n,
            r,
            p,
            length,
        }
    }

    #[test]
    fn rclones_parameters_pass_and_the_bounds_are_named() {
        let limit = 64 << 20;
        assert!(cost(14, 8, 1, 80).refusal(limit).is_none());
        let memory = cost(16, 8, 1, 32).refusal(8 << 20).unwrap();
        assert!(memory.contains("needs 64 MiB"), "{memory}");
        assert!(memory.contains("host_memory_limit_mib"), "{memory}");
        let work = cost(14, 8, 64, 32).refusal(limit).unwrap();
        assert!(work.contains("N x r x p"), "{work}");
        assert!(cost(14, 8, 1, 4096)
            .refusal(limit)
            .unwrap()
            .contains("4096 bytes"));
        assert!(cost(0, 8, 1, 32).refusal(limit).is_some());
        assert!(cost(14, 0, 1, 32).refusal(limit).is_some());
    }

    /// RFC 7914's third test vector (N = 16384, r = 8, p = 1), through
    /// the host function, and again from what it remembered.
    #[tokio::test]
    async fn derives_rfc_7914s_vector_and_remembers_it() {
        let mut view = KdfView {
            host_memory: 64 << 20,
        };
        let expected = "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
                        d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887";
        for _ in 0..2 {
            let key = view
                .scrypt(
                    b"pleaseletmein".to_vec(),
                    b"SodiumChloride".to_vec(),
                    14,
                    8,
                    1,
                    64,
                )
                .await
                .unwrap()
                .unwrap();
            let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, expected);
        }
        let fingerprint = fingerprint(b"pleaseletmein", b"SodiumChloride", cost(14, 8, 1, 64));
        assert!(remembered(&fingerprint).is_some());
    }
}
