//! A server that goes away in the middle of an upload: the put fails with a
//! clear error, and once the server is back there is no object under the
//! key (the partial upload only ever had its temporary name). One that goes
//! away in the middle of a download: the read fails, it does not end short.

use wharf::{ErrorKind, Limits, Remote, Runtime, WriteOptions};
use wharf_test_servers::FtpServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_upload_leaves_no_object_under_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("served");
    let mut server = FtpServer::rclone(&root);
    let port = server.server.port;
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let mut options = server.options();
    options.push(("timeout".into(), "5".into()));
    let remote = Remote::new("box", plugin, options, Limits::default()).unwrap();

    let mut writer = remote
        .open_write("backups/big.bin", WriteOptions::default())
        .await
        .unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..4 {
        writer.write(&chunk).await.unwrap();
    }
    server.server.stop();
    let mut failed = None;
    for _ in 0..64 {
        if let Err(e) = writer.write(&chunk).await {
            failed = Some(e);
            break;
        }
    }
    let err = match failed {
        Some(err) => err,
        // Everything fitted in the socket buffers: finishing must fail.
        None => writer.finish().await.unwrap_err(),
    };
    assert_eq!(*err.kind(), ErrorKind::Unavailable, "{err}");
    // The host writes the data connection the plugin handed over, so the
    // failure is the host's to tell, on the write it was.
    let text = err.to_string();
    assert!(
        text.starts_with("write box:backups/big.bin: ") && text.contains("connection"),
        "{text}"
    );

    let _server = FtpServer::rclone_on(&root, port);
    let err = remote.stat("backups/big.bin").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::NotFound, "{err}");
    assert!(
        !root.join("backups/big.bin").exists(),
        "a partial file is under the key"
    );
    // Listings never show the temporary file the upload left.
    let mut lister = remote.list("", None).await.unwrap();
    let page = lister.next_page().await.unwrap();
    assert!(page.is_empty(), "listed: {page:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_dropped_while_idle_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let server = FtpServer::pyftpdlib_with(dir.path(), None, 1);
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let remote = Remote::new("idle", plugin, server.options(), Limits::default()).unwrap();
    remote
        .put("a.txt", &b"first"[..], WriteOptions::default())
        .await
        .unwrap();
    // The server drops the pooled connection after 1 s of silence; the
    // next operations find out and carry on over a new one.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(remote.stat("a.txt").await.unwrap().size, 5);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    remote
        .put("b.txt", &b"second"[..], WriteOptions::default())
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mut back = Vec::new();
    remote.get("b.txt", None, &mut back).await.unwrap();
    assert_eq!(back, b"second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_download_fails_the_read_instead_of_ending_it_short() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("served");
    std::fs::create_dir_all(&root).unwrap();
    let size = 64usize << 20;
    std::fs::write(root.join("big.bin"), vec![9u8; size]).unwrap();
    let mut server = FtpServer::rclone(&root);
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let mut options = server.options();
    options.push(("timeout".into(), "5".into()));
    let remote = Remote::new("box", plugin, options, Limits::default()).unwrap();

    // A whole read: the plugin hands its data connection to the host.
    let mut reader = remote.open_read("big.bin", None).await.unwrap();
    let mut received = reader.read().await.unwrap().len();
    assert!(received > 0);
    server.server.stop();
    let err = loop {
        match reader.read().await {
            Ok(chunk) if chunk.is_empty() => {
                panic!("the read ended after {received} of {size} bytes without an error")
            }
            Ok(chunk) => received += chunk.len(),
            Err(e) => break e,
        }
    };
    assert!(received < size, "all {size} bytes came before the stop");
    assert_eq!(*err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().starts_with("read box:big.bin: "), "{err}");
}
