//! The Dropbox plugin's own paths against the fake: token renewal, rate
//! limits and server errors, upload sessions and their content hash.

use std::time::Duration;

use sha2::{Digest, Sha256};
use wharf::{ErrorKind, Limits, Remote, Runtime, TlsTrust, WriteOptions};
use wharf_test_servers::DropboxFake;

async fn remote(fake: &DropboxFake, extra: &[(&str, &str)]) -> Remote {
    let runtime = Runtime::new().unwrap();
    let plugin = runtime.load_bundled("dropbox").await.unwrap();
    let mut options = fake.options();
    for (key, value) in extra {
        options.retain(|(k, _)| k != key);
        options.push((key.to_string(), value.to_string()));
    }
    Remote::new("dropbox-test", plugin, options, Limits::default())
        .unwrap()
        .with_tls_trust(TlsTrust {
            ca_files: vec![fake.certs.ca.clone()],
            skip_verify: false,
        })
}

async fn put(remote: &Remote, key: &str, data: &[u8]) -> wharf::ObjectMeta {
    remote
        .put(key, data, WriteOptions::default())
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e}"))
}

async fn contents(remote: &Remote, key: &str) -> Vec<u8> {
    let mut out = Vec::new();
    remote.get(key, None, &mut out).await.unwrap();
    out
}

/// Dropbox's content hash, computed here independently of the plugin.
fn content_hash(data: &[u8]) -> String {
    let mut overall = Sha256::new();
    for block in data.chunks(4 << 20) {
        overall.update(Sha256::digest(block));
    }
    hex(&overall.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_renewed_and_the_call_retried() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    put(&remote, "a.txt", b"first").await;
    assert_eq!(fake.tokens_issued(), 1);
    fake.expire_tokens();
    let meta = remote.stat("a.txt").await.unwrap();
    assert_eq!(meta.size, 5);
    assert_eq!(fake.tokens_issued(), 2, "{}", fake.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_token_says_how_to_get_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[("refresh_token", "revoked")]).await;
    let error = remote.stat("a.txt").await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::PermissionDenied, "{error}");
    assert!(
        error.to_string().contains("wharf authorize dropbox"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_are_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    put(&remote, "a.txt", b"data").await;
    fake.fail("/2/files/get_metadata", 2, 429, "too_many_requests", 1);
    let before = fake.calls("/2/files/get_metadata");
    assert_eq!(remote.stat("a.txt").await.unwrap().size, 4);
    assert_eq!(fake.calls("/2/files/get_metadata") - before, 3);

    // Too many writes at once: the upload is tried again.
    fake.fail("/2/files/upload", 1, 429, "too_many_write_operations", 1);
    put(&remote, "b.txt", b"written").await;
    assert_eq!(contents(&remote, "b.txt").await, b"written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_retry_after_is_passed_on() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    fake.fail("/2/files/get_metadata", 1, 429, "too_many_requests", 300);
    let error = remote.stat("a.txt").await.unwrap_err();
    assert_eq!(
        error.kind(),
        &ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(300))
        },
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    put(&remote, "dir/a.txt", b"data").await;
    fake.fail("/2/files/list_folder", 2, 503, "", 0);
    let mut lister = remote.list("dir/", None).await.unwrap();
    let page = lister.next_page().await.unwrap();
    assert_eq!(page.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_go_through_an_upload_session_checked_by_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let chunk = (4 << 20).to_string();
    let remote = remote(&fake, &[("chunk_size", &chunk)]).await;
    let data = pattern((10 << 20) + 5);
    let meta = put(&remote, "big.bin", &data).await;
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(meta.etag.as_deref(), Some(content_hash(&data).as_str()));
    for (endpoint, count) in [
        ("/2/files/upload_session/start", 1),
        ("/2/files/upload_session/append_v2", 1),
        ("/2/files/upload_session/finish", 1),
        ("/2/files/upload", 0),
    ] {
        assert_eq!(fake.calls(endpoint), count, "{endpoint}: {}", fake.stats());
    }
    assert_eq!(contents(&remote, "big.bin").await, data);

    // Exactly one chunk is still one call.
    put(&remote, "one-chunk.bin", &data[..4 << 20]).await;
    assert_eq!(fake.calls("/2/files/upload"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_upload_session_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let chunk = (4 << 20).to_string();
    let remote = remote(&fake, &[("chunk_size", &chunk)]).await;
    let data = pattern(9 << 20);
    let mut writer = remote
        .open_write("aborted.bin", WriteOptions::default())
        .await
        .unwrap();
    for piece in data.chunks(1 << 20) {
        writer.write(piece).await.unwrap();
    }
    writer.abort().await.unwrap();
    assert_eq!(fake.calls("/2/files/upload_session/append_v2"), 1);
    let error = remote.stat("aborted.bin").await.unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::NotFound, "{error}");
    assert_eq!(fake.calls("/2/files/upload_session/finish"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropbox_paths_are_case_insensitive_and_case_preserving() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    put(&remote, "Photos/Summer.JPG", b"sun").await;
    assert_eq!(contents(&remote, "photos/summer.jpg").await, b"sun");
    let mut lister = remote.list("", None).await.unwrap();
    let page = lister.next_page().await.unwrap();
    let keys: Vec<String> = page
        .iter()
        .filter_map(|entry| match entry {
            wharf::Entry::Object(meta) => Some(meta.key.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(keys, ["Photos/Summer.JPG"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_keys_are_deleted_in_one_batch_job() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let remote = remote(&fake, &[]).await;
    let mut keys: Vec<String> = (0..40).map(|i| format!("many/{i:02}.txt")).collect();
    for key in &keys {
        put(&remote, key, key.as_bytes()).await;
    }
    // A folder at a key is not an object there: it and what it holds stay.
    put(&remote, "many/folder/kept.txt", b"kept").await;
    keys.push("many/folder".into());
    keys.push("many/never-was.txt".into());
    let launched = fake.calls("/2/files/delete_batch");
    let single = fake.calls("/2/files/delete_v2");

    let results = remote.delete_many(&keys).await;
    for (key, result) in keys.iter().zip(&results) {
        assert!(result.is_ok(), "{key}: {result:?}");
    }
    assert_eq!(fake.calls("/2/files/delete_batch") - launched, 1);
    assert_eq!(fake.calls("/2/files/delete_v2") - single, 0);
    // The fake answers in_progress to a job's first check: the plugin polled.
    assert_eq!(fake.calls("/2/files/delete_batch/check"), 2);
    for key in &keys[..40] {
        let error = remote.stat(key).await.unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::NotFound, "{key}: {error}");
    }
    assert_eq!(contents(&remote, "many/folder/kept.txt").await, b"kept");
}
