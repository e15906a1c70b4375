//! Hostile plugins, built from source in `tests/fixtures`, against the
//! sandbox: each is refused or contained with the message asserted here,
//! nothing is written, and the host goes on serving the next call.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use common::Scratch;
use predicates::prelude::*;
use wharf::{ErrorKind, Limits, Plugin, Remote, Runtime, WriteOptions};

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(common::cache_dir())
        .build()
        .unwrap()
}

async fn hostile_plugin(runtime: &Runtime) -> Plugin {
    runtime.load_file(wharf_fixtures::HOSTILE).await.unwrap()
}

fn hostile(
    plugin: &Plugin,
    root: &Path,
    mode: &str,
    extra: &[(&str, String)],
    limits: Limits,
) -> Remote {
    let mut options = vec![
        ("mode".to_owned(), mode.to_owned()),
        ("root".to_owned(), root.display().to_string()),
    ];
    options.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Remote::new(&format!("hostile-{mode}"), plugin.clone(), options, limits).unwrap()
}

/// The host still serves: the same remote answers its next call with a
/// fresh instance, and an fs remote on the same runtime works.
async fn host_still_serves(runtime: &Runtime, remote: &Remote, scratch: &Path) {
    let mut lister = remote
        .list("", None)
        .await
        .expect("the next call gets a fresh instance");
    lister.next_page().await.expect("and it answers");
    let fs = runtime.load_bundled("fs").await.unwrap();
    let media = Remote::new(
        "media",
        fs,
        vec![("root".into(), scratch.join("media").display().to_string())],
        Limits::default(),
    )
    .unwrap();
    media
        .put("after", &b"still here"[..], WriteOptions::default())
        .await
        .unwrap();
    let mut back = Vec::new();
    media.get("after", None, &mut back).await.unwrap();
    assert_eq!(back, b"still here");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_plugin_that_loops_forever_is_stopped_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let limits = Limits {
        call_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let remote = hostile(&plugin, dir.path(), "loop", &[], limits);
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        err.to_string(),
        "stat hostile-loop:anything: the plugin did not finish the call within its time limit of 1 s \
         and was stopped; if the call needs longer, raise call_timeout_secs in the remote's configuration"
    );
    host_still_serves(&runtime, &remote, dir.path()).await;
}

#[tokio::test]
async fn a_plugin_that_allocates_without_end_is_stopped_at_the_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let limits = Limits {
        memory: 32 << 20,
        ..Limits::default()
    };
    let remote = hostile(&plugin, dir.path(), "alloc", &[], limits);
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    let text = err.to_string();
    assert!(
        text.starts_with("stat hostile-alloc:anything: the plugin went past its memory limit of 32 MiB (the plugin asked for ")
            && text.ends_with("bytes of memory); if it really needs more, raise memory_limit_mib in the remote's configuration"),
        "{text}"
    );
    host_still_serves(&runtime, &remote, dir.path()).await;
}

#[tokio::test]
async fn a_plugin_cannot_reach_files_outside_its_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let _ = std::fs::remove_file("/tmp/escaped.txt");
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let remote = hostile(&plugin, &root, "escape", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("stat hostile-escape:x: every escape failed: read /etc/passwd: "),
        "{text}"
    );
    for attempt in [
        "list /: ",
        "write /root/../escaped.txt: ",
        "write /tmp/escaped.txt: ",
    ] {
        assert!(text.contains(attempt), "{attempt} in {text}");
    }
    assert!(!text.contains("ESCAPED"), "{text}");
    assert!(!dir.path().join("escaped.txt").exists());
    assert!(!Path::new("/tmp/escaped.txt").exists());
    assert_eq!(entries(&root), Vec::<String>::new());
    host_still_serves(&runtime, &remote, dir.path()).await;
}

#[tokio::test]
async fn a_plugin_cannot_connect_to_a_host_it_was_not_granted() {
    let dir = tempfile::tempdir().unwrap();
    let granted = TcpListener::bind("127.0.0.1:0").unwrap();
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let forbidden_addr = forbidden.local_addr().unwrap().to_string();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let options = [
        ("host", "127.0.0.1".to_owned()),
        ("port", granted.local_addr().unwrap().port().to_string()),
        ("target", forbidden_addr.clone()),
    ];
    let remote = hostile(&plugin, dir.path(), "connect", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!(
            "stat hostile-connect:x: the sandbox refused plugin 'hostile' (remote 'hostile-connect') when it \
             tried to open a TCP connection to {forbidden_addr}, which this remote's configuration does not \
             grant; if you trust the plugin to reach it, add allow_hosts = \"{forbidden_addr}\" to \
             [remotes.hostile-connect] (the plugin then failed with: connect to {forbidden_addr}: refused: access-denied)"
        )
    );
    assert!(
        forbidden.accept().is_err(),
        "the listener must see no connection"
    );
    host_still_serves(&runtime, &remote, dir.path()).await;

    // The check is what stopped it: with the host allowed, it connects.
    let allowed = hostile(&plugin, dir.path(), "connect", &options, Limits::default())
        .with_allowed_hosts(std::slice::from_ref(&forbidden_addr));
    let err = allowed.stat("x").await.unwrap_err();
    assert!(err.to_string().ends_with("CONNECTED"), "{err}");
    forbidden.set_nonblocking(false).unwrap();
    assert!(forbidden.accept().is_ok());
}

#[tokio::test]
async fn a_plugin_cannot_send_http_to_a_host_it_was_not_granted() {
    let dir = tempfile::tempdir().unwrap();
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let forbidden_addr = forbidden.local_addr().unwrap().to_string();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let options = [
        ("url", "http://127.0.0.1:1".to_owned()),
        ("target", forbidden_addr.clone()),
    ];
    let remote = hostile(&plugin, dir.path(), "http", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "stat hostile-http:x: the sandbox refused plugin 'hostile' (remote 'hostile-http') when it tried to \
             send an HTTP request to {forbidden_addr}, which this remote's configuration does not grant; if you \
             trust the plugin to reach it, add allow_hosts = \"{forbidden_addr}\" to [remotes.hostile-http]"
        )),
        "{text}"
    );
    assert!(text.contains("HttpRequestDenied"), "{text}");
    assert!(
        forbidden.accept().is_err(),
        "the listener must see no connection"
    );
    host_still_serves(&runtime, &remote, dir.path()).await;
}

#[tokio::test]
async fn a_plugin_that_panics_mid_write_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let remote = hostile(&plugin, &root, "panic-write", &[], Limits::default());
    let err = remote
        .put(
            "video.mp4",
            &vec![7u8; 3 << 20][..],
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed);
    let text = err.to_string();
    assert!(text.starts_with("write hostile-panic-write:video.mp4: the plugin crashed and will be restarted for the next call: "), "{text}");
    assert!(
        text.contains("it printed: ")
            && text.contains("hostile plugin panicked mid-write of \"video.mp4\""),
        "{text}"
    );
    assert_eq!(
        *remote.stat("video.mp4").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(entries(&root), Vec::<String>::new());
    host_still_serves(&runtime, &remote, dir.path()).await;
}

#[tokio::test]
async fn a_huge_list_page_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let remote = hostile(&plugin, dir.path(), "huge-list", &[], Limits::default());
    let mut lister = remote.list("p/", None).await.unwrap();
    let err = lister.next_page().await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed);
    assert_eq!(
        err.to_string(),
        "list hostile-huge-list:p/: the plugin returned 50000 entries when asked for at most 1000"
    );
    drop(lister);
    remote.stat("x").await.unwrap_err(); // answered, by a fresh instance
    let fs = runtime.load_bundled("fs").await.unwrap();
    Remote::new(
        "media",
        fs,
        vec![("root".into(), dir.path().display().to_string())],
        Limits::default(),
    )
    .unwrap()
    .put("ok", &b"1"[..], WriteOptions::default())
    .await
    .unwrap();
}

#[tokio::test]
async fn a_chunk_larger_than_asked_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let plugin = hostile_plugin(&runtime).await;
    let remote = hostile(&plugin, dir.path(), "huge-chunk", &[], Limits::default());
    let mut reader = remote.open_read("x", None).await.unwrap();
    let err = reader.read().await.unwrap_err();
    assert_eq!(err.to_string(), "read hostile-huge-chunk:x: the plugin returned 4194304 bytes when asked for at most 1048576");
}

#[tokio::test]
async fn a_plugin_built_for_another_contract_major_is_refused() {
    let err = runtime()
        .load_file(wharf_fixtures::WRONG_MAJOR)
        .await
        .err()
        .unwrap();
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
    assert_eq!(
        err.to_string(),
        format!(
            "plugin file {} was built for wharf:storage@1.0.0, which this host (contract 0.1.0) cannot load; \
             rebuild it against the wit/ of this Wharf version or upgrade Wharf",
            wharf_fixtures::WRONG_MAJOR
        )
    );
}

#[tokio::test]
async fn files_that_are_not_components_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let module = dir.path().join("module.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let err = runtime.load_file(&module).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin file {} is a core WebAssembly module, not a component; build the plugin for the \
             wasm32-wasip2 target (or wrap it with `wasm-tools component new`)",
            module.display()
        )
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"#!/bin/sh\necho hi\n").unwrap();
    let err = runtime.load_file(&junk).await.err().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "plugin file {} is not a WebAssembly file; a plugin is a .wasm component",
            junk.display()
        )
    );
    let truncated = dir.path().join("truncated.wasm");
    let real = std::fs::read(wharf_fixtures::HOSTILE).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 2]).unwrap();
    let err = runtime.load_file(&truncated).await.err().unwrap();
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
    assert!(
        err.to_string()
            .contains("is not a valid WebAssembly component"),
        "{err}"
    );
}

#[test]
fn the_cli_shows_the_time_limit_and_the_refusal() {
    let s = Scratch::new();
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let target = forbidden.local_addr().unwrap().to_string();
    s.write_config(&format!(
        "[remotes.spin]\nplugin = \"{0}\"\nmode = \"loop\"\nroot = \"spin\"\ncall_timeout_secs = 1\n\n\
         [remotes.sneaky]\nplugin = \"{0}\"\nmode = \"connect\"\nroot = \"sneaky\"\ntarget = \"{target}\"\n",
        wharf_fixtures::HOSTILE
    ));
    std::fs::create_dir_all(s.path().join("spin")).unwrap();
    std::fs::create_dir_all(s.path().join("sneaky")).unwrap();
    s.wharf()
        .args(["stat", "spin:k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "wharf: stat spin:k: the plugin did not finish the call within its time limit of 1 s",
        ));
    s.wharf()
        .args(["stat", "sneaky:k"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "add allow_hosts = \"{target}\" to [remotes.sneaky]"
        )));
    assert!(forbidden.accept().is_err());
}

#[test]
fn inspect_shows_the_access_a_plugin_asks_for() {
    let s = Scratch::new();
    let out = s
        .wharf()
        .args([
            "plugins",
            "inspect",
            wharf_fixtures::HOSTILE,
            "-o",
            "mode=connect",
            "-o",
            "root=data",
        ])
        .args(["-o", "host=ftp.example.com", "-o", "port=21"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for line in [
        "plugin        hostile 0.0.1: Misbehaves on purpose, for the sandbox tests",
        "contract      wharf:storage@0.1.0 (this host speaks 0.1.0)",
        "  - one local directory, read and write: the one named by option 'root'",
        "  - TCP connections to {host}:{port} (the server it was configured with)",
        "  - HTTP(S) requests to {url} (the API it was configured with)",
        "    TCP connections ftp.example.com:21",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(
        text.contains(&format!(
            "    directory {} (read and write)",
            s.path().join("data").display()
        )),
        "{text}"
    );
    let out = s
        .wharf()
        .args(["plugins", "inspect", "--json", "fs"])
        .assert()
        .success();
    let value: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(value["options"][0]["name"], "root");
    assert_eq!(value["options"][0]["required"], true);
    s.wharf()
        .args(["plugins", "inspect", wharf_fixtures::WRONG_MAJOR])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "was built for wharf:storage@1.0.0",
        ));
}

#[test]
fn an_installed_plugin_that_changes_is_refused_until_installed_again() {
    let s = Scratch::new();
    s.wharf()
        .args([
            "plugins",
            "install",
            wharf_fixtures::HOSTILE,
            "--name",
            "mine",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "installed hostile 0.0.1 as 'mine'",
        ));
    let lock = std::fs::read_to_string(s.path().join("plugins/wharf-plugins.lock")).unwrap();
    let sha = hex_sha256(&std::fs::read(wharf_fixtures::HOSTILE).unwrap());
    assert!(lock.contains(&sha), "{lock}");
    s.write_config("[remotes.m]\nplugin = \"mine\"\nmode = \"amnesia\"\nroot = \"m\"\n");
    std::fs::create_dir_all(s.path().join("m")).unwrap();
    s.wharf().args(["ls", "m:"]).assert().success();

    // Swap the file behind the user's back.
    let mut changed = std::fs::read(wharf_fixtures::HOSTILE).unwrap();
    changed.extend_from_slice(b"\0");
    std::fs::write(s.path().join("plugins/mine.wasm"), &changed).unwrap();
    s.wharf().args(["ls", "m:"]).assert().code(1).stderr(
        predicate::str::contains("changed since it was installed").and(predicate::str::contains(
            "wharf plugins install PATH.wasm --name mine",
        )),
    );

    s.wharf()
        .args([
            "plugins",
            "install",
            wharf_fixtures::HOSTILE,
            "--name",
            "mine",
        ])
        .assert()
        .success();
    s.wharf().args(["ls", "m:"]).assert().success();
    s.wharf()
        .args([
            "plugins",
            "install",
            wharf_fixtures::HOSTILE,
            "--name",
            "fs",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("built-in plugin"));
}

#[test]
fn a_plugin_that_breaks_its_promises_fails_the_conformance_suite() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path().join("amnesia")).unwrap();
    let out = s
        .wharf()
        .args([
            "conformance",
            wharf_fixtures::HOSTILE,
            "-o",
            "mode=amnesia",
            "-o",
            "root=amnesia",
        ])
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let mut lines = text.lines().rev();
    let (last, before) = (lines.next().unwrap(), lines.next().unwrap());
    // The count line is the last line and holds nothing else.
    let counts: Vec<usize> = last
        .split(", ")
        .zip(["passed", "failed", "skipped"])
        .map(|(part, word)| {
            let (n, w) = part.split_once(' ').unwrap();
            assert_eq!(w, word, "{last}");
            n.parse().unwrap()
        })
        .collect();
    assert_eq!(
        last,
        format!(
            "{} passed, {} failed, {} skipped",
            counts[0], counts[1], counts[2]
        )
    );
    assert!(counts[1] > 10, "{last}");
    assert!(
        before.starts_with(&format!("{} cases in ", counts.iter().sum::<usize>()))
            && before.ends_with(" s"),
        "{before}"
    );
    assert!(text.contains("FAILED objects/small object:"), "{text}");
    // A case gated on a capability it declares (key-and-prefix) runs, and
    // fails, rather than being passed over.
    assert!(
        text.contains(&format!(
            "{:<14} {:<52} FAILED\n",
            "layout", "a key can also be a prefix"
        )),
        "{text}"
    );
    assert!(
        text.contains("FAILED layout/a key can also be a prefix:"),
        "{text}"
    );
    assert!(
        text.contains("not applicable: capability 'copy' is not declared"),
        "{text}"
    );
    assert!(
        String::from_utf8_lossy(&out.get_output().stderr).contains("the plugin does not conform")
    );
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
