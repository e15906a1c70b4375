//! Builds the first-party plugins for `wasm32-wasip2` so the host can embed
//! them: a user who builds `wharf` gets them without copying files around.

use std::env;
use std::path::PathBuf;

/// Each bundled plugin: its package name and the constant that holds it.
const PLUGINS: &[(&str, &str)] = &[
    ("wharf-plugin-fs", "FS"),
    ("wharf-plugin-s3", "S3"),
    ("wharf-plugin-ftp", "FTP"),
    ("wharf-plugin-dropbox", "DROPBOX"),
    ("wharf-plugin-crypt", "CRYPT"),
    ("wharf-plugin-compress", "COMPRESS"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.ancestors().nth(2).unwrap();
    let packages: Vec<&str> = PLUGINS.iter().map(|(package, _)| *package).collect();
    let out = wharf_wasm_build::build_components(workspace, &packages);
    let mut generated = String::new();
    for (package, constant) in PLUGINS {
        let path = out.join(package.replace('-', "_") + ".wasm");
        generated.push_str(&format!(
            "/// The `{package}` component.\npub const {constant}: &[u8] = include_bytes!({:?});\n",
            path.display().to_string()
        ));
    }
    let file = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("plugins.rs");
    std::fs::write(file, generated).unwrap();
}
