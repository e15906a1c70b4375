//! crypt over fs passes the conformance suite: an overlay keeps every
//! promise a backend does, but for keys that no longer fit once encrypted.

mod common;

use wharf_conformance::Exception;

/// Encrypted names are longer than plain ones (base32 of the padded name:
/// 8/5 of it and more), so a key that fits the store below in plaintext
/// may not once encrypted; crypt fails it with `invalid-key`, saying so,
/// as rclone's crypt fails it.
const LONGER_ONCE_ENCRYPTED: &[Exception] = &[
    Exception {
        case: "keys/a 200-byte segment",
        reason: "encrypted, a 200-byte segment is 333 bytes, past the file system's 255",
    },
    Exception {
        case: "keys/the maximum length, 1024 bytes",
        reason: "encrypted, a 1,024-byte key is past the 1,024 bytes a key may hold",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypt_over_fs_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = wharf::Runtime::new().unwrap();
    let base = common::fs_remote(&runtime, dir.path()).await;
    let password = common::obscured("conformance");
    let mut remote =
        common::crypt_remote(&runtime, base, "vault", &[("password", &password)]).await;
    wharf_conformance::assert_conforms_except(&mut remote, LONGER_ONCE_ENCRYPTED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypt_over_s3_passes_the_conformance_suite_on_seaweedfs() {
    let dir = tempfile::tempdir().unwrap();
    let server = wharf_test_servers::SeaweedFs::start(dir.path());
    let runtime = wharf::Runtime::new().unwrap();
    let s3 = runtime.load_bundled("s3").await.unwrap();
    let base = std::sync::Arc::new(
        wharf::Remote::new("s3", s3, server.options(), wharf::Limits::default()).unwrap(),
    );
    let password = common::obscured("conformance");
    let mut remote =
        common::crypt_remote(&runtime, base, "vault", &[("password", &password)]).await;
    // SeaweedFS keeps names of at most 255 bytes too, as a file system.
    wharf_conformance::assert_conforms_except(&mut remote, LONGER_ONCE_ENCRYPTED).await;
}
