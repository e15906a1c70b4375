//! Builds the first-party plugins for `wasm32-wasip2` so the host can embed
//! them: a user who builds `wharf` gets them without copying files around.

use std::env;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Each bundled plugin: its package name, the constant that holds it, and
/// the name a configuration uses in `plugin = "…"`.
const PLUGINS: &[(&str, &str, &str)] = &[
    ("wharf-plugin-fs", "FS", "fs"),
    ("wharf-plugin-s3", "S3", "s3"),
    ("wharf-plugin-ftp", "FTP", "ftp"),
    ("wharf-plugin-dropbox", "DROPBOX", "dropbox"),
    ("wharf-plugin-crypt", "CRYPT", "crypt"),
    ("wharf-plugin-compress", "COMPRESS", "compress"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.ancestors().nth(2).unwrap();
    let packages: Vec<&str> = PLUGINS.iter().map(|(package, ..)| *package).collect();
    let out = wharf_wasm_build::build_components(workspace, &packages);
    let mut generated = String::new();
    let mut all = String::new();
    let mut sha256 = String::new();
    for (package, constant, name) in PLUGINS {
        let path = out.join(package.replace('-', "_") + ".wasm");
        generated.push_str(&format!(
            "/// The `{package}` component.\npub const {constant}: &[u8] = include_bytes!({:?});\n",
            path.display().to_string()
        ));
        let bytes = std::fs::read(&path).unwrap();
        all.push_str(&format!("    ({name:?}, {constant}),\n"));
        sha256.push_str(&format!(
            "    ({name:?}, \"{:x}\"),\n",
            Sha256::digest(&bytes)
        ));
    }
    generated.push_str(&format!(
        "/// Every bundled plugin as (name, component bytes); the name is the one a\n\
         /// configuration uses in `plugin = \"…\"`.\n\
         pub const ALL: &[(&str, &[u8])] = &[\n{all}];\n\
         /// The sha256 of each bundled plugin's bytes (hex), by name, taken when\n\
         /// it was built: finding its compiled form in the compile cache then\n\
         /// reads none of its bytes (hashing them at each start read every page\n\
         /// of them into memory, and took milliseconds).\n\
         pub const SHA256: &[(&str, &str)] = &[\n{sha256}];\n"
    ));
    let file = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("plugins.rs");
    std::fs::write(file, generated).unwrap();
}
