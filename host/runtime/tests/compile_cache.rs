//! The compile cache: the first load of a plugin leaves a compiled entry,
//! and a later runtime loads that entry instead of compiling again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wharf::{Limits, Remote, Runtime, WriteOptions};

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[tokio::test]
async fn a_second_runtime_loads_the_compiled_entry_the_first_left() {
    let cache = tempfile::tempdir().unwrap();
    let compiled = cache.path().join("compiled");
    assert!(entries(&compiled).is_empty());

    let first = Runtime::builder().cache_dir(cache.path()).build().unwrap();
    first.load_bundled("fs").await.unwrap();
    let after_first = entries(&compiled);
    assert_eq!(after_first.len(), 1, "{after_first:?}");
    let entry = &after_first[0];
    assert_eq!(
        entry.extension().and_then(|e| e.to_str()),
        Some("cwasm"),
        "no temporary file is left: {after_first:?}"
    );
    let written = std::fs::metadata(entry).unwrap();
    drop(first);

    let second = Runtime::builder().cache_dir(cache.path()).build().unwrap();
    let fs = second.load_bundled("fs").await.unwrap();
    assert_eq!(entries(&compiled), after_first);
    // A recompile would have stored the entry again, through a new file
    // renamed over the old one: the same inode and time mean it was read.
    let read = std::fs::metadata(entry).unwrap();
    assert_eq!(read.ino(), written.ino(), "the entry was not rewritten");
    assert_eq!(read.modified().unwrap(), written.modified().unwrap());

    // The plugin loaded from the entry works.
    assert_eq!(fs.info().name, "fs");
    let root = cache.path().join("objects");
    let remote = Remote::new(
        "cached",
        fs,
        vec![("root".into(), root.display().to_string())],
        Limits::default(),
    )
    .unwrap();
    remote
        .put("k", &b"from the cache"[..], WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(std::fs::read(root.join("k")).unwrap(), b"from the cache");
}
