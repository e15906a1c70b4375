//! The example plugins in other languages (`examples/`, built here with
//! their own toolchains: componentize-py, componentize-js) pass the
//! conformance suite through `wharf conformance`, as an outside author
//! would run it: in Python, one that needs nothing (objects in memory), one
//! that does real network I/O (WebDAV over `wasi:http`, against `rclone
//! serve webdav`), which must also leave nothing behind on the server, and
//! an overlay; in JavaScript, objects in memory.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Scratch;
use wharf::{Limits, Remote, Runtime};
use wharf_test_servers::{everything_under, RcloneWebdav};

/// Builds the example in `examples/{name}` with its build.sh into `out`.
fn build_example(name: &str, out: &Path) {
    // The checkout being tested (cargo sets this when it runs a test; the
    // compiled-in path could be another checkout's with a shared cache).
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let example = manifest_dir.join("../../examples").join(name);
    let built = Command::new("bash")
        .arg(example.join("build.sh"))
        .arg(out)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "building the example plugin {name} failed (is its toolchain installed? `bash \
         scripts/test.sh` installs it with examples/python-memory/install.sh and \
         examples/js-memory/install.sh): {}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
}

#[test]
fn the_python_example_plugin_passes_the_conformance_suite() {
    let s = Scratch::new();
    let wasm = s.path().join("memory_py.wasm");
    build_example("python-memory", &wasm);
    s.assert_conforms(&wasm);
}

#[test]
fn the_javascript_example_plugin_passes_the_conformance_suite() {
    let s = Scratch::new();
    let wasm = s.path().join("memory_js.wasm");
    build_example("js-memory", &wasm);
    s.assert_conforms(&wasm);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_webdav_plugin_conforms_and_leaves_nothing_on_the_server() {
    let s = Scratch::new();
    let wasm = s.path().join("webdav_py.wasm");
    build_example("python-webdav", &wasm);
    let served = s.path().join("served");
    std::fs::create_dir_all(&served).unwrap();
    let server = RcloneWebdav::start(&served);
    let url = format!("{}/backups", server.url);

    // As an author runs it: the whole suite through the CLI.
    let out = s
        .wharf()
        .args(["conformance", "--json"])
        .arg(&wasm)
        .args(["-o", &format!("url={url}")])
        .args(["-o", &format!("user={}", server.user)])
        .args(["-o", &format!("password={}", server.password)])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The whole report is too long for a failure message to show: name
    // the cases that failed, with their details.
    let failed: Vec<_> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["result"] == "failed")
        .collect();
    assert!(
        out.status.success(),
        "the suite failed: {failed:#?}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["succeeded"], true, "{report}");
    assert!(report["passed"].as_u64().unwrap() >= 80, "{report}");

    // The suite aborted and dropped writes of several MiB and removed what
    // it wrote: on the server there is only the plugin's empty folder for
    // uploads in progress.
    assert_eq!(
        everything_under(&served),
        ["backups/", "backups/.wharf-partial/"],
        "what the conformance run left on the server"
    );

    // An abandoned write on its own, through the library: a writer dropped
    // halfway through 3 MiB, which the plugin (Python never sees the host
    // drop it) cleans up only because the host calls abort.
    let runtime = Runtime::builder()
        .cache_dir(common::cache_dir())
        .build()
        .unwrap();
    let plugin = runtime.load_file(&wasm).await.unwrap();
    let remote = Remote::new(
        "dav",
        plugin,
        vec![
            ("url".to_owned(), url.clone()),
            ("user".to_owned(), server.user.clone()),
            ("password".to_owned(), server.password.clone()),
        ],
        Limits::default(),
    )
    .unwrap();
    let mut writer = remote
        .open_write("deep/in/folders/abandoned.bin", Default::default())
        .await
        .unwrap();
    let mib = vec![0x5au8; 1 << 20];
    for _ in 0..3 {
        writer.write(&mib).await.unwrap();
    }
    // The server creates the file as the upload reaches it: wait for it.
    let partial_on_server = || {
        everything_under(&served)
            .iter()
            .any(|p| p.starts_with("backups/.wharf-partial/") && !p.ends_with('/'))
    };
    let waited = std::time::Instant::now();
    while !partial_on_server() && waited.elapsed() < std::time::Duration::from_secs(10) {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        partial_on_server(),
        "the upload in progress is not on the server: {:?}",
        everything_under(&served)
    );
    drop(writer);
    remote.release_abandoned().await;
    assert_eq!(
        everything_under(&served),
        ["backups/", "backups/.wharf-partial/"],
        "what an abandoned write left on the server"
    );

    // A read stopped early is closed (its response let go of), and the
    // remote keeps working after it.
    remote
        .put(
            "kept.bin",
            &mut vec![1u8; 3 << 20].as_slice(),
            Default::default(),
        )
        .await
        .unwrap();
    let mut reader = remote.open_read("kept.bin", None).await.unwrap();
    assert!(!reader.read().await.unwrap().is_empty());
    reader.close().await;
    assert_eq!(remote.stat("kept.bin").await.unwrap().size, 3 << 20);

    // rclone locks a path while a request changes it, and answers 423 to
    // a second request on it meanwhile (two writers making one folder at
    // once): a write whose folder is held for a moment waits, then works.
    remote
        .put("held/first.bin", &mut &b"one"[..], Default::default())
        .await
        .unwrap();
    server.lock("/backups/held/", 2);
    let started = std::time::Instant::now();
    remote
        .put("held/second.bin", &mut &b"two"[..], Default::default())
        .await
        .expect("a write into a folder locked for 2 s waits for the lock");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "it did not meet the lock"
    );
    assert_eq!(remote.stat("held/second.bin").await.unwrap().size, 3);
    drop(server);
}

/// A Python overlay (`examples/python-checksum`, the `overlay` world)
/// passes the suite over a directory, abandoned writes included (which it
/// cleans up only because the host calls abort), and a whole read of an
/// object changed below fails, naming it, instead of returning the bytes.
#[test]
fn the_python_checksum_overlay_conforms_and_catches_a_changed_object() {
    let s = Scratch::new();
    let wasm = s.path().join("checksum_py.wasm");
    build_example("python-checksum", &wasm);
    let below = s.path().join("below");
    let out = s
        .wharf()
        .args(["conformance", "--json"])
        .arg(&wasm)
        .args(["-o", &format!("remote={}", below.display())])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["succeeded"], true, "{report}");
    assert!(report["passed"].as_u64().unwrap() >= 75, "{report}");
    let abandoned = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "abandoned writes leave nothing in the directory")
        .unwrap();
    assert_eq!(abandoned["result"], "passed", "{abandoned}");

    s.write_config(&format!(
        "[remotes.sum]\nplugin = {:?}\nremote = {:?}\n",
        wasm.display().to_string(),
        below.display().to_string()
    ));
    let photo: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(s.path().join("photo.jpg"), &photo).unwrap();
    s.wharf()
        .args(["put", "photo.jpg", "sum:2026/photo.jpg"])
        .assert()
        .success();
    let stored = std::fs::read(below.join("2026/photo.jpg")).unwrap();
    assert_eq!(stored.len(), photo.len() + 40);
    assert_eq!(&stored[..photo.len()], &photo[..]);
    assert!(stored.ends_with(b"wharfsum"));
    let read = s
        .wharf()
        .args(["cat", "sum:2026/photo.jpg"])
        .assert()
        .success();
    assert_eq!(read.get_output().stdout, photo);

    // One byte changed below: the read fails and says why.
    let mut damaged = stored.clone();
    damaged[1234] ^= 0x40;
    std::fs::write(below.join("2026/photo.jpg"), &damaged).unwrap();
    let failed = s
        .wharf()
        .args(["cat", "sum:2026/photo.jpg"])
        .assert()
        .failure();
    let message = String::from_utf8_lossy(&failed.get_output().stderr).into_owned();
    assert!(
        message.contains("'2026/photo.jpg': its SHA-256 does not match the one stored with it"),
        "{message}"
    );
}

/// Every world in `wit/` resolves from that one folder (its `deps/` holds
/// the WASI they import), as an author's toolchain reads it: componentize-py
/// generates each world's bindings, with the modules its imports need.
#[test]
fn every_world_in_wit_resolves_from_wit_alone() {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    let wit = manifest_dir.join("../../wit");
    let tools = std::env::var_os("COMPONENTIZE_PY_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/opt/componentize-py".into());
    let s = Scratch::new();
    for (world, features, modules) in [
        ("plugin", None, &["types.py"][..]),
        (
            "http-plugin",
            None,
            &[
                "outgoing_handler.py",
                "wasi_http_types.py",
                "wharf_storage_types.py",
            ][..],
        ),
        (
            "tcp-plugin",
            None,
            &["tcp.py", "ip_name_lookup.py", "types.py"][..],
        ),
        (
            "tcp-plugin",
            Some("tls"),
            &["tcp.py", "wasi_tls_types.py", "wharf_storage_types.py"][..],
        ),
        ("overlay", None, &["below.py", "types.py"][..]),
    ] {
        let out = s
            .path()
            .join(format!("{world}-{}", features.unwrap_or("none")));
        let mut command = Command::new(tools.join("venv/bin/componentize-py"));
        command
            .arg("-d")
            .arg(&wit)
            .args(["-w", &format!("wharf:storage/{world}")]);
        if let Some(features) = features {
            command.args(["--features", features]);
        }
        let made = command.arg("bindings").arg(&out).output().unwrap();
        assert!(
            made.status.success(),
            "the world {world} (features {features:?}) does not resolve from wit/: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        for module in modules {
            assert!(
                out.join("wit_world/imports").join(module).is_file(),
                "the world {world} (features {features:?}) has no module {module}"
            );
        }
    }
}
