//! The compile cache: the first load of a plugin leaves a compiled entry,
//! and a later runtime loads that entry instead of compiling again.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wharf::{Limits, Remote, Runtime, WriteOptions};

/// The files in the cache directory but its key.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.file_name().is_none_or(|n| n != "key"));
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

/// A planted entry (here another plugin's compiled code, under the fs
/// plugin's name) is native code: it is refused and fs is compiled again,
/// never run in fs's place.
#[tokio::test]
async fn a_planted_entry_is_compiled_again_not_run() {
    let cache = tempfile::tempdir().unwrap();
    let compiled = cache.path().join("compiled");
    let first = Runtime::builder().cache_dir(cache.path()).build().unwrap();
    first.load_bundled("fs").await.unwrap();
    let fs_entry = entries(&compiled)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let plugin = first.load_bundled("s3").await.unwrap();
    assert_eq!(plugin.info().name, "s3");
    let s3_entry = entries(&compiled)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm") && *p != fs_entry)
        .unwrap();
    drop((first, plugin));
    std::fs::copy(&s3_entry, &fs_entry).unwrap();

    let second = Runtime::builder().cache_dir(cache.path()).build().unwrap();
    let fs = second.load_bundled("fs").await.unwrap();
    assert_eq!(fs.info().name, "fs", "the planted s3 code ran as fs");
    let warnings = second.take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0],
        format!(
            "the compile cache entry {} was not written by Wharf for this user (its tag does not \
             check out); it was not run, and the plugin was compiled again",
            fs_entry.display()
        )
    );
}

/// A cache directory others can write to is refused, naming the fix.
#[test]
fn a_cache_others_can_write_to_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let cache = tempfile::tempdir().unwrap();
    let compiled = cache.path().join("compiled");
    std::fs::create_dir(&compiled).unwrap();
    std::fs::set_permissions(&compiled, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = Runtime::builder()
        .cache_dir(cache.path())
        .build()
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "the compile cache {} can be written by others (mode 777); Wharf runs the compiled \
             plugins it holds, so it must be yours alone: run chmod go-w on it, or set \
             WHARF_CACHE_DIR to a directory of your own",
            compiled.display()
        )
    );
}
