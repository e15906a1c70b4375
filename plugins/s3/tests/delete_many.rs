//! Deleting many keys: one DeleteObjects request for each delete-many
//! call, against a real server, with a proxy in front that records every
//! request line.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use wharf::{Limits, Remote, Runtime};
use wharf_test_servers::S3sFs;

/// Forwards each request to `upstream` on a connection of its own (asking
/// the server to close it after the answer) and keeps its request line.
struct RecordingProxy {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl RecordingProxy {
    fn start(upstream: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let recorded = recorded.clone();
                std::thread::spawn(move || serve(client, upstream, &recorded));
            }
        });
        RecordingProxy { port, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// Relays the requests of one client connection, one at a time.
fn serve(mut client: TcpStream, upstream: u16, recorded: &Mutex<Vec<String>>) {
    loop {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if client.read(&mut byte).unwrap_or(0) != 1 {
                return;
            }
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let request_line = text.lines().next().unwrap_or_default().to_owned();
        recorded.lock().unwrap().push(request_line.clone());
        let length: u64 = text
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = Vec::new();
        (&mut client).take(length).read_to_end(&mut body).unwrap();
        let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
            return;
        };
        // The head with `Connection: close` added after the request line,
        // so that the answer ends where the server closes.
        let rest = &text[request_line.len() + 2..];
        let forwarded = format!("{request_line}\r\nConnection: close\r\n{rest}");
        server.write_all(forwarded.as_bytes()).unwrap();
        server.write_all(&body).unwrap();
        let mut answer = Vec::new();
        let _ = server.read_to_end(&mut answer);
        if client.write_all(&answer).is_err() {
            return;
        }
    }
}

async fn remote_via(server: &S3sFs, port: u16) -> Remote {
    let plugin = Runtime::new().unwrap().load_bundled("s3").await.unwrap();
    Remote::new(
        "recorded",
        plugin,
        server.options_via(port),
        Limits::default(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_keys_goes_in_one_delete_objects_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    let bucket = dir.path().join(&server.bucket);
    // s3s-fs keeps each object as a file under the bucket's folder, so
    // the objects are made there, without requests through the proxy.
    // 250 keys, and three the plugin treats apart: 253 in calls of at most
    // DELETE_BATCH (100) keys, one DeleteObjects request each.
    let mut keys: Vec<String> = (0..250).map(|i| format!("many/{i:03}.txt")).collect();
    keys.push("many/xml <&> \"quoted\" 'apostrophe'.txt".into());
    keys.push("many/ctl\u{1}char.txt".into());
    std::fs::create_dir_all(bucket.join("many")).unwrap();
    for key in &keys {
        std::fs::write(bucket.join(key), key.as_bytes()).unwrap();
    }
    keys.push("many/never-was.txt".into());

    let proxy = RecordingProxy::start(server.server.port);
    let remote = remote_via(&server, proxy.port).await;
    let results = remote.delete_many(&keys).await;

    assert_eq!(results.len(), keys.len());
    for (key, result) in keys.iter().zip(&results) {
        assert!(result.is_ok(), "{key:?}: {result:?}");
        assert!(!bucket.join(key).exists(), "{key:?} is still there");
    }
    let requests = proxy.requests();
    let batches: Vec<&String> = requests
        .iter()
        .filter(|line| line.starts_with("POST /wharf-test?delete "))
        .collect();
    assert_eq!(
        batches.len(),
        keys.len().div_ceil(wharf::DELETE_BATCH),
        "one DeleteObjects per call: {requests:#?}"
    );
    // XML cannot carry a control character: that key alone went on its own.
    let singles: Vec<&String> = requests
        .iter()
        .filter(|line| line.starts_with("DELETE "))
        .collect();
    assert_eq!(singles.len(), 1, "{requests:#?}");
    assert!(singles[0].contains("ctl%01char.txt"), "{}", singles[0]);
    assert_eq!(requests.len(), batches.len() + 1, "{requests:#?}");
}
