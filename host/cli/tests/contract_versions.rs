//! The contract's compatibility promise (wit/storage.wit, "Versions"): a
//! host of 0.x loads plugins built for any 0.y with y <= x and calls only
//! what their version has; a plugin built for a newer minor is refused with
//! a message that names both versions and what to do.

mod common;

use common::Scratch;
use predicates::prelude::*;
use wharf::{ErrorKind, Limits, Remote, Runtime, CONTRACT_VERSION};

fn runtime() -> Runtime {
    Runtime::builder()
        .cache_dir(common::cache_dir())
        .build()
        .unwrap()
}

/// A remote on the fixture at `path`, built for `contract`, holding the
/// objects `a`, `b` and `keep`.
async fn old_remote(path: &str, contract: &str, name: &str) -> Remote {
    let plugin = runtime().load_file(path).await.unwrap();
    assert_eq!(plugin.contract_version(), contract);
    assert_eq!(plugin.info().name, name);
    let remote = Remote::new("old", plugin, Vec::new(), Limits::default()).unwrap();
    for key in ["a", "b", "keep"] {
        remote
            .put(key, &mut key.as_bytes(), Default::default())
            .await
            .unwrap();
    }
    remote
}

#[test]
fn this_host_speaks_contract_0_3() {
    assert_eq!(CONTRACT_VERSION, "0.3.0");
}

#[tokio::test]
async fn a_plugin_built_for_the_previous_minor_loads_and_works() {
    let remote = old_remote(wharf_fixtures::CONTRACT_0_1, "0.1.0", "memory-0-1").await;
    // delete-many came in 0.2: the host deletes one key at a time for it.
    let keys: Vec<String> = ["a", "b", "never-written", "bad//key"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    let results = remote.delete_many(&keys).await;
    assert!(results[..3].iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(
        *results[3].as_ref().unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    for key in ["a", "b"] {
        assert_eq!(
            *remote.stat(key).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    assert_eq!(remote.stat("keep").await.unwrap().size, 4);
}

/// A plugin built for 0.2 gets delete-many, declares nothing about its
/// etags or hashes (so a transfer checks its copies by size, and says so),
/// and has no other names for its options.
#[tokio::test]
async fn a_plugin_built_for_0_2_loads_deletes_many_and_is_checked_by_size() {
    let remote = old_remote(wharf_fixtures::CONTRACT_0_2, "0.2.0", "memory-0-2").await;
    assert!(remote.plugin().aliases().is_empty());
    let keys: Vec<String> = ["a", "b", "never-written"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    assert!(remote.delete_many(&keys).await.iter().all(|r| r.is_ok()));
    assert_eq!(remote.stat("keep").await.unwrap().size, 4);
    assert!(remote.describe().await.unwrap().is_none());
    assert_eq!(
        *remote.hash("keep", "md5").await.unwrap_err().kind(),
        ErrorKind::Unsupported
    );
}

#[test]
fn a_transfer_into_a_0_2_plugin_says_its_copies_are_checked_by_size() {
    let s = Scratch::new();
    s.write_config(&format!(
        "[remotes.old]\nplugin = \"{}\"\n",
        wharf_fixtures::CONTRACT_0_2
    ));
    s.file("a.txt", b"old plugin");
    let out = s
        .wharf()
        .args(["cp", "-v", "a.txt", "old:a.txt"])
        .assert()
        .success();
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        err.contains(
            "note: remote 'old' runs plugin 'memory-0-2', built for contract 0.2.0, which \
             declares nothing about its etags: its objects are checked by size only"
        ),
        "{err}"
    );
    assert!(err.contains("verified by size"), "{err}");
}

#[tokio::test]
async fn a_current_plugin_deletes_many_keys_in_one_call() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = runtime();
    let plugin = runtime.load_bundled("fs").await.unwrap();
    assert_eq!(plugin.contract_version(), "0.3.0");
    let remote = Remote::new(
        "media",
        plugin,
        vec![("root".into(), dir.path().display().to_string())],
        Limits::default(),
    )
    .unwrap();
    let keys: Vec<String> = (0..2500).map(|i| format!("k/{i:04}")).collect();
    for key in keys.iter().step_by(100) {
        remote
            .put(key, &mut &b"x"[..], Default::default())
            .await
            .unwrap();
    }
    // 2,500 keys go in calls of at most DELETE_BATCH.
    let results = remote.delete_many(&keys).await;
    assert_eq!(results.len(), 2500);
    assert!(results.iter().all(|r| r.is_ok()));
    assert!(std::fs::read_dir(dir.path().join("k"))
        .map(|entries| entries.count() == 0)
        .unwrap_or(true));
}

#[test]
fn the_conformance_suite_passes_a_plugin_of_the_previous_minor_and_says_what_it_lacks() {
    let s = Scratch::new();
    let out = s
        .wharf()
        .args(["conformance", wharf_fixtures::CONTRACT_0_1])
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        table.contains(
            "not applicable: the plugin was built for a contract before 0.2.0, which brought \
             delete-many"
        ),
        "{table}"
    );
    assert!(table.contains(" 0 failed"), "{table}");
    s.wharf()
        .args(["plugins", "inspect", wharf_fixtures::CONTRACT_0_1])
        .assert()
        .success()
        .stdout(predicate::str::contains("wharf:storage@0.1.0"));
}

#[tokio::test]
async fn a_plugin_built_for_a_newer_minor_is_refused_with_what_to_do() {
    let runtime = runtime();
    let err = runtime
        .load_file(wharf_fixtures::CONTRACT_FUTURE)
        .await
        .err()
        .unwrap();
    assert_eq!(*err.kind(), ErrorKind::InvalidPlugin);
    assert_eq!(
        err.to_string(),
        format!(
            "plugin file {} was built for wharf:storage@0.4.0, a newer contract than this host's \
             0.3.0; upgrade Wharf, or use a build of the plugin for contract 0.1 to 0.3.0",
            wharf_fixtures::CONTRACT_FUTURE
        )
    );
    // The runtime goes on loading what it can.
    runtime.load_bundled("fs").await.unwrap();
    let s = Scratch::new();
    s.wharf()
        .args(["plugins", "inspect", wharf_fixtures::CONTRACT_FUTURE])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "a newer contract than this host's 0.3.0; upgrade Wharf",
        ));
}
