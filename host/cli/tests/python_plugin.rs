//! A plugin written in Python (`examples/python-memory`, built here with
//! componentize-py) passes the conformance suite through `wharf
//! conformance`, as an outside author would run it.

mod common;

use std::process::Command;

use common::Scratch;

#[test]
fn the_python_example_plugin_passes_the_conformance_suite() {
    let s = Scratch::new();
    // The checkout being tested (cargo sets this when it runs a test; the
    // compiled-in path could be another checkout's with a shared cache).
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let example = manifest_dir.join("../../examples/python-memory");
    let wasm = s.path().join("memory_py.wasm");
    let built = Command::new("bash")
        .arg(example.join("build.sh"))
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "building the Python plugin failed (is componentize-py installed? `bash scripts/test.sh` \
         installs it with examples/python-memory/install.sh): {}",
        String::from_utf8_lossy(&built.stderr)
    );
    s.assert_conforms(&wasm);
}
