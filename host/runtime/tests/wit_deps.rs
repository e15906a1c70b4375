//! `wit/deps` holds the WASI interfaces exactly as this host serves them,
//! for plugin authors to build against: the files of the wasmtime crates
//! the host links (wasmtime-wasi-http's WASI 0.2 set, wasmtime-wasi-tls's
//! draft), byte for byte. When wasmtime is upgraded, this fails until the
//! files are copied again (see wit/deps/README.md).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo keeps the source of the package `name` this workspace uses.
fn package_dir(workspace: &Path, name: &str) -> PathBuf {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(workspace.join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not a dependency of the workspace"))["manifest_path"]
        .as_str()
        .unwrap()
        .to_owned();
    PathBuf::from(manifest).parent().unwrap().to_path_buf()
}

#[test]
fn wit_deps_are_the_wasi_files_of_the_wasmtime_the_host_links() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let deps = workspace.join("wit/deps");
    let sources = [
        ("wasmtime-wasi-http", "wit/deps", ""),
        ("wasmtime-wasi-tls", "wit/deps/tls", "tls"),
    ];
    let mut compared = 0;
    for (crate_name, from, into) in sources {
        let source = package_dir(&workspace, crate_name).join(from);
        for entry in std::fs::read_dir(&source).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "wit") {
                continue;
            }
            let name = path.file_name().unwrap();
            let ours = deps.join(into).join(name);
            let served = std::fs::read(&path).unwrap();
            let shipped = std::fs::read(&ours).unwrap_or_else(|e| {
                panic!(
                    "{} is missing ({e}); copy it from {}",
                    ours.display(),
                    path.display()
                )
            });
            assert!(
                served == shipped,
                "{} differs from {}, which the host serves; copy it again",
                ours.display(),
                path.display()
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 9, "the WASI files compared");
}
