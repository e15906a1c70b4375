//! Hostile plugins, built from source in `tests/fixtures`, against the
//! sandbox: each is refused or contained with the message asserted here,
//! nothing is written, and the host goes on serving: an fs remote used
//! before the hostile call serves after it, on the same runtime.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Scratch;
use predicates::prelude::*;
use tempfile::TempDir;
use wharf::{ErrorKind, Limits, Plugin, Remote, Runtime, WriteOptions};

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(common::cache_dir())
        .build()
        .unwrap()
}

/// One test's world: the hostile plugin, a root of its own for the hostile
/// remote, and an fs remote on the same runtime (each plugin holds it)
/// that was already used before the hostile call.
struct Sandbox {
    dir: TempDir,
    plugin: Plugin,
    root: PathBuf,
    media: Remote,
}

impl Sandbox {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("hostile-root");
        std::fs::create_dir(&root).unwrap();
        let runtime = runtime();
        let plugin = runtime.load_file(wharf_fixtures::HOSTILE).await.unwrap();
        let media = fs_remote_in_use(&runtime, dir.path()).await;
        Sandbox {
            dir,
            plugin,
            root,
            media,
        }
    }

    /// A remote named `hostile-{mode}` on the hostile plugin, in its root.
    fn hostile(&self, mode: &str, extra: &[(&str, String)], limits: Limits) -> Remote {
        let mut options = vec![
            ("mode".to_owned(), mode.to_owned()),
            ("root".to_owned(), self.root.display().to_string()),
        ];
        options.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Remote::new(
            &format!("hostile-{mode}"),
            self.plugin.clone(),
            options,
            limits,
        )
        .unwrap()
    }

    /// The hostile plugin wrote nothing in its root, and the fs remote
    /// used before it still serves.
    async fn assert_contained(&self) {
        assert_eq!(
            entries(&self.root),
            Vec::<String>::new(),
            "the hostile plugin left something in its root"
        );
        media_still_serves(&self.media).await;
    }

    /// [`Sandbox::assert_contained`], and the hostile remote answers its
    /// next call, with a fresh instance.
    async fn assert_survived(&self, remote: &Remote) {
        remote
            .delete("probe")
            .await
            .expect("the next call gets a fresh instance, which answers");
        self.assert_contained().await;
    }
}

/// An fs remote on `runtime` that has written an object already.
async fn fs_remote_in_use(runtime: &Runtime, scratch: &Path) -> Remote {
    let fs = runtime.load_bundled("fs").await.unwrap();
    let media = Remote::new(
        "media",
        fs,
        vec![("root".into(), scratch.join("media").display().to_string())],
        Limits::default(),
    )
    .unwrap();
    media
        .put("before", &b"written before"[..], WriteOptions::default())
        .await
        .unwrap();
    media
}

/// The same fs remote reads what it wrote before and writes again.
async fn media_still_serves(media: &Remote) {
    let mut before = Vec::new();
    media.get("before", None, &mut before).await.unwrap();
    assert_eq!(before, b"written before");
    media
        .put("after", &b"still here"[..], WriteOptions::default())
        .await
        .unwrap();
    let mut after = Vec::new();
    media.get("after", None, &mut after).await.unwrap();
    assert_eq!(after, b"still here");
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Where the hostile plugin's `panic!` whose message starts with `message`
/// is, as a panic reports it (`file:line:column`), so that messages quoting
/// the plugin's panic can be asserted whole.
fn panic_site(message: &str) -> String {
    let source = include_str!("../../../tests/fixtures/hostile/src/lib.rs");
    let needle = format!("panic!(\"{message}");
    let (line, text) = source
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains(&needle))
        .unwrap();
    let column = text.find("panic!").unwrap() + 1;
    format!("tests/fixtures/hostile/src/lib.rs:{}:{column}", line + 1)
}

#[tokio::test]
async fn a_plugin_that_loops_forever_is_stopped_at_the_time_limit() {
    let sandbox = Sandbox::new().await;
    let limits = Limits {
        call_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let remote = sandbox.hostile("loop", &[], limits);
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        err.to_string(),
        "stat hostile-loop:anything: the plugin did not finish the call within its time limit of 1 s \
         and was stopped; if the call needs longer, raise call_timeout_secs in the remote's configuration"
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_plugin_that_allocates_without_end_is_stopped_at_the_memory_limit() {
    let sandbox = Sandbox::new().await;
    let limits = Limits {
        memory: 32 << 20,
        ..Limits::default()
    };
    let remote = sandbox.hostile("alloc", &[], limits);
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    let text = err.to_string();
    let asked = asked_for_memory(
        &text,
        "stat hostile-alloc:anything: the plugin went past its memory limit of 32 MiB",
    );
    assert!(asked > 32 << 20, "{text}");
    sandbox.assert_survived(&remote).await;
}

/// The whole memory-limit message, `{start} (the plugin asked for N bytes
/// of memory); …`, is asserted; what varies is N, which is returned.
fn asked_for_memory(text: &str, start: &str) -> u64 {
    text.strip_prefix(&format!("{start} (the plugin asked for "))
        .and_then(|rest| {
            rest.strip_suffix(
                " bytes of memory); if it really needs more, raise memory_limit_mib in the \
                 remote's configuration",
            )
        })
        .and_then(|asked| asked.parse().ok())
        .unwrap_or_else(|| panic!("unexpected message: {text}"))
}

#[tokio::test]
async fn a_plugin_cannot_reach_files_outside_its_root() {
    let sandbox = Sandbox::new().await;
    let _ = std::fs::remove_file("/tmp/escaped.txt");
    let remote = sandbox.hostile("escape", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    // WASI's errno names (44 is ENOENT, 63 EPERM): outside its preopened
    // root, nothing exists for the plugin, and `..` cannot leave it.
    assert_eq!(
        err.to_string(),
        "stat hostile-escape:x: every escape failed: read /etc/passwd: No such file or directory \
         (os error 44); list /: No such file or directory (os error 44); write /root/../escaped.txt: \
         Operation not permitted (os error 63); write /tmp/escaped.txt: No such file or directory \
         (os error 44)"
    );
    assert!(!sandbox.dir.path().join("escaped.txt").exists());
    assert!(!Path::new("/tmp/escaped.txt").exists());
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_plugin_cannot_connect_to_a_host_it_was_not_granted() {
    let sandbox = Sandbox::new().await;
    let granted = TcpListener::bind("127.0.0.1:0").unwrap();
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let forbidden_addr = forbidden.local_addr().unwrap().to_string();
    let options = [
        ("host", "127.0.0.1".to_owned()),
        ("port", granted.local_addr().unwrap().port().to_string()),
        ("target", forbidden_addr.clone()),
    ];
    let remote = sandbox.hostile("connect", &options, Limits::default());
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
    sandbox.assert_survived(&remote).await;

    // The check is what stopped it: with the host allowed, it connects.
    let allowed = sandbox
        .hostile("connect", &options, Limits::default())
        .with_allowed_hosts(std::slice::from_ref(&forbidden_addr));
    let err = allowed.stat("x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("stat hostile-connect:x: connect to {forbidden_addr}: CONNECTED")
    );
    forbidden.set_nonblocking(false).unwrap();
    assert!(forbidden.accept().is_ok());
}

#[tokio::test]
async fn a_plugin_cannot_listen_for_connections() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("listen", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert_eq!(
        err.to_string(),
        "stat hostile-listen:x: the sandbox refused plugin 'hostile' (remote 'hostile-listen') when \
         it tried to listen for TCP connections on 0.0.0.0:0, which this remote's configuration \
         does not grant; no option allows that: a plugin may only open connections to the \
         endpoints its remote grants (the plugin then failed with: listen refused: access-denied)"
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_plugin_cannot_connect_while_opening_its_store() {
    let sandbox = Sandbox::new().await;
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let forbidden_addr = forbidden.local_addr().unwrap().to_string();
    let options = [("target", forbidden_addr.clone())];
    let remote = sandbox.hostile("connect-on-open", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!(
            "open on remote 'hostile-connect-on-open': the sandbox refused plugin 'hostile' (remote \
             'hostile-connect-on-open') when it tried to open a TCP connection to {forbidden_addr}, which \
             this remote's configuration does not grant; if you trust the plugin to reach it, add \
             allow_hosts = \"{forbidden_addr}\" to [remotes.hostile-connect-on-open] (the plugin then \
             failed with: connect to {forbidden_addr} while opening: refused: access-denied)"
        )
    );
    assert!(
        forbidden.accept().is_err(),
        "the listener must see no connection"
    );
    // Every open of this plugin fails, so only the fs remote can show the
    // host goes on.
    sandbox.assert_contained().await;

    let allowed = sandbox
        .hostile("connect-on-open", &options, Limits::default())
        .with_allowed_hosts(std::slice::from_ref(&forbidden_addr));
    let err = allowed.stat("x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "open on remote 'hostile-connect-on-open': connect to {forbidden_addr} while opening: CONNECTED"
        )
    );
    forbidden.set_nonblocking(false).unwrap();
    assert!(forbidden.accept().is_ok());
}

#[tokio::test]
async fn a_plugin_cannot_send_http_to_a_host_it_was_not_granted() {
    let sandbox = Sandbox::new().await;
    let forbidden = TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let forbidden_addr = forbidden.local_addr().unwrap().to_string();
    let options = [
        ("url", "http://127.0.0.1:1".to_owned()),
        ("target", forbidden_addr.clone()),
    ];
    let remote = sandbox.hostile("http", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!(
            "stat hostile-http:x: the sandbox refused plugin 'hostile' (remote 'hostile-http') when it tried to \
             send an HTTP request to {forbidden_addr}, which this remote's configuration does not grant; if you \
             trust the plugin to reach it, add allow_hosts = \"{forbidden_addr}\" to [remotes.hostile-http] \
             (the plugin then failed with: GET http://{forbidden_addr}/: refused: ErrorCode::HttpRequestDenied)"
        )
    );
    assert!(
        forbidden.accept().is_err(),
        "the listener must see no connection"
    );
    sandbox.assert_survived(&remote).await;
}

/// A grant of a URL with a path is for that path and what is below it: a
/// plugin granted `http://h:p/sub/dir` cannot send a request to `/` there.
#[tokio::test]
async fn a_grant_with_a_path_does_not_let_other_paths_through() {
    let sandbox = Sandbox::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let options = [
        ("url", format!("http://{addr}/sub/dir")),
        ("target", addr.clone()),
    ];
    let remote = sandbox.hostile("http", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.to_string().contains(&format!(
            "when it tried to send an HTTP request to {addr}: the path / is outside /sub/dir, \
             the path the grant covers (with what is below it)"
        )),
        "{err}"
    );
    assert!(
        listener.accept().is_err(),
        "the listener must see no connection"
    );
    sandbox.assert_survived(&remote).await;
}

/// A grant is for its scheme: a plugin granted `https://h:p` cannot send
/// cleartext HTTP to the same host and port.
#[tokio::test]
async fn an_https_grant_does_not_let_cleartext_through() {
    let sandbox = Sandbox::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let options = [("url", format!("https://{addr}")), ("target", addr.clone())];
    let remote = sandbox.hostile("http", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.to_string().contains(&format!(
            "when it tried to send an HTTP request to {addr}, which this remote's configuration \
             does not grant"
        )),
        "{err}"
    );
    assert!(
        listener.accept().is_err(),
        "the listener must see no connection"
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_plugin_that_panics_mid_write_stores_nothing() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("panic-write", &[], Limits::default());
    let err = remote
        .put(
            "video.mp4",
            &vec![7u8; 3 << 20][..],
            WriteOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed);
    // What happened and what the plugin said, without the wasm backtrace
    // (see the next test) or Rust's advice on RUST_BACKTRACE, which a
    // plugin without an environment cannot follow.
    assert_eq!(
        err.to_string(),
        format!(
            "write hostile-panic-write:video.mp4: the plugin crashed and will be restarted for \
             the next call: wasm trap: wasm `unreachable` instruction executed; set \
             WHARF_PLUGIN_BACKTRACE=1 to see where; it printed: thread '<unnamed>' (1) \
             panicked at {}: / hostile plugin panicked mid-write of \"video.mp4\"",
            panic_site("hostile plugin panicked mid-write")
        )
    );
    let err = remote.stat("video.mp4").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::NotFound, "{err}");
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_huge_list_page_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("huge-list", &[], Limits::default());
    let mut lister = remote.list("p/", None).await.unwrap();
    let err = lister.next_page().await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed);
    assert_eq!(
        err.to_string(),
        "list hostile-huge-list:p/: the plugin returned 50000 entries when asked for at most 1000"
    );
    drop(lister);
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(
        err.to_string(),
        "stat hostile-huge-list:x: no object at \"x\""
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_list_page_of_oversized_keys_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("huge-keys", &[], Limits::default());
    let mut lister = remote.list("p/", None).await.unwrap();
    let err = lister.next_page().await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    // 1,000 keys of "p/", four digits, 1,995 bytes and "/".
    assert_eq!(
        err.to_string(),
        "list hostile-huge-keys:p/: the plugin returned a listing page whose keys take 2002000 bytes, \
         past the bound of 1024000 bytes (1000 keys of at most 1024 bytes) that the Wharf contract \
         fixes; it is a fault in the plugin, to report to its author; the plugin will be restarted \
         for the next call"
    );
    drop(lister);
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "stat hostile-huge-keys:x: no object at \"x\""
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn oversized_metadata_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("huge-meta", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    // The key "x", the name "padding" and a 1 MiB value.
    assert_eq!(
        err.to_string(),
        "stat hostile-huge-meta:x: the plugin described one object in 1048584 bytes, past the bound \
         of 65536 bytes (key, etag, content type and metadata) that the Wharf contract fixes; it is a \
         fault in the plugin, to report to its author; the plugin will be restarted for the next call"
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_huge_error_message_is_cut_and_marked() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("huge-error", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    // The error's kind is the plugin's answer, kept; only its text is cut.
    assert_eq!(*err.kind(), ErrorKind::NotFound);
    let full = format!(
        "no object at \"x\"; {}",
        "and on and on ".repeat((1 << 20) / 14)
    );
    assert_eq!(
        err.to_string(),
        format!(
            "stat hostile-huge-error:x: {}… [{} more bytes cut: the host keeps the first 4096 bytes \
             of a plugin's message]",
            &full[..4096],
            full.len() - 4096
        )
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_chunk_larger_than_asked_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("huge-chunk", &[], Limits::default());
    let mut reader = remote.open_read("x", None).await.unwrap();
    let err = reader.read().await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed);
    assert_eq!(err.to_string(), "read hostile-huge-chunk:x: the plugin returned 4194304 bytes when asked for at most 1048576");
    drop(reader);
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn a_stream_handed_over_while_the_plugin_still_polls_it_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("polled-stream", &[], Limits::default());
    let err = match remote.open_read("x", None).await {
        Ok(_) => panic!("the host took a stream the plugin still polls"),
        Err(err) => err,
    };
    assert_eq!(*err.kind(), ErrorKind::PluginFailed, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("read hostile-polled-stream:x: the plugin crashed and will be restarted")
            && text.contains("a stream it still uses")
            && text.contains("take-stream"),
        "{text}"
    );
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn deletes_that_leave_their_keys_end_rm_r_after_a_bounded_number_of_passes() {
    let sandbox = Sandbox::new().await;
    let remote = std::sync::Arc::new(sandbox.hostile("undeletable", &[], Limits::default()));
    let deleted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = deleted.clone();
    let observer = std::sync::Arc::new(move |event: &wharf_transfer::Event| {
        if matches!(event, wharf_transfer::Event::Deleted { .. }) {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let err = wharf_transfer::delete_prefix(
        &remote,
        "p/",
        &wharf_transfer::DeleteOptions::default(),
        observer,
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "hostile-undeletable:p/: keys deleted without error were still listed after 64 \
         passes; the plugin's deletes may not take effect"
    );
    // Three keys "deleted" in each of the 64 passes, and then it stopped.
    assert_eq!(deleted.load(std::sync::atomic::Ordering::Relaxed), 3 * 64);
    sandbox.assert_survived(&remote).await;
}

#[tokio::test]
async fn the_call_after_a_failure_gets_a_fresh_instance() {
    let sandbox = Sandbox::new().await;
    let limits = Limits {
        call_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let remote = sandbox.hostile("counter", &[], limits);
    let call = |n: u32| {
        format!("stat hostile-counter:x: no object at \"x\"; this is call {n} to this instance")
    };
    let stat = || async { remote.stat("x").await.unwrap_err().to_string() };
    assert_eq!(stat().await, call(1));
    assert_eq!(stat().await, call(2), "calls go to one instance");

    let err = remote.stat("panic").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed, "{err}");
    assert_eq!(stat().await, call(1), "a trap throws the instance away");
    assert_eq!(stat().await, call(2));

    let err = remote.stat("loop").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert_eq!(stat().await, call(1), "the time limit throws it away too");
    sandbox.assert_contained().await;
}

/// After a load failed: the scratch directory holds only what the test
/// put there, and the same runtime loads and uses plugins, bundled and
/// from a file.
async fn runtime_still_loads(runtime: &Runtime, scratch: &Path, files: &[&str]) {
    let mut expected: Vec<String> = files.iter().map(|f| f.to_string()).collect();
    expected.sort();
    assert_eq!(entries(scratch), expected, "a failed load wrote something");
    media_still_serves(&fs_remote_in_use(runtime, scratch).await).await;
    let hostile = runtime.load_file(wharf_fixtures::HOSTILE).await.unwrap();
    let root = scratch.join("counter-root");
    std::fs::create_dir(&root).unwrap();
    let counter = Remote::new(
        "counter",
        hostile,
        vec![
            ("mode".into(), "counter".into()),
            ("root".into(), root.display().to_string()),
        ],
        Limits::default(),
    )
    .unwrap();
    assert_eq!(
        counter.stat("x").await.unwrap_err().to_string(),
        "stat counter:x: no object at \"x\"; this is call 1 to this instance"
    );
}

#[tokio::test]
async fn a_plugin_built_for_another_contract_major_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let err = runtime
        .load_file(wharf_fixtures::WRONG_MAJOR)
        .await
        .err()
        .unwrap();
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
    assert_eq!(
        err.to_string(),
        format!(
            "plugin file {} was built for wharf:storage@1.0.0, which this host (contract 0.3.0, loading plugins built for 0.1 to 0.3.0) \
             cannot load; \
             rebuild it against the wit/ of this Wharf version or upgrade Wharf",
            wharf_fixtures::WRONG_MAJOR
        )
    );
    runtime_still_loads(&runtime, dir.path(), &[]).await;
}

#[tokio::test]
async fn files_that_are_not_components_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let module = dir.path().join("module.wasm");
    std::fs::write(&module, wharf_fixtures::CORE_MODULE).unwrap();
    let err = runtime.load_file(&module).await.err().unwrap();
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
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
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
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
    // What wasmparser says names offsets in the hostile build, so those
    // are read back: the section runs past the cut, which is the bound.
    let text = err.to_string();
    let range = text
        .strip_prefix(&format!(
            "plugin file {} is not a valid WebAssembly component: failed to parse WebAssembly \
             module: wasm component contains an invalid module section: section range ",
            truncated.display()
        ))
        .and_then(|rest| {
            rest.strip_suffix(&format!(" is out of bounds (bound = {})", real.len() / 2))
        })
        .unwrap_or_else(|| panic!("unexpected message: {text}"));
    let (start, end) = range.split_once("..").unwrap();
    let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
    assert!(start < real.len() / 2 && end > real.len() / 2, "{text}");
    runtime_still_loads(
        &runtime,
        dir.path(),
        &["junk.wasm", "module.wasm", "truncated.wasm"],
    )
    .await;
}

#[test]
fn a_crash_shows_the_wasm_backtrace_when_asked() {
    let s = Scratch::new();
    s.write_config(&format!(
        "[remotes.crash]\nplugin = \"{}\"\nmode = \"panic-write\"\nroot = \"crash\"\n",
        wharf_fixtures::HOSTILE
    ));
    s.file("video.mp4", &vec![7u8; 3 << 20]);
    let out = s
        .wharf()
        .args(["put", "video.mp4", "crash:video.mp4"])
        .env("WHARF_PLUGIN_BACKTRACE", "1")
        .assert()
        .code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    // The backtrace's addresses and symbols change with every build: its
    // lines are checked to be frames of the plugin.
    let frames = stderr
        .split_once(
            "the plugin crashed and will be restarted for the next call: error while \
             executing at wasm backtrace:\n",
        )
        .and_then(|(_, rest)| {
            rest.split_once(": wasm trap: wasm `unreachable` instruction executed")
        })
        .map(|(frames, _)| frames)
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(frames.lines().count() >= 2, "{stderr}");
    for frame in frames.lines() {
        let (number, rest) = frame.trim_start().split_once(": ").unwrap();
        assert!(number.parse::<u32>().is_ok(), "{frame}");
        assert!(
            rest.trim_start().starts_with("0x") && rest.contains(" - wharf_fixture_hostile.wasm!"),
            "{frame}"
        );
    }
    assert_eq!(entries(&s.path().join("crash")), Vec::<String>::new());
}

#[test]
fn the_memory_limit_in_the_config_file_bounds_the_plugin() {
    let s = Scratch::new();
    s.write_config(&format!(
        "[remotes.hog]\nplugin = \"{}\"\nmode = \"alloc\"\nroot = \"hog\"\nmemory_limit_mib = 32\n",
        wharf_fixtures::HOSTILE
    ));
    std::fs::create_dir_all(s.path().join("hog")).unwrap();
    let out = s.wharf().args(["stat", "hog:k"]).assert().code(1);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let text = stderr
        .strip_prefix("wharf: ")
        .and_then(|t| t.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{stderr}"));
    let asked = asked_for_memory(
        text,
        "stat hog:k: the plugin went past its memory limit of 32 MiB",
    );
    assert!(asked > 32 << 20, "{text}");
    assert_eq!(entries(&s.path().join("hog")), Vec::<String>::new());
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
        .args(["-o", "url=https://dav.example.com/remote.php/dav"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for line in [
        "plugin        hostile 0.0.1: Misbehaves on purpose, for the sandbox tests",
        "contract      wharf:storage@0.3.0 (this host speaks 0.3.0)",
        "  - one local directory, read and write: the one named by option 'root'",
        "  - TCP connections to {host}:{port} (the server it was configured with)",
        "  - HTTP(S) requests to {url} (the API it was configured with)",
        "    TCP connections to ftp.example.com:21",
        "    HTTP(S) requests to https://dav.example.com/remote.php/dav (only /remote.php/dav \
         and what is below it)",
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
    // The record is kept beside the user's config, not beside the plugin.
    let lock = std::fs::read_to_string(s.path().join("plugins.lock")).unwrap();
    let sha = hex_sha256(&std::fs::read(wharf_fixtures::HOSTILE).unwrap());
    assert!(lock.contains(&sha), "{lock}");
    assert_eq!(entries(&s.path().join("plugins")), ["mine.wasm"]);
    s.write_config("[remotes.m]\nplugin = \"mine\"\nmode = \"amnesia\"\nroot = \"m\"\n");
    std::fs::create_dir_all(s.path().join("m")).unwrap();
    s.wharf().args(["ls", "m:"]).assert().success();

    // Swap the file behind the user's back, with a record of its own
    // beside it, as the old layout kept records: it changes nothing.
    let mut changed = std::fs::read(wharf_fixtures::HOSTILE).unwrap();
    changed.extend_from_slice(b"\0");
    std::fs::write(s.path().join("plugins/mine.wasm"), &changed).unwrap();
    std::fs::write(
        s.path().join("plugins/plugins.lock"),
        format!(
            "[plugins.mine]\nsha256 = \"{}\"\nsource = \"x\"\n",
            hex_sha256(&changed)
        ),
    )
    .unwrap();
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

/// A plugin that blocks on the host while opening its store (a timer that
/// never fires; a server that never greets it) runs no wasm, so the epoch
/// cannot stop it: the host's own timer does, at the remote's limit plus
/// the host's grace, and the next call gets a fresh instance.
#[tokio::test]
async fn an_open_that_never_returns_is_stopped_at_the_time_limit() {
    let sandbox = Sandbox::new().await;
    let limits = Limits {
        call_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let remote = sandbox.hostile("hang-on-open", &[], limits);
    let started = std::time::Instant::now();
    // Fails, rather than hangs, if the host waits for ever.
    let err = tokio::time::timeout(Duration::from_secs(30), remote.stat("x"))
        .await
        .expect("the host waited for the plugin's open for 30 s")
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded);
    assert_eq!(
        err.to_string(),
        "open on remote 'hostile-hang-on-open': the call did not finish within the time limit of \
         1 s and was stopped; if it needs longer, raise call_timeout_secs in the remote's \
         configuration"
    );
    // 1 s of limit and 5 s of the host's grace; never for ever.
    assert!(
        (Duration::from_secs(5)..Duration::from_secs(15)).contains(&took),
        "{took:?}"
    );
    // It hangs again on the next open, and is stopped again.
    assert_eq!(
        *remote.stat("y").await.unwrap_err().kind(),
        ErrorKind::LimitExceeded
    );
    sandbox.assert_contained().await;
}

/// A remote can pin its plugin in the user's own config (`sha256`), where
/// whoever can replace the plugin file cannot change the pin: a plugin
/// loaded by path, not installed, is held to it too.
#[test]
fn a_remote_pins_its_plugin_by_sha256() {
    let s = Scratch::new();
    let wasm = s.path().join("loose.wasm");
    std::fs::copy(wharf_fixtures::CONTRACT_0_2, &wasm).unwrap();
    let sha = hex_sha256(&std::fs::read(&wasm).unwrap());
    let config = |pin: &str| {
        format!(
            "[remotes.pinned]\nplugin = \"{}\"\nsha256 = \"{pin}\"\n",
            wasm.display()
        )
    };
    s.write_config(&config(&sha));
    s.wharf().args(["ls", "pinned:"]).assert().success();

    // The file is swapped for another plugin: refused, naming both hashes.
    std::fs::copy(wharf_fixtures::CONTRACT_0_1, &wasm).unwrap();
    let other = hex_sha256(&std::fs::read(&wasm).unwrap());
    s.wharf().args(["ls", "pinned:"]).assert().code(1).stderr(
        predicate::str::contains(format!(
            "plugin file {} has sha256 {other}, but the remote pins sha256 = \"{sha}\"",
            wasm.display()
        ))
        .and(predicate::str::contains("update the pin")),
    );

    s.write_config(&config("not-a-hash"));
    s.wharf()
        .args(["ls", "pinned:"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "sha256 = 'not-a-hash' is not a sha256 (64 hex digits)",
        ));
}

/// A plugin may look up only the names its grant holds: any other lookup
/// (which could carry data out in the name itself, with no connection) is
/// refused before any resolver sees it, and logged like any refusal.
#[tokio::test]
async fn a_plugin_may_look_up_only_the_names_its_grant_holds() {
    let sandbox = Sandbox::new().await;
    let leak = "secret-c2vjcmv0.attacker.invalid";
    let options = [
        ("host", "localhost".to_owned()),
        ("port", "1".to_owned()),
        ("target", leak.to_owned()),
    ];
    let remote = sandbox.hostile("lookup", &options, Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        err.to_string(),
        format!(
            "stat hostile-lookup:x: the sandbox refused plugin 'hostile' (remote 'hostile-lookup') when it \
             tried to look up the address of {leak}, which this remote's configuration does not grant; if \
             you trust the plugin to reach it, add allow_hosts = \"{leak}\" to [remotes.hostile-lookup] (the \
             plugin then failed with: look up {leak}: refused: access-denied)"
        )
    );
    sandbox.assert_survived(&remote).await;

    // The name its grant holds resolves, to what the host resolved for it.
    let granted = sandbox.hostile(
        "lookup",
        &[
            ("host", "localhost".to_owned()),
            ("port", "1".to_owned()),
            ("target", "LOCALHOST.".to_owned()),
        ],
        Limits::default(),
    );
    let answer = granted.stat("x").await.unwrap_err().to_string();
    assert!(
        answer.contains("look up LOCALHOST.: RESOLVED ") && answer.contains("127.0.0.1"),
        "{answer}"
    );
}

/// Answers one HTTP request on `listener` in the background, and says
/// whether a connection came.
fn answer_once(listener: TcpListener) -> std::thread::JoinHandle<bool> {
    listener.set_nonblocking(false).unwrap();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let Ok((mut stream, _)) = listener.accept() else {
            return false;
        };
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        let _ =
            stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        true
    })
}

/// A name the plugin chose (written in its own endpoint template) that
/// resolves to this machine does not take it there, over HTTP or TCP: the
/// host checks every address before connecting. The same name, written
/// in the user's configuration, does.
#[tokio::test]
async fn a_name_the_plugin_chose_does_not_reach_this_machine() {
    let sandbox = Sandbox::new().await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // No option of the user's names localhost: the plugin chose it.
    let own = [("own_port", port.to_string())];

    let http = sandbox.hostile("http", &own, Limits::default());
    let err = http.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(
            "when it tried to send an HTTP request to localhost: 'localhost' resolves to "
        ) && message.contains(
            "a loopback address (this machine), and a host name the plugin chose (not one in your \
             configuration) never reaches loopback, private or link-local addresses; if you trust \
             the plugin to reach it, add allow_hosts = \"localhost\" to [remotes.hostile-http]"
        ),
        "{message}"
    );

    let tcp = sandbox.hostile("connect-name", &own, Limits::default());
    let err = tcp.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(
        err.to_string().contains(
            "when it tried to look up the address of localhost: 'localhost' resolves to "
        ),
        "{err}"
    );
    // Nor does an address it writes itself get past the check.
    let direct = sandbox.hostile(
        "connect",
        &[
            ("own_port", port.to_string()),
            ("target", format!("127.0.0.1:{port}")),
        ],
        Limits::default(),
    );
    let err = direct.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(
        listener.accept().is_err(),
        "the listener must see no connection"
    );
    sandbox.assert_survived(&http).await;

    // Named by the user, the same host is reached, over HTTP and TCP.
    let mine = sandbox.hostile(
        "http",
        &[
            ("url", format!("http://localhost:{port}")),
            ("target", format!("localhost:{port}")),
        ],
        Limits::default(),
    );
    let answered = answer_once(listener.try_clone().unwrap());
    assert_eq!(
        mine.stat("x").await.unwrap_err().to_string(),
        format!("stat hostile-http:x: GET http://localhost:{port}/: RESPONDED")
    );
    assert!(answered.join().unwrap());
    let mine = sandbox.hostile(
        "connect-name",
        &[
            ("host", "localhost".to_owned()),
            ("port", port.to_string()),
            ("target", format!("localhost:{port}")),
        ],
        Limits::default(),
    );
    let answered = answer_once(listener);
    assert_eq!(
        mine.stat("x").await.unwrap_err().to_string(),
        format!("stat hostile-connect-name:x: connect to localhost:{port}: CONNECTED")
    );
    assert!(answered.join().unwrap());
}

/// The number of descriptors this process has open.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Sockets are descriptors of the process, which every remote shares: an
/// instance holds at most `max_sockets` of them.
#[tokio::test]
async fn an_instance_holds_a_bounded_number_of_sockets() {
    let sandbox = Sandbox::new().await;
    let before = open_descriptors();
    let remote = sandbox.hostile("sockets", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert_eq!(
        err.to_string(),
        "stat hostile-sockets:x: plugin 'hostile' (remote 'hostile-sockets') holds 16 TCP sockets, \
         the most an instance may (max_sockets = 16); if it really needs more at once, raise \
         max_sockets in the remote's configuration (the plugin then failed with: opened 16 \
         sockets, then: new-socket-limit)"
    );
    // The bound is the remote's to set.
    let two = sandbox.hostile(
        "sockets",
        &[],
        Limits {
            max_sockets: 2,
            ..Limits::default()
        },
    );
    assert!(two
        .stat("x")
        .await
        .unwrap_err()
        .to_string()
        .contains("opened 2 sockets, then: new-socket-limit"));
    sandbox.assert_survived(&remote).await;
    // Other tests run beside this one, so allow for their descriptors.
    let after = open_descriptors();
    eprintln!("open descriptors: {before} before, {after} after");
    assert!(
        after < before + 64,
        "{before} descriptors before, {after} after"
    );
}

/// The peak resident memory of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// Memory the host holds for a plugin (header fields here) counts against
/// a bound of its own, which stops the call, and the process's memory
/// stays bounded: this plugin would hold 2 GiB of headers.
#[tokio::test]
async fn host_memory_held_for_a_plugin_is_bounded() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("hoard", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::LimitExceeded, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(
            "stat hostile-hoard:x: the plugin went past its host memory limit of 64 MiB (the host \
             held "
        ) && message.ends_with(
            " MiB for the plugin (header fields, request bodies, handles)); if it really needs \
             more, raise host_memory_limit_mib in the remote's configuration"
        ),
        "{message}"
    );
    let peak = peak_rss();
    eprintln!(
        "{message}\npeak RSS of the test process: {} MiB",
        peak >> 20
    );
    assert!(peak < 1 << 30, "peak RSS {} MiB", peak >> 20);
    sandbox.assert_survived(&remote).await;
}

/// Key derivation the host does for a plugin (`kdf`) is bounded by the
/// remote's host memory limit: a scrypt needing 1 GiB is refused before
/// any memory is taken, naming the bound and the option that raises it.
#[tokio::test]
async fn key_derivation_past_the_host_memory_limit_is_refused() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("scrypt", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(
        err.to_string().ends_with(
            "the host refused scrypt: it needs 1024 MiB, past the remote's host memory limit \
             of 64 MiB; raise host_memory_limit_mib in the remote's configuration"
        ),
        "{err}"
    );
    let peak = peak_rss();
    assert!(peak < 512 << 20, "peak RSS {} MiB", peak >> 20);
    sandbox.assert_survived(&remote).await;
}

/// A remote's directory is not reached through a symbolic link: a plugin
/// can make one inside its own root (pointing anywhere), and a remote
/// whose root lies inside that root would open where it points.
#[tokio::test]
async fn a_remote_root_is_not_reached_through_a_symlink() {
    let sandbox = Sandbox::new().await;
    let outside = sandbox.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("private.txt"), "not for plugins").unwrap();
    // What a plugin with `media` as its root could leave there.
    let link = sandbox.dir.path().join("media").join("escape");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let fs = runtime().load_bundled("fs").await.unwrap();
    for root in [link.clone(), link.join("deeper")] {
        let err = Remote::new(
            "inner",
            fs.clone(),
            vec![("root".into(), root.display().to_string())],
            Limits::default(),
        )
        .map(drop)
        .unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::InvalidConfig, "{err}");
        assert!(
            err.to_string().contains(&format!(
                "option 'root': {} is a symbolic link (to {}), and a remote's directory is not \
                 reached through a link, which a plugin could have made",
                link.display(),
                outside.display()
            )),
            "{err}"
        );
    }
    assert_eq!(entries(&outside), ["private.txt"]);
    sandbox.assert_contained().await;
}

/// A crash while the store opens shows what the plugin printed, as a
/// crash in any later call does.
#[tokio::test]
async fn a_crash_while_opening_shows_what_the_plugin_printed() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("panic-on-open", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed, "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with("open on remote 'hostile-panic-on-open': the plugin crashed"),
        "{message}"
    );
    assert!(message.contains("; it printed: "), "{message}");
    assert!(
        message.contains("hostile: the configuration looks wrong to me"),
        "{message}"
    );
    assert!(
        message.ends_with("hostile plugin panicked while opening"),
        "{message}"
    );
}

/// A plugin's standard error is kept as its *last* 64 KiB, so the panic
/// message at its end is what the user is shown, escaped and capped like
/// any plugin message, however much it printed before.
#[tokio::test]
async fn a_crash_after_much_output_shows_the_panic_message() {
    let sandbox = Sandbox::new().await;
    let remote = sandbox.hostile("noisy-panic", &[], Limits::default());
    let err = remote.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PluginFailed, "{err}");
    let message = err.to_string();
    assert!(
        message.ends_with("hostile plugin panicked after 1 MiB of noise"),
        "{message}"
    );
    assert!(message.contains("; it printed: "), "{message}");
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(message.len() < 4096 + 512, "{} bytes", message.len());
    sandbox.assert_survived(&remote).await;
}
