//! The Python package's own tests (bindings/python/tests, pytest) on
//! CPython 3.11 and 3.12, against a local folder and s3s-fs (which checks
//! every SigV4 signature) on loopback.

use std::process::Command;

use wharf_python_tests::{run, workspace, Venv};
use wharf_test_servers::{S3sFs, S3_ACCESS_KEY, S3_SECRET_KEY};

#[test]
fn the_package_api_passes_its_tests_on_both_pythons() {
    let cli = workspace().join("target/release/wharf");
    assert!(
        cli.exists(),
        "{} is missing: cargo build --release first",
        cli.display()
    );
    for venv in Venv::ALL {
        let data = tempfile::tempdir().unwrap();
        let server = S3sFs::start(data.path());
        let work = tempfile::tempdir().unwrap();
        run(
            &format!("pytest ({venv:?})"),
            Command::new(venv.python())
                .current_dir(workspace().join("bindings/python"))
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
                .env("WHARF_TEST_S3_ENDPOINT", &server.endpoint)
                .env("WHARF_TEST_S3_BUCKET", &server.bucket)
                .env("WHARF_TEST_S3_ACCESS_KEY", S3_ACCESS_KEY)
                .env("WHARF_TEST_S3_SECRET_KEY", S3_SECRET_KEY)
                .env("WHARF_TEST_CLI", &cli)
                .env("WHARF_CONFIG", work.path().join("none.toml"))
                .env("TMPDIR", work.path()),
        );
    }
}
