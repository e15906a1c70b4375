//! What the Python and Django tests share: the two test virtual
//! environments (made by `bindings/python/install-test-env.sh`), the
//! options each backend's server takes under django-storages' names, and
//! running a Python command with its output shown.

use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_test_servers::{S3_ACCESS_KEY, S3_SECRET_KEY};

/// The workspace's root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A test virtual environment: CPython 3.11 with Django 5.2 LTS, or CPython
/// 3.12 with Django 6 and django-storages.
#[derive(Debug, Clone, Copy)]
pub enum Venv {
    Django52,
    Django6,
}

impl Venv {
    pub const ALL: [Venv; 2] = [Venv::Django52, Venv::Django6];

    /// Its Python; panics, saying how to make it, if it is missing.
    pub fn python(self) -> PathBuf {
        let dir = match self {
            Venv::Django52 => "venv-3.11",
            Venv::Django6 => "venv-3.12",
        };
        let python = workspace()
            .join("target/python")
            .join(dir)
            .join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash bindings/python/install-test-env.sh` (the README's test \
             command does) to build the wheel and make the test environments",
            python.display()
        );
        python
    }
}

/// The S3 options of a test server as a django-storages site writes them.
pub fn django_s3_options(endpoint: &str, bucket: &str) -> serde_json::Value {
    serde_json::json!({
        "access_key": S3_ACCESS_KEY,
        "secret_key": S3_SECRET_KEY,
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
    })
}

/// Runs `command`, printing what it wrote; panics unless it succeeds.
pub fn run(what: &str, command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("== {what}\n{stdout}\n{stderr}");
    assert!(output.status.success(), "{what} failed ({})", output.status);
}
