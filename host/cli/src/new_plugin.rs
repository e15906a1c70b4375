//! `wharf plugins new`: a ready-to-build plugin crate, anywhere. It carries
//! a copy of the guest SDK, the key rules and the contract, so it builds
//! with nothing but crates.io, and Wharf's Cargo.lock, so it builds with the
//! versions Wharf is tested with.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::UsageError;

include!(concat!(env!("OUT_DIR"), "/template_files.rs"));

/// The template's own files: (path in the new crate, contents), where
/// `{{name}}` and `{{crate}}` stand for the plugin's name and its `.wasm`
/// file's stem.
const TEMPLATE_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../template/Cargo.toml.in")),
    ("README.md", include_str!("../template/README.md")),
    (
        ".cargo/config.toml",
        include_str!("../template/.cargo/config.toml"),
    ),
    (".gitignore", include_str!("../template/gitignore")),
];

/// The plugin's code: a backend (objects in memory), or with `--overlay`
/// an overlay (objects in the remote below, in a folder).
const BACKEND_LIB: &str = include_str!("../template/src/lib.rs");
const OVERLAY_LIB: &str = include_str!("../template/src/overlay.rs");

/// Writes a new plugin crate named `name` into `path` (default `./name`)
/// and returns where it is. The crate appears whole or not at all.
pub fn new_plugin(name: &str, path: Option<&Path>, overlay: bool) -> Result<PathBuf> {
    check_name(name)?;
    let destination = path
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(name));
    if destination.exists() {
        bail!(UsageError(format!(
            "{} already exists; choose another name, or another place with --path",
            destination.display()
        )));
    }
    let parent = match destination.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    // Written in a sibling staging folder and renamed into place, so a
    // failure halfway leaves no half-made crate behind.
    let staging = tempfile::Builder::new()
        .prefix(".wharf-new-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let crate_stem = name.replace('-', "_");
    let lib = (
        "src/lib.rs",
        if overlay { OVERLAY_LIB } else { BACKEND_LIB },
    );
    let files = TEMPLATE_FILES
        .iter()
        .chain(std::iter::once(&lib))
        .map(|(path, text)| {
            let text = text
                .replace("{{name}}", name)
                .replace("{{crate}}", &crate_stem);
            (*path, text)
        })
        .chain(
            SDK_FILES
                .iter()
                .map(|(path, text)| (*path, text.to_string())),
        )
        .chain(std::iter::once(("Cargo.lock", CARGO_LOCK.to_owned())));
    for (relative, text) in files {
        let file = staging.path().join(relative);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
    }
    std::fs::rename(staging.keep(), &destination).with_context(|| {
        format!(
            "cannot move the new crate into place at {}",
            destination.display()
        )
    })?;
    Ok(destination)
}

/// A plugin's name is its crate's name and the name remotes use: lower-case
/// ASCII letters, digits and `-`, starting with a letter.
fn check_name(name: &str) -> Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(UsageError(format!(
            "{name:?} cannot name a plugin: use lower-case letters, digits and '-', starting \
             with a letter (at most 64), such as my-store"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_crate_and_remote_friendly() {
        for good in ["my-store", "s3x", "a1-b2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", "My", "1st", "my_store", "trailing-", "a b", "ünï"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_sdk_and_the_contract_are_carried() {
        let paths: Vec<&str> = SDK_FILES.iter().map(|(path, _)| *path).collect();
        for expected in [
            "wharf/plugins/sdk/contract/storage.wit",
            "wharf/plugins/sdk/contract/types.wit",
            "wharf/plugins/sdk/wit/sdk.wit",
            "wharf/plugins/sdk/Cargo.toml",
            "wharf/plugins/sdk/src/lib.rs",
            "wharf/crates/key/src/lib.rs",
            "wharf/crates/md5/src/lib.rs",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
        // Released versions stay in the repository; a new plugin is built
        // for the current contract only.
        assert!(!paths.iter().any(|p| p.contains("released")));
    }
}
