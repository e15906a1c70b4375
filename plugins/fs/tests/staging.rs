//! The fs plugin stages a write in an unnamed file in its key's directory
//! (the host's `wharf:storage/staging`), making that directory when it is
//! not there: nothing is listed until the write is complete, and nothing
//! but the object is left. The staging directory of earlier versions goes
//! once it is empty.

fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                names.push(format!("{name}/"));
                pending.push(path);
            } else {
                names.push(name);
            }
        }
    }
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stage_unnamed_in_their_keys_directory_and_leave_only_the_object() {
    let dir = tempfile::tempdir().unwrap();
    // What an earlier version left: its staging directory, empty.
    std::fs::create_dir(dir.path().join(".wharf-tmp")).unwrap();
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
    let mut writer = remote
        .open_write("deeper/still/second", Default::default())
        .await
        .unwrap();
    writer.write(b"two!").await.unwrap();
    assert_eq!(
        tree(dir.path()),
        ["deeper/", "deeper/still/", "first"],
        "the write's directory is made, and its file has no name until it is complete"
    );
    let meta = writer.finish().await.unwrap();
    assert_eq!(meta.size, 4);
    assert!(meta.last_modified.is_some());
    assert_eq!(
        tree(dir.path()),
        ["deeper/", "deeper/still/", "deeper/still/second", "first"],
        "nothing but the objects, and the old staging directory is gone"
    );
    assert_eq!(
        std::fs::read(dir.path().join("deeper/still/second")).unwrap(),
        b"two!"
    );
}
