//! Bad input gets a clear error and loses nothing: a missing metadata
//! object, damaged or truncated gzip data, a metadata object that cannot
//! be written (the write leaves nothing), options rclone's compress does
//! not take.

mod common;

use common::{files_under, fs_remote, get, listed, overlay, text};
use wharf::{ByteRange, Runtime, Span, WriteOptions};

async fn zip_on(dir: &std::path::Path) -> (Runtime, wharf::Remote) {
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, dir).await;
    let zip = overlay(&runtime, "compress", base, "zipped", &[]).await;
    (runtime, zip)
}

/// The name below of `key`'s data object.
fn data_object(zipped: &std::path::Path, key: &str) -> std::path::PathBuf {
    let name = files_under(zipped)
        .into_iter()
        .find(|n| n.starts_with(key) && !n.ends_with(".json"))
        .unwrap();
    zipped.join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_metadata_object_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (_runtime, zip) = zip_on(dir.path()).await;
    zip.put("a.txt", &text(10_000, 1)[..], WriteOptions::default())
        .await
        .unwrap();
    std::fs::remove_file(dir.path().join("zipped/a.txt.json")).unwrap();
    for err in [
        zip.stat("a.txt").await.map(drop).unwrap_err(),
        zip.get("a.txt", None, Vec::new())
            .await
            .map(drop)
            .unwrap_err(),
    ] {
        let text = err.to_string();
        assert!(
            text.contains("its data object \"a.txt.")
                && text.contains("is there but its metadata object \"a.txt.json\" is missing"),
            "{text}"
        );
    }
    // Nothing at all is still plainly not found.
    let err = zip.stat("nothing").await.unwrap_err();
    assert_eq!(*err.kind(), wharf::ErrorKind::NotFound, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_and_truncated_data_are_errors_not_content() {
    let dir = tempfile::tempdir().unwrap();
    let zipped = dir.path().join("zipped");
    let (_runtime, zip) = zip_on(dir.path()).await;
    let content = text(5 << 19, 2);
    zip.put("big.txt", &content[..], WriteOptions::default())
        .await
        .unwrap();
    zip.put("short.txt", &content[..], WriteOptions::default())
        .await
        .unwrap();

    // A byte changed in the middle of the stored data: the checksum (or
    // the deflate stream) says so; the object below is left as it is.
    let big = data_object(&zipped, "big.txt");
    let mut stored = std::fs::read(&big).unwrap();
    let middle = stored.len() / 2;
    stored[middle] ^= 0x55;
    std::fs::write(&big, &stored).unwrap();
    let err = zip.get("big.txt", None, Vec::new()).await.unwrap_err();
    let said = err.to_string();
    assert!(
        said.contains("\"big.txt\" cannot be read through compress: its")
            && (said.contains("does not match the gzip checksum") || said.contains("damaged")),
        "{said}"
    );
    assert_eq!(std::fs::read(&big).unwrap(), stored);

    // Cut short: a read of the whole, and a range in the part that is
    // gone, say it is truncated.
    let short = data_object(&zipped, "short.txt");
    let stored = std::fs::read(&short).unwrap();
    std::fs::write(&short, &stored[..stored.len() * 2 / 3]).unwrap();
    let err = zip.get("short.txt", None, Vec::new()).await.unwrap_err();
    assert!(
        err.to_string().contains("truncated") || err.to_string().contains("ends"),
        "{err}"
    );
    let range = ByteRange::Span(Span {
        offset: 2_500_000,
        length: 100,
    });
    let err = zip
        .get("short.txt", Some(range), Vec::new())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot be read through compress"),
        "{err}"
    );
    // The start is still there, and reads.
    let range = ByteRange::Span(Span {
        offset: 0,
        length: 1000,
    });
    assert!(get(&zip, "short.txt", Some(range)).await == content[..1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_object_that_cannot_be_written_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let zipped = dir.path().join("zipped");
    let (_runtime, zip) = zip_on(dir.path()).await;
    // The store below fails the second of the two writes: where the
    // metadata object must go, a directory stands.
    std::fs::create_dir_all(zipped.join("doc.txt.json/in the way")).unwrap();
    std::fs::write(zipped.join("doc.txt.json/in the way/x"), b"x").unwrap();
    for hint in [None, Some(500_000)] {
        let options = WriteOptions {
            size_hint: hint,
            ..WriteOptions::default()
        };
        let err = zip
            .put("doc.txt", &text(500_000, 3)[..], options)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "\"doc.txt\": the metadata object \"doc.txt.json\" could not be written; its data \
                 object was deleted again, so nothing was written"
            ),
            "{err}"
        );
        // Nothing visible, and nothing left below but what was there.
        assert!(listed(&zip, "doc").await.is_empty());
        assert_eq!(files_under(&zipped), ["doc.txt.json/in the way/x"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_rclone_would_refuse_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new().unwrap();
    for (options, says) in [
        (
            vec![("level", "12")],
            "option 'level': 12 is not a gzip level",
        ),
        (
            vec![("mode", "lz4")],
            "option 'mode': 'lz4' is not a compression mode",
        ),
        (
            vec![("mode", "zstd"), ("level", "5")],
            "option 'level': 5 is not a zstd level",
        ),
    ] {
        let base = fs_remote(&runtime, dir.path()).await;
        let zip = overlay(&runtime, "compress", base, "zipped", &options).await;
        let err = zip.list("", None).await.map(drop).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}
