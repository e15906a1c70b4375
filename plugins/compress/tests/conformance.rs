//! compress passes the conformance suite over fs, and under crypt over S3
//! (SeaweedFS), the stack rclone users keep backups on.

mod common;

use std::sync::Arc;

use wharf_conformance::Exception;

/// compress adds `.` and an 11-character size and `.gz` (or `.bin`) to
/// each name, as rclone's does; a key that fills the store's limit does
/// not fit once that is added.
const LONGER_ONCE_STORED: Exception = Exception {
    case: "keys/the maximum length, 1024 bytes",
    reason: "stored, a 1,024-byte key gets a 15-byte suffix, past the 1,024 a key may hold",
};

/// Over a file system, an object and a folder of one name cannot both be;
/// compress stores `x` as `x.bin` and `x.json`, beside the folder `x/`, so
/// it can, though it reports what the store below reports.
const BOTH_THROUGH_ITS_SUFFIXES: Exception = Exception {
    case: "layout/a key cannot also be a prefix",
    reason: "compress's data and metadata names never collide with a folder of the key's name",
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_over_fs_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = wharf::Runtime::new().unwrap();
    let base = common::fs_remote(&runtime, dir.path()).await;
    let mut zip = common::overlay(&runtime, "compress", base, "zipped", &[]).await;
    wharf_conformance::assert_conforms_except(
        &mut zip,
        &[LONGER_ONCE_STORED, BOTH_THROUGH_ITS_SUFFIXES],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypt_over_compress_over_s3_passes_the_conformance_suite_on_seaweedfs() {
    let dir = tempfile::tempdir().unwrap();
    let server = wharf_test_servers::SeaweedFs::start(dir.path());
    let runtime = wharf::Runtime::new().unwrap();
    let s3 = runtime.load_bundled("s3").await.unwrap();
    let base =
        Arc::new(wharf::Remote::new("s3", s3, server.options(), wharf::Limits::default()).unwrap());
    let zip = Arc::new(common::overlay(&runtime, "compress", base, "backups", &[]).await);
    let password = wharf_obscure::obscure("conformance", *b"aaaaaaaaaaaaaaaa");
    let mut secure = common::overlay(&runtime, "crypt", zip, "", &[("password", &password)]).await;
    // Encrypted, names grow as they do over any store.
    let exceptions = [
        Exception {
            case: "keys/a 200-byte segment",
            reason: "encrypted, a 200-byte segment is 333 bytes, past SeaweedFS's 255",
        },
        Exception {
            case: "keys/the maximum length, 1024 bytes",
            reason: "encrypted, a 1,024-byte key is past the 1,024 bytes a key may hold",
        },
    ];
    wharf_conformance::assert_conforms_except(&mut secure, &exceptions).await;
}
