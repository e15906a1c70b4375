//! The stack rclone users keep backups on, crypt over compress over S3
//! (SeaweedFS), read and written by Wharf and by rclone (its s3, compress
//! and crypt backends) each way, and compress alone over S3.

mod common;

use std::sync::Arc;

use common::{data, get, listed, overlay, text, Rclone};
use wharf::{ByteRange, Limits, Remote, Runtime, Span, WriteOptions};
use wharf_test_servers::SeaweedFs;

fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("empty".into(), Vec::new()),
        ("db/dump 2026-12-02.sql".into(), text(3 << 20, 1)),
        ("media/photo.jpg".into(), data((1 << 20) + 1, 2)),
        ("unicode/ünïcödé 文件.txt".into(), text(70_000, 3)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypt_over_compress_over_s3_interoperates_with_rclone() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(&dir.path().join("s3"));
    let password = wharf_obscure::obscure("backups", *b"aaaaaaaaaaaaaaaa");
    let rclone = Rclone::with_config(&format!(
        "{}[rzip]\ntype = compress\nremote = rs3:{}/backups\nmode = gzip\nlevel = -1\n\n\
         [rsecure]\ntype = crypt\nremote = rzip:\npassword = {password}\n",
        server.rclone_section("rs3"),
        server.bucket
    ));
    let runtime = Runtime::new().unwrap();
    let s3 = runtime.load_bundled("s3").await.unwrap();
    let base = Arc::new(Remote::new("s3", s3, server.options(), Limits::default()).unwrap());
    let zip = Arc::new(overlay(&runtime, "compress", base.clone(), "backups", &[]).await);
    let secure = overlay(
        &runtime,
        "crypt",
        zip.clone(),
        "",
        &[("password", &password)],
    )
    .await;

    // rclone writes through its stack, Wharf reads through its own.
    let src = dir.path().join("src");
    common::write_files(&src, &files());
    rclone.run(&["copy", src.to_str().unwrap(), "rsecure:from-rclone"]);
    let mut expected: Vec<(String, u64)> = files()
        .into_iter()
        .map(|(n, b)| (format!("from-rclone/{n}"), b.len() as u64))
        .collect();
    expected.sort();
    assert_eq!(listed(&secure, "from-rclone/").await, expected);
    for (name, bytes) in files() {
        assert!(
            get(&secure, &format!("from-rclone/{name}"), None).await == bytes,
            "{name}"
        );
    }
    let dump = text(3 << 20, 1);
    let range = Some(ByteRange::Span(Span {
        offset: (1 << 20) - 100,
        length: 300_000,
    }));
    assert!(
        get(&secure, "from-rclone/db/dump 2026-12-02.sql", range).await
            == dump[(1 << 20) - 100..(1 << 20) - 100 + 300_000]
    );

    // Wharf writes, rclone reads, and cryptcheck passes.
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
    // Under crypt, compress sees ciphertext: everything is stored as it
    // is, by rclone and by Wharf alike.
    let stored = listed(&base, "backups/").await;
    assert_eq!(stored.len(), 4 * files().len());
    for (name, _) in stored {
        assert!(name.ends_with(".bin") || name.ends_with(".json"), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compress_over_s3_interoperates_with_rclone() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(&dir.path().join("s3"));
    let rclone = Rclone::with_config(&format!(
        "{}[rzip]\ntype = compress\nremote = rs3:{}/zipped\nmode = gzip\nlevel = 6\n",
        server.rclone_section("rs3"),
        server.bucket
    ));
    let runtime = Runtime::new().unwrap();
    let s3 = runtime.load_bundled("s3").await.unwrap();
    let base = Arc::new(Remote::new("s3", s3, server.options(), Limits::default()).unwrap());
    let zip = overlay(&runtime, "compress", base, "zipped", &[("level", "6")]).await;
    let src = dir.path().join("src");
    common::write_files(&src, &files());
    for (name, bytes) in files() {
        zip.put(
            &format!("from-wharf/{name}"),
            &bytes[..],
            WriteOptions::default(),
        )
        .await
        .unwrap();
    }
    rclone.run(&["copy", src.to_str().unwrap(), "rzip:from-rclone"]);
    for (name, bytes) in files() {
        assert!(
            get(&zip, &format!("from-rclone/{name}"), None).await == bytes,
            "{name}"
        );
        assert!(
            rclone.run(&["cat", &format!("rzip:from-wharf/{name}")]) == bytes,
            "{name}"
        );
    }
    rclone.run(&["check", src.to_str().unwrap(), "rzip:from-wharf"]);
}
