//! What an outside author does first: `wharf plugins new`, `cargo build`
//! in the new crate (outside this repository, with only the files the
//! command wrote), and `wharf conformance` on the result.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Scratch;
use predicates::prelude::*;

/// A target directory for the new crate that survives between runs (CI may
/// cache the target directory), outside the crate so the scratch folder
/// stays small, and not this workspace's own, which cargo keeps locked.
fn template_target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plugin-template-target")
}

/// Builds the crate in `crate_dir` as its author would (`cargo build
/// --release` there) and returns its component, `STEM.wasm`.
fn build_as_an_author(crate_dir: &std::path::Path, stem: &str) -> PathBuf {
    let target = template_target_dir();
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(crate_dir)
        .args(["build", "--release"])
        .env("CARGO_TARGET_DIR", &target);
    // Nothing of this workspace's build may leak in: the author's shell
    // has none of it.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
        "CARGO_PKG_NAME",
    ] {
        build.env_remove(var);
    }
    let built = build.output().unwrap();
    assert!(
        built.status.success(),
        "the new crate does not build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = target.join(format!("wasm32-wasip2/release/{stem}.wasm"));
    assert!(wasm.is_file(), "no component at {}", wasm.display());
    wasm
}

#[test]
fn a_new_plugin_builds_and_passes_the_conformance_suite() {
    let s = Scratch::new();
    s.wharf()
        .args(["plugins", "new", "my-store"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "wharf conformance target/wasm32-wasip2/release/my_store.wasm",
        ));
    let crate_dir = s.path().join("my-store");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "README.md",
        ".cargo/config.toml",
        "wharf/plugins/sdk/contract/storage.wit",
        "wharf/plugins/sdk/src/lib.rs",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file} was not written");
    }

    let wasm = build_as_an_author(&crate_dir, "my_store");

    s.wharf()
        .args(["plugins", "inspect"])
        .arg(&wasm)
        .assert()
        .success()
        .stdout(predicate::str::contains("my-store"))
        .stdout(predicate::str::contains("wharf:storage@0.3.0"))
        .stdout(predicate::str::contains("capacity_mib"));
    s.assert_conforms(&wasm);
}

#[test]
fn plugins_new_refuses_a_bad_name_and_an_existing_folder() {
    let s = Scratch::new();
    s.wharf()
        .args(["plugins", "new", "My_Store"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "\"My_Store\" cannot name a plugin: use lower-case letters, digits and '-'",
        ));
    std::fs::create_dir(s.path().join("taken")).unwrap();
    s.wharf()
        .args(["plugins", "new", "taken"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "taken already exists; choose another name, or another place with --path",
        ));
    // Nothing half-made is left next to it.
    let leftovers: Vec<_> = std::fs::read_dir(s.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".wharf-new-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// `wharf plugins new --overlay`: an overlay that builds on its own and
/// passes the conformance suite, which puts it on a scratch directory.
#[test]
fn a_new_overlay_builds_and_passes_the_conformance_suite() {
    let s = Scratch::new();
    s.wharf()
        .args(["plugins", "new", "my-layer", "--overlay"])
        .assert()
        .success();
    let crate_dir = s.path().join("my-layer");
    let lib = std::fs::read_to_string(crate_dir.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("wharf_plugin::below"),
        "not an overlay:\n{lib}"
    );
    let wasm = build_as_an_author(&crate_dir, "my_layer");
    s.wharf()
        .args(["plugins", "inspect"])
        .arg(&wasm)
        .assert()
        .success()
        .stdout(predicate::str::contains("the remote below it"));
    s.wharf()
        .arg("conformance")
        .arg(&wasm)
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "the overlay is tested on a scratch directory",
        ))
        .stdout(predicate::str::contains("0 failed"));
}
