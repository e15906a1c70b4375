//! The fake Dropbox is judged by the official Dropbox SDK for Python
//! (`dropbox` on PyPI, installed by `tests/servers/dropbox/install.sh`),
//! which validates every answer against the API's schema: uploads small
//! and through a session, ranged downloads, paginated listings, copy,
//! delete, not_found and conflicts, token refresh, a rate limit and a
//! server error. The scenario's own checks are asserted here step by step.

use std::process::Command;

use wharf_test_servers::dropbox::{APP_KEY, APP_SECRET, REFRESH_TOKEN};
use wharf_test_servers::{dropbox_scripts, dropbox_tools, DropboxFake};

#[test]
fn the_official_dropbox_sdk_runs_its_scenario_against_the_fake() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let python = dropbox_tools().join("venv/bin/python");
    assert!(
        python.exists(),
        "the Dropbox SDK is not installed; `bash scripts/test.sh` installs it (tests/servers/dropbox/install.sh)"
    );
    let scratch = dir.path().join("sdk-scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let output = Command::new(python)
        .arg(dropbox_scripts().join("sdk_scenario.py"))
        .arg("--api")
        .arg(format!("127.0.0.1:{}", fake.api_port))
        .arg("--content")
        .arg(format!("127.0.0.1:{}", fake.content_port))
        .arg("--ca")
        .arg(&fake.certs.ca)
        .args(["--app-key", APP_KEY, "--app-secret", APP_SECRET])
        .args(["--refresh-token", REFRESH_TOKEN])
        .arg("--control")
        .arg(format!("http://127.0.0.1:{}", fake.control_port))
        .arg("--scratch")
        .arg(&scratch)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("the scenario printed no JSON report ({e}):\n{stdout}\n{stderr}")
    });
    let steps = report["steps"].as_array().expect("steps");
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s["ok"] != true)
        .map(|s| format!("{}: {}", s["name"], s["detail"]))
        .collect();
    assert!(
        failed.is_empty(),
        "steps failed:\n{}\n{stderr}",
        failed.join("\n")
    );
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    for expected in [
        "upload_small",
        "upload_large_through_session",
        "download_whole_and_ranges",
        "list_folder_paginated",
        "copy_v2",
        "delete_v2",
        "delete_batch",
        "not_found",
        "conflicts",
        "refresh_after_expiry",
        "rate_limit",
    ] {
        assert!(names.contains(&expected), "no step {expected} in {names:?}");
    }
    assert_eq!(report["ok"], true);
    assert!(output.status.success(), "{stderr}");
}
