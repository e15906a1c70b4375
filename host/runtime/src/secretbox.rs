//! `wharf:storage/secretbox`: NaCl's secretbox computed by the host for an
//! overlay, natively (`wharf-secretbox`: Salsa20 eight blocks at a time in
//! AVX2, Poly1305 in AVX2), where the sandbox has four lanes of SIMD and
//! scalar multiplications. Each call is bounded in size and runs to its
//! end on the calling thread (about 40 microseconds for one of crypt's
//! 64 KiB blocks); nothing outlives it.

use wasmtime::component::HasData;

use crate::bindings::overlay::wharf::storage::secretbox::Host;
use crate::bindings::types::Error as WitError;

/// The most plaintext one call seals or opens.
const MAX_PLAINTEXT: usize = 1 << 20;

/// What the `secretbox` functions of one instance work on: nothing of
/// their own; every call stands alone.
pub(crate) struct SecretboxView;

/// Marks [`SecretboxView`] as the data the `secretbox` functions get.
pub(crate) struct SecretboxData;

impl HasData for SecretboxData {
    type Data<'a> = SecretboxView;
}

/// The key and nonce as the cipher takes them, and the plaintext's size
/// within the bound, or why not.
fn checked(
    call: &str,
    key: &[u8],
    nonce: &[u8],
    plaintext: usize,
) -> Result<([u8; 32], [u8; 24]), WitError> {
    let refused = |why: String| {
        Err(WitError::Other(format!(
            "the host refused to {call}: {why}"
        )))
    };
    let Ok(key) = <[u8; 32]>::try_from(key) else {
        return refused(format!(
            "a key of {} bytes (a secretbox key is 32)",
            key.len()
        ));
    };
    let Ok(nonce) = <[u8; 24]>::try_from(nonce) else {
        return refused(format!(
            "a nonce of {} bytes (a secretbox nonce is 24)",
            nonce.len()
        ));
    };
    if plaintext > MAX_PLAINTEXT {
        return refused(format!(
            "{plaintext} bytes of plaintext in one call, past the bound of {MAX_PLAINTEXT} \
             (1 MiB); seal or open larger content in several boxes"
        ));
    }
    Ok((key, nonce))
}

impl Host for SecretboxView {
    async fn seal(
        &mut self,
        key: Vec<u8>,
        nonce: Vec<u8>,
        plaintext: Vec<u8>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitError>> {
        let (key, nonce) = match checked("seal a box", &key, &nonce, plaintext.len()) {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(wharf_secretbox::seal_box(&key, &nonce, &plaintext)))
    }

    async fn open(
        &mut self,
        key: Vec<u8>,
        nonce: Vec<u8>,
        sealed: Vec<u8>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, WitError>> {
        let length = sealed.len().saturating_sub(wharf_secretbox::TAG);
        let (key, nonce) = match checked("open a box", &key, &nonce, length) {
            Ok(checked) => checked,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(wharf_secretbox::open_box(&key, &nonce, sealed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn seal_call(key: &[u8], nonce: &[u8], plain: &[u8]) -> Result<Vec<u8>, WitError> {
        SecretboxView
            .seal(key.to_vec(), nonce.to_vec(), plain.to_vec())
            .await
            .expect("no trap")
    }

    async fn open_call(
        key: &[u8],
        nonce: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Vec<u8>>, WitError> {
        SecretboxView
            .open(key.to_vec(), nonce.to_vec(), sealed.to_vec())
            .await
            .expect("no trap")
    }

    fn refusal(e: WitError) -> String {
        match e {
            WitError::Other(message) => message,
            other => panic!("expected error.other, got {other:?}"),
        }
    }

    /// rclone's `TestEncryptData` vectors (zero key, nonce 01..18): the box
    /// of one byte, and of 1..16.
    #[tokio::test]
    async fn boxes_are_rclones() {
        let nonce: Vec<u8> = (1..=24).collect();
        let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let one = seal_call(&[0; 32], &nonce, &[1]).await.unwrap();
        assert_eq!(hex(&one), "095b446cd6237bbcb08d09fb524ce565aa");
        let sixteen: Vec<u8> = (1..=16).collect();
        let boxed = seal_call(&[0; 32], &nonce, &sixteen).await.unwrap();
        assert_eq!(
            hex(&boxed),
            "b9c4552a2710062918960a3e608c29b9aa8a5e1e165b6d075de4e9bb367fd6d4"
        );
        assert_eq!(
            open_call(&[0; 32], &nonce, &boxed).await.unwrap(),
            Some(sixteen)
        );
    }

    #[tokio::test]
    async fn a_changed_box_short_box_or_wrong_key_does_not_open() {
        let (key, nonce) = ([3u8; 32], [4u8; 24]);
        let plain = vec![7u8; 70_000];
        let boxed = seal_call(&key, &nonce, &plain).await.unwrap();
        assert_eq!(boxed.len(), plain.len() + 16);
        assert_eq!(open_call(&key, &nonce, &boxed).await.unwrap(), Some(plain));
        let mut changed = boxed.clone();
        changed[40_000] ^= 1;
        assert_eq!(open_call(&key, &nonce, &changed).await.unwrap(), None);
        assert_eq!(open_call(&[2; 32], &nonce, &boxed).await.unwrap(), None);
        assert_eq!(open_call(&key, &nonce, &boxed[..15]).await.unwrap(), None);
        let empty = seal_call(&key, &nonce, &[]).await.unwrap();
        assert_eq!(
            open_call(&key, &nonce, &empty).await.unwrap(),
            Some(Vec::new())
        );
    }

    #[tokio::test]
    async fn each_bound_is_refused_by_name() {
        let (key, nonce) = ([3u8; 32], [4u8; 24]);
        let short_key = refusal(seal_call(&key[..31], &nonce, b"x").await.unwrap_err());
        assert!(short_key.contains("a key of 31 bytes"), "{short_key}");
        let long_nonce = refusal(open_call(&key, &[0; 25], &[0; 40]).await.unwrap_err());
        assert!(long_nonce.contains("a nonce of 25 bytes"), "{long_nonce}");
        let big = vec![0u8; (1 << 20) + 1];
        let too_big = refusal(seal_call(&key, &nonce, &big).await.unwrap_err());
        assert!(too_big.contains("past the bound of 1048576"), "{too_big}");
        let too_big = refusal(
            open_call(&key, &nonce, &[0; (1 << 20) + 17])
                .await
                .unwrap_err(),
        );
        assert!(too_big.contains("past the bound"), "{too_big}");
        // The largest box allowed opens.
        let most = seal_call(&key, &nonce, &big[1..]).await.unwrap();
        assert_eq!(
            open_call(&key, &nonce, &most)
                .await
                .unwrap()
                .map(|p| p.len()),
            Some(1 << 20)
        );
    }
}
