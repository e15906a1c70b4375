//! Gathers the files `wharf plugins new` writes into a new plugin crate: the
//! guest SDK, the key rules, its MD5 and the contract, copied as they are in this
//! repository (so a new plugin builds with nothing but crates.io), and the
//! workspace's Cargo.lock (so it builds with the versions Wharf is tested
//! with).

use std::env;
use std::path::{Path, PathBuf};

/// Folders copied, relative to the workspace.
/// The SDK carries the contract through its `contract` link to `wit/`.
const SOURCES: &[&str] = &["crates/key", "crates/md5", "plugins/sdk"];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.ancestors().nth(2).unwrap().to_path_buf();
    let mut files = Vec::new();
    // `wit` is watched on its own: a change seen through a link may not be.
    for dir in SOURCES.iter().chain(&["wit"]) {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }
    for dir in SOURCES {
        collect(&workspace, &workspace.join(dir), &mut files);
    }
    files.sort();
    let mut generated = String::from(
        "/// The SDK's files for a new plugin: (path in the new crate, contents).\n\
         pub const SDK_FILES: &[(&str, &str)] = &[\n",
    );
    for relative in &files {
        generated.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("wharf/{relative}"),
            workspace.join(relative).display().to_string()
        ));
    }
    generated.push_str("];\n");
    let lock = workspace.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    generated.push_str(&format!(
        "/// The workspace's Cargo.lock.\npub const CARGO_LOCK: &str = include_str!({:?});\n",
        lock.display().to_string()
    ));
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("template_files.rs");
    std::fs::write(out, generated).unwrap();
}

/// Adds the sources under `dir` (Rust, WIT, manifests), following links; not
/// build output, and not released contracts (a new plugin is built for the
/// current one).
fn collect(workspace: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && name != "released" {
                collect(workspace, &path, files);
            }
        } else if name == "Cargo.toml" || name.ends_with(".rs") || name.ends_with(".wit") {
            let relative = path.strip_prefix(workspace).unwrap();
            files.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}
