//! What the compress tests share: remotes over a local directory, and
//! rclone's compress on the same directory.

#![allow(dead_code, unused_imports)]

use std::path::Path;
use std::sync::Arc;

use wharf::overlay::Below;
use wharf::{Entry, Limits, Remote, Runtime};
pub use wharf_test_servers::rclone::data;
pub use wharf_test_servers::Rclone;

/// An fs remote on `dir`.
pub async fn fs_remote(runtime: &Runtime, dir: &Path) -> Arc<Remote> {
    let fs = runtime.load_bundled("fs").await.unwrap();
    Arc::new(
        Remote::new(
            "base",
            fs,
            vec![("root".into(), dir.display().to_string())],
            Limits::default(),
        )
        .unwrap(),
    )
}

/// A remote of the bundled overlay `plugin` with `options` on `below`,
/// under `prefix`.
pub async fn overlay(
    runtime: &Runtime,
    plugin: &str,
    below: Arc<Remote>,
    prefix: &str,
    options: &[(&str, &str)],
) -> Remote {
    let component = runtime.load_bundled(plugin).await.unwrap();
    Remote::new(
        plugin,
        component,
        options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Limits::default(),
    )
    .unwrap()
    .with_below(Below {
        remote: below,
        prefix: prefix.to_owned(),
    })
}

/// rclone with one compress remote, `rzip:`, on directory `dir`, at
/// rclone's default gzip level.
pub fn rclone_compress_on(dir: &Path) -> Rclone {
    Rclone::with_config(&Rclone::section(
        "rzip",
        "compress",
        dir,
        &[("mode", "gzip"), ("level", "-1")],
    ))
}

/// `n` bytes of text that compresses (lines of words, numbered).
pub fn text(n: usize, seed: u32) -> Vec<u8> {
    let words = [
        "wharf", "stores", "media", "backups", "on", "every", "backend", "quietly",
    ];
    let mut out = Vec::with_capacity(n + 64);
    let mut line = seed as usize;
    while out.len() < n {
        line += 1;
        out.extend_from_slice(format!("{line:08} ").as_bytes());
        for i in 0..(line % 7 + 3) {
            out.extend_from_slice(words[(line * 3 + i) % words.len()].as_bytes());
            out.push(b' ');
        }
        out.push(b'\n');
    }
    out.truncate(n);
    out
}

/// Everything `remote` reads for `key` (or `range` of it).
pub async fn get(remote: &Remote, key: &str, range: Option<wharf::ByteRange>) -> Vec<u8> {
    let mut out = Vec::new();
    remote.get(key, range, &mut out).await.unwrap();
    out
}

/// Every object `remote` lists, with its size.
pub async fn listed(remote: &Remote, prefix: &str) -> Vec<(String, u64)> {
    let mut lister = remote.list(prefix, None).await.unwrap();
    let mut out = Vec::new();
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        for entry in page {
            if let Entry::Object(meta) = entry {
                out.push((meta.key, meta.size));
            }
        }
    }
    out
}

/// Writes each of `files` (name, bytes) under `dir`.
pub fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) {
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

/// The names of the files under `dir`, relative to it, sorted.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        // The store below removes a folder its last object leaves.
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().to_string_lossy();
                out.push(name.into_owned());
            }
        }
    }
    out.sort();
    out
}
