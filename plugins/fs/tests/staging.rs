//! The fs plugin makes its staging directory once per store, not on every
//! write, and makes it again when something removed it in between.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_on_after_the_staging_directory_was_removed() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = wharf::Runtime::new().unwrap();
    let plugin = runtime.load_bundled("fs").await.unwrap();
    let remote = wharf::Remote::new(
        "fs-staging",
        plugin,
        vec![("root".into(), dir.path().display().to_string())],
        wharf::Limits::default(),
    )
    .unwrap();
    remote
        .put("first", &mut b"one".as_slice(), Default::default())
        .await
        .unwrap();
    let staging = dir.path().join(".wharf-tmp");
    assert!(staging.is_dir());
    std::fs::remove_dir(&staging).unwrap();
    let meta = remote
        .put("deeper/second", &mut b"two!".as_slice(), Default::default())
        .await
        .unwrap();
    assert_eq!(meta.size, 4);
    assert!(meta.last_modified.is_some());
    assert_eq!(
        std::fs::read(dir.path().join("deeper/second")).unwrap(),
        b"two!"
    );
    assert!(staging.is_dir());
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 0);
}
