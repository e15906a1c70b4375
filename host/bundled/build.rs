//! Builds the first-party plugins for `wasm32-wasip2` so the host can embed
//! them: a user who builds `wharf` gets them without copying files around.
//!
//! The plugins are built by a nested `cargo build` into their own target
//! directory (a sibling of the host's), because cargo holds a lock on the
//! host's while this script runs.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Each bundled plugin: its package name and the constant that holds it.
const PLUGINS: &[(&str, &str)] = &[("wharf-plugin-fs", "FS")];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    for dir in ["plugins", "wit", "crates"] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let target_dir = plugin_target_dir(&workspace);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (package, _) in PLUGINS {
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
    let status = command
        .status()
        .expect("failed to run cargo to build the plugins");
    if !status.success() {
        panic!(
            "building the plugins for wasm32-wasip2 failed (see above). If the target is \
             missing, run: rustup target add wasm32-wasip2"
        );
    }

    let mut generated = String::new();
    for (package, constant) in PLUGINS {
        let file = package.replace('-', "_") + ".wasm";
        let path = target_dir.join("wasm32-wasip2/release").join(file);
        assert!(
            path.exists(),
            "the plugin build did not produce {}",
            path.display()
        );
        generated.push_str(&format!(
            "/// The `{package}` component.\npub const {constant}: &[u8] = include_bytes!({:?});\n",
            path.display().to_string()
        ));
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("plugins.rs");
    std::fs::write(out, generated).unwrap();
}

/// The host's target directory with `wasm-plugins` appended; CI may move the
/// host's with `CARGO_TARGET_DIR`, and the plugins follow it.
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
