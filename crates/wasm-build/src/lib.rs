//! Builds plugin crates of this workspace for `wasm32-wasip2` from a build
//! script, so that `cargo build` and `cargo test` have the components
//! without a separate step.
//!
//! The build is a nested `cargo build` into its own target directory
//! (`<host target>/wasm-plugins`), because cargo holds a lock on the host's
//! target directory while build scripts run.
#![deny(missing_docs)]

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` (workspace package names) in release mode for
/// `wasm32-wasip2` and returns the directory that holds the `.wasm` files
/// (named after the packages, `-` as `_`). Panics with a message that says
/// what to do if the build fails. `workspace` is the workspace root.
pub fn build_components(workspace: &Path, packages: &[&str]) -> PathBuf {
    for dir in ["plugins", "wit", "crates", "tests/fixtures"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    let target_dir = plugin_target_dir(workspace);
    let out = target_dir.join("wasm32-wasip2").join("release");
    // WebAssembly SIMD (which wasmtime runs natively) lets the compiler
    // vectorise checksums and hashes in the plugins.
    cargo_build(
        workspace,
        &target_dir,
        packages,
        "-Ctarget-feature=+simd128",
    );
    for package in packages {
        let file = out.join(package.replace('-', "_") + ".wasm");
        assert!(
            file.exists(),
            "the build did not produce {}",
            file.display()
        );
    }
    out
}

/// One nested `cargo build` of `packages` into `target_dir` with `flags`.
fn cargo_build(workspace: &Path, target_dir: &Path, packages: &[&str], flags: &str) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // The host build's settings must not leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(var);
    }
    command.env("CARGO_ENCODED_RUSTFLAGS", flags);
    let status = command
        .status()
        .expect("failed to run cargo to build the wasm32-wasip2 components");
    assert!(
        status.success(),
        "building {packages:?} for wasm32-wasip2 failed (see above). If the target is missing, \
         run: rustup target add wasm32-wasip2"
    );
}

/// The host's target directory with `wasm-plugins` appended; CI may move the
/// host's with `CARGO_TARGET_DIR`, and the components follow it.
fn plugin_target_dir(workspace: &Path) -> PathBuf {
    let host = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_relative() {
                workspace.join(dir)
            } else {
                dir
            }
        })
        .unwrap_or_else(|| workspace.join("target"));
    host.join("wasm-plugins")
}
