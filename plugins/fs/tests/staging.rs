//! The fs plugin stages a write beside its key, making the key's directory
//! when it is not there, and leaves nothing but the object; the staging
//! directory of earlier versions goes once it is empty.

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
async fn writes_stage_beside_their_key_and_leave_only_the_object() {
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
    let staged = tree(dir.path());
    assert_eq!(staged.len(), 4, "{staged:?}");
    assert!(
        staged[2].starts_with("deeper/still/.wharf-tmp-") && staged[2].ends_with(".part"),
        "the write is staged in its key's directory, which it made: {staged:?}"
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
