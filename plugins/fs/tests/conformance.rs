//! The fs plugin (as built into the host) passes the whole conformance
//! suite on a scratch directory.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = wharf::Runtime::new().unwrap();
    let plugin = runtime.load_bundled("fs").await.unwrap();
    let root = dir.path().display().to_string();
    let mut remote = wharf::Remote::new(
        "fs-conformance",
        plugin,
        vec![("root".into(), root)],
        wharf::Limits::default(),
    )
    .unwrap();
    wharf_conformance::assert_conforms(&mut remote).await;
}
