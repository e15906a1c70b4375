//! The runtime's Rust API on the fs plugin: streaming, atomic writes, key
//! checks on both sides of the boundary.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, ReadBuf};
use wharf::{ErrorKind, Limits, Remote, Runtime, WriteOptions};

async fn media(root: &Path) -> Remote {
    let runtime = Runtime::builder()
        .cache_dir(Path::new(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache"))
        .build()
        .unwrap();
    let fs = runtime.load_bundled("fs").await.unwrap();
    Remote::new(
        "media",
        fs,
        vec![("root".into(), root.display().to_string())],
        Limits::default(),
    )
    .unwrap()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The first page of a listing of the whole remote.
async fn first_page(remote: &Remote, delimiter: Option<&str>) -> Vec<wharf::Entry> {
    remote
        .list("", delimiter)
        .await
        .unwrap()
        .next_page()
        .await
        .unwrap()
}

#[tokio::test]
async fn put_and_get_stream_through_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let remote = media(&dir.path().join("m")).await;
    let data: Vec<u8> = (0..3_500_000u32).map(|i| (i % 251) as u8).collect();
    let meta = remote
        .put("a/b.bin", &data[..], WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(meta.size, data.len() as u64);
    let mut back = Vec::new();
    let n = remote.get("a/b.bin", None, &mut back).await.unwrap();
    assert_eq!(n, data.len() as u64);
    assert!(back == data);
}

#[tokio::test]
async fn reads_of_a_remote_whose_directory_is_missing_find_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("not-yet");
    let remote = media(&root).await;
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("does not exist yet"), "{err}");
    assert!(first_page(&remote, None).await.is_empty());
    remote.delete("x").await.unwrap();
    assert!(!root.exists(), "reads must not create the directory");
    remote
        .put("x", &b"1"[..], WriteOptions::default())
        .await
        .unwrap();
    assert!(root.join("x").is_file());
}

#[tokio::test]
async fn an_aborted_write_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    let remote = media(&root).await;
    let mut writer = remote
        .open_write("k", WriteOptions::default())
        .await
        .unwrap();
    writer.write(b"partial").await.unwrap();
    assert_eq!(
        files(&root),
        Vec::<String>::new(),
        "the write is staged in a file with no name"
    );
    // Staged, but never a key.
    assert!(first_page(&remote, None).await.is_empty());
    assert_eq!(
        *remote.stat("k").await.unwrap_err().kind(),
        ErrorKind::NotFound,
        "invisible before finish"
    );
    writer.abort().await.unwrap();
    assert_eq!(
        *remote.stat("k").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(files(&root), Vec::<String>::new());
}

#[tokio::test]
async fn a_dropped_writer_leaves_nothing_and_keeps_the_old_object() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    let remote = media(&root).await;
    remote
        .put("k", &b"old"[..], WriteOptions::default())
        .await
        .unwrap();
    let mut writer = remote
        .open_write("k", WriteOptions::default())
        .await
        .unwrap();
    writer.write(b"new and unfinished").await.unwrap();
    drop(writer);
    // The next call releases the dropped writer in the plugin, which aborts it.
    let mut back = Vec::new();
    remote.get("k", None, &mut back).await.unwrap();
    assert_eq!(back, b"old");
    assert_eq!(files(&root), vec!["k".to_owned()]);
}

/// A source that fails after some bytes, like a disk error mid-upload.
struct FailingSource {
    left: usize,
}

impl AsyncRead for FailingSource {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(std::io::Error::other("disk on fire")));
        }
        let n = self.left.min(buf.remaining()).min(300_000);
        buf.put_slice(&vec![1; n]);
        self.left -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_put_whose_source_fails_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    let remote = media(&root).await;
    let err = remote
        .put(
            "big",
            FailingSource { left: 5_000_000 },
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Io);
    assert!(
        err.to_string().contains("media:big") && err.to_string().contains("disk on fire"),
        "{err}"
    );
    assert_eq!(
        *remote.stat("big").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(files(&root), Vec::<String>::new());
}

#[tokio::test]
async fn invalid_keys_are_refused_by_the_host_and_by_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    let mut remote = media(&root).await;
    remote
        .put("ok", &b"1"[..], WriteOptions::default())
        .await
        .unwrap();
    let bad = [
        "",
        "/abs",
        "a/",
        "a//b",
        "..",
        "a/../b",
        "./a",
        "nul\0key",
        &"k".repeat(1025),
        // The fs plugin's own: the names of writes in progress.
        ".wharf-tmp/x",
        ".wharf-tmp-0123456789abcdef.part",
        "a/.wharf-tmp-x",
    ];
    for checks in [true, false] {
        remote.set_host_key_checks(checks);
        for key in bad {
            let err = remote.stat(key).await.unwrap_err();
            assert_eq!(
                *err.kind(),
                ErrorKind::InvalidKey,
                "{key:?} with host checks {checks}: {err}"
            );
            let err = remote
                .open_write(key, WriteOptions::default())
                .await
                .err()
                .unwrap();
            assert_eq!(*err.kind(), ErrorKind::InvalidKey, "{key:?}");
        }
        // The NUL key is refused for what it holds, on either side.
        let nul = "nul\0key";
        let err = remote.stat(nul).await.unwrap_err();
        assert!(
            err.to_string().contains("cannot hold a NUL character"),
            "host checks {checks}: {err}"
        );
        let err = remote
            .open_write(nul, WriteOptions::default())
            .await
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("cannot hold a NUL character"),
            "host checks {checks}: {err}"
        );
    }
    assert_eq!(files(&root), vec!["ok".to_owned()]);
}

#[tokio::test]
async fn listing_is_in_byte_order_and_paged() {
    let dir = tempfile::tempdir().unwrap();
    let remote = media(&dir.path().join("m")).await;
    let mut keys: Vec<String> = (0..2100).map(|i| format!("d{}/k{i:05}", i % 3)).collect();
    keys.extend(["d0-x".to_owned(), "d0.y".to_owned(), "d0/".to_owned() + "~"]);
    for key in &keys {
        remote
            .put(key, &b""[..], WriteOptions::default())
            .await
            .unwrap();
    }
    keys.sort();
    let mut lister = remote.list("", None).await.unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        pages += 1;
        for entry in page {
            match entry {
                wharf::Entry::Object(meta) => seen.push(meta.key),
                other => panic!("no prefixes without a delimiter: {other:?}"),
            }
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(seen, keys);
}

/// Sets the modification time of `path` two hours back: a write that
/// stopped long ago.
fn age(path: &Path) {
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
}

#[tokio::test]
async fn a_listing_removes_staging_files_of_stopped_writes_and_shows_none() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/k"), b"object").unwrap();
    let stale = root.join("a/b/.wharf-tmp-0123456789abcdef.part");
    std::fs::write(&stale, b"left by a killed write").unwrap();
    age(&stale);
    let live = root.join("a/.wharf-tmp-fedcba9876543210.part");
    std::fs::write(&live, b"a write in progress elsewhere").unwrap();
    let remote = media(&root).await;
    let page = first_page(&remote, None).await;
    let keys: Vec<String> = page
        .into_iter()
        .map(|entry| match entry {
            wharf::Entry::Object(meta) => meta.key,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(keys, vec!["a/b/k".to_owned()]);
    assert!(!stale.exists(), "the stale staging file is removed");
    assert!(live.exists(), "a recent staging file is kept");
    // A directory that holds only a write in progress is no prefix.
    std::fs::create_dir(root.join("c")).unwrap();
    std::fs::write(root.join("c/.wharf-tmp-00000000000000aa.part"), b"x").unwrap();
    let page = first_page(&remote, Some("/")).await;
    assert!(
        matches!(page.as_slice(), [wharf::Entry::CommonPrefix(p)] if p == "a/"),
        "{page:?}"
    );
}

#[tokio::test]
async fn the_first_write_removes_staging_files_left_by_stopped_writes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("m");
    let staging = root.join(".wharf-tmp");
    std::fs::create_dir_all(&staging).unwrap();
    let stale = staging.join("0123456789abcdef.part");
    std::fs::write(&stale, b"left by a killed write").unwrap();
    age(&stale);
    let live = staging.join("fedcba9876543210.part");
    std::fs::write(&live, b"a write in progress elsewhere").unwrap();

    let remote = media(&root).await;
    remote.stat("nothing").await.unwrap_err();
    assert!(stale.exists(), "reads leave the staging directory alone");
    remote
        .put("k", &b"new"[..], WriteOptions::default())
        .await
        .unwrap();
    assert!(!stale.exists(), "the stale staging file is removed");
    assert!(live.exists(), "a recent staging file is kept");
    assert_eq!(
        files(&staging),
        vec!["fedcba9876543210.part".to_owned()],
        "the old staging directory stays while a write of an earlier version may use it"
    );
    assert_eq!(std::fs::read(root.join("k")).unwrap(), b"new");
}
