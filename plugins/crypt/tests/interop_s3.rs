//! Interoperability with rclone's crypt over S3 (SeaweedFS): rclone's s3
//! and crypt backends write, Wharf's s3 and crypt plugins read, and the
//! other way round, including a file of 20 MiB and ranges across blocks.

mod common;

use std::sync::Arc;

use common::{crypt_remote, data, obscured};
use wharf::{ByteRange, Limits, Remote, Runtime, Span, WriteOptions};
use wharf_test_servers::{Rclone, SeaweedFs};

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("empty".into(), Vec::new()),
        ("with space/a block and one.bin".into(), data(65537, 7)),
        ("unicode/ünïcödé 文件.txt".into(), b"hello\n".to_vec()),
        (format!("deep/{}/x", "l".repeat(140)), data(1000, 8)),
        ("big/twenty megs.bin".into(), data(20 << 20, 9)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypt_over_s3_reads_and_writes_what_rclone_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(&dir.path().join("s3"));
    let password = obscured("over s3");
    let rclone = Rclone::with_config(&format!(
        "{}[rsecure]\ntype = crypt\nremote = rs3:{}/vault\npassword = {password}\n",
        server.rclone_section("rs3"),
        server.bucket
    ));
    let runtime = Runtime::new().unwrap();
    let s3 = runtime.load_bundled("s3").await.unwrap();
    let base = Arc::new(Remote::new("s3", s3, server.options(), Limits::default()).unwrap());
    let secure = crypt_remote(&runtime, base, "vault", &[("password", &password)]).await;

    // rclone writes, Wharf reads.
    let src = dir.path().join("src");
    for (name, bytes) in files() {
        let path = src.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    rclone.run(&["copy", src.to_str().unwrap(), "rsecure:from-rclone"]);
    for (name, bytes) in files() {
        let mut got = Vec::new();
        secure
            .get(&format!("from-rclone/{name}"), None, &mut got)
            .await
            .unwrap();
        assert!(got == bytes, "{name} differs");
    }
    let big = data(20 << 20, 9);
    let mut part = Vec::new();
    let range = ByteRange::Span(Span {
        offset: (5 << 20) - 3,
        length: 200_000,
    });
    secure
        .get("from-rclone/big/twenty megs.bin", Some(range), &mut part)
        .await
        .unwrap();
    assert!(part == big[(5 << 20) - 3..(5 << 20) - 3 + 200_000]);

    // Wharf writes, rclone reads and cryptcheck passes.
    for (name, bytes) in files() {
        secure
            .put(
                &format!("from-wharf/{name}"),
                &bytes[..],
                WriteOptions::default(),
            )
            .await
            .unwrap();
    }
    for (name, bytes) in files() {
        assert!(
            rclone.run(&["cat", &format!("rsecure:from-wharf/{name}")]) == bytes,
            "{name}"
        );
    }
    rclone.run(&["cryptcheck", src.to_str().unwrap(), "rsecure:from-wharf"]);
}
