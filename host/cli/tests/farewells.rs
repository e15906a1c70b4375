//! The contract's promise to plugins that never see a resource dropped
//! (wit/storage.wit, `reader.close`, `writer`, `lister.close`): the host
//! calls `abort` on every writer it does not finish and `close` on every
//! reader and lister it stops before the end, and not on those done with.
//! The fixture ignores drops and counts those calls.

mod common;

use std::collections::BTreeMap;

use wharf::{Limits, Remote, Runtime};

async fn farewell_remote() -> Remote {
    let runtime = Runtime::builder()
        .cache_dir(common::cache_dir())
        .build()
        .unwrap();
    let plugin = runtime.load_file(wharf_fixtures::FAREWELL).await.unwrap();
    Remote::new("farewell", plugin, Vec::new(), Limits::default()).unwrap()
}

/// What the plugin has been told so far (the host first settles what its
/// callers let go of).
async fn told(remote: &Remote) -> BTreeMap<String, u64> {
    remote.release_abandoned().await;
    let meta = remote.stat("farewells").await.unwrap();
    meta.metadata
        .into_iter()
        .map(|(name, n)| (name, n.parse().unwrap()))
        .collect()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[tokio::test]
async fn readers_stopped_early_are_closed_and_readers_at_the_end_are_not() {
    let remote = farewell_remote().await;
    let three_mib = vec![7u8; 3 << 20];
    remote
        .put("big", &mut three_mib.as_slice(), Default::default())
        .await
        .unwrap();

    let mut reader = remote.open_read("big", None).await.unwrap();
    while !reader.read().await.unwrap().is_empty() {}
    drop(reader);
    let after_end = told(&remote).await;
    assert_eq!(after_end["reader-closes"], 0, "{after_end:?}");
    assert_eq!(after_end["reader-drops"], 1, "{after_end:?}");

    let mut reader = remote.open_read("big", None).await.unwrap();
    assert!(!reader.read().await.unwrap().is_empty());
    drop(reader);
    let dropped_early = told(&remote).await;
    assert_eq!(dropped_early["reader-closes"], 1, "{dropped_early:?}");
    assert_eq!(dropped_early["reader-drops"], 2, "{dropped_early:?}");

    let mut reader = remote.open_read("big", None).await.unwrap();
    assert!(!reader.read().await.unwrap().is_empty());
    reader.close().await;
    let closed_early = told(&remote).await;
    assert_eq!(closed_early["reader-closes"], 2, "{closed_early:?}");
    assert_eq!(closed_early["reader-drops"], 3, "{closed_early:?}");
}

#[tokio::test]
async fn writers_not_finished_are_aborted_once_and_finished_ones_never() {
    let remote = farewell_remote().await;
    remote
        .put("done", &mut b"finished".as_slice(), Default::default())
        .await
        .unwrap();
    assert_eq!(
        told(&remote).await,
        counts(&[
            ("lister-closes", 0),
            ("lister-drops", 0),
            ("reader-closes", 0),
            ("reader-drops", 0),
            ("writer-aborts", 0),
            ("writer-drops", 1),
            ("writer-finishes", 1),
        ])
    );

    let mut writer = remote
        .open_write("dropped", Default::default())
        .await
        .unwrap();
    writer.write(b"half an object").await.unwrap();
    drop(writer);
    let dropped = told(&remote).await;
    assert_eq!(dropped["writer-aborts"], 1, "{dropped:?}");
    assert_eq!(dropped["writer-drops"], 2, "{dropped:?}");

    let mut writer = remote
        .open_write("aborted", Default::default())
        .await
        .unwrap();
    writer.write(b"half an object").await.unwrap();
    writer.abort().await.unwrap();
    let aborted = told(&remote).await;
    assert_eq!(aborted["writer-aborts"], 2, "{aborted:?}");
    assert_eq!(aborted["writer-drops"], 3, "{aborted:?}");
    assert!(remote.stat("dropped").await.is_err());
    assert!(remote.stat("aborted").await.is_err());
}

#[tokio::test]
async fn listings_stopped_early_are_closed_and_listings_at_the_end_are_not() {
    let remote = farewell_remote().await;
    // One more than a page, so a listing can stop after its first page.
    for i in 0..=wharf::LIST_PAGE {
        remote
            .put(
                &format!("k{i:05}"),
                &mut b"x".as_slice(),
                Default::default(),
            )
            .await
            .unwrap();
    }
    let mut lister = remote.list("k", None).await.unwrap();
    while !lister.next_page().await.unwrap().is_empty() {}
    drop(lister);
    let after_end = told(&remote).await;
    assert_eq!(after_end["lister-closes"], 0, "{after_end:?}");
    assert_eq!(after_end["lister-drops"], 1, "{after_end:?}");

    let mut lister = remote.list("k", None).await.unwrap();
    assert_eq!(
        lister.next_page().await.unwrap().len(),
        wharf::LIST_PAGE as usize
    );
    drop(lister);
    let stopped = told(&remote).await;
    assert_eq!(stopped["lister-closes"], 1, "{stopped:?}");
    assert_eq!(stopped["lister-drops"], 2, "{stopped:?}");
}
