//! The S3 plugin (as built into the host) passes the conformance suite
//! against a real S3 server that verifies SigV4, started by the test.

use wharf::{ErrorKind, Limits, Remote, Runtime};
use wharf_conformance::Exception;
use wharf_test_servers::{Rclone, S3sFs, SeaweedFs, S3_ACCESS_KEY, S3_SECRET_KEY};

/// s3s-fs keeps each object as a file, so it cannot hold a key that is
/// also a prefix, and it answers InternalError where a file path cannot
/// represent the request. Each of these passes on object stores proper.
const S3S_FS_EXCEPTIONS: &[Exception] = &[
    Exception {
        case: "keys/30 levels deep",
        reason: "s3s-fs answers InternalError for this key",
    },
    Exception {
        case: "keys/a 200-byte segment",
        reason: "s3s-fs's staging file name for it exceeds 255 bytes",
    },
    Exception {
        case: "keys/the maximum length, 1024 bytes",
        reason: "s3s-fs answers InternalError for this key",
    },
    Exception {
        case: "ranges/suffix longer than the object",
        reason: "s3s-fs answers InternalError where S3 returns the whole object",
    },
    Exception {
        case: "ranges/of an empty object",
        reason: "s3s-fs answers InternalError for any range of an empty object",
    },
    Exception {
        case: "delete/keeps keys below it",
        reason: "s3s-fs answers InternalError when the key is a directory",
    },
    Exception {
        case: "list/byte order",
        reason: "s3s-fs cannot store 'a' and 'a/b' (files)",
    },
    Exception {
        case: "errors/a prefix is not an object",
        reason: "s3s-fs answers InternalError to HEAD of a directory",
    },
    Exception {
        case: "layout/a key can also be a prefix",
        reason: "s3s-fs cannot store 'x' and 'x/y' (files)",
    },
    // s3s-fs 0.14.1's put_object checks `object_path.exists()` for
    // If-None-Match: * and then writes, in two steps: PUTs that arrive
    // together all find the key free. It passed here only while the six
    // writers' calls happened to queue on one plugin instance; on their
    // own instances, as a transfer's writers are, all six win. SeaweedFS
    // passes the case below.
    Exception {
        case: "create-only/of six racing writers exactly one wins",
        reason: "s3s-fs checks If-None-Match before it writes, not atomically",
    },
];

/// SeaweedFS turns a backslash in a key into a slash.
const SEAWEEDFS_EXCEPTIONS: &[Exception] = &[Exception {
    case: "keys/quotes and backslash",
    reason: "SeaweedFS stores '\\' in keys as '/'",
}];

async fn remote(options: Vec<(String, String)>) -> Remote {
    let runtime = Runtime::new().unwrap();
    let plugin = runtime.load_bundled("s3").await.unwrap();
    Remote::new("s3-test", plugin, options, Limits::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_passes_the_conformance_suite_on_s3s_fs() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    let mut remote = remote(server.options()).await;
    wharf_conformance::assert_conforms_except(&mut remote, S3S_FS_EXCEPTIONS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_passes_the_conformance_suite_on_seaweedfs() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(dir.path());
    let mut remote = remote(server.options()).await;
    wharf_conformance::assert_conforms_except(&mut remote, SEAWEEDFS_EXCEPTIONS).await;
    // The suite aborted and dropped writes of several MiB (multipart
    // uploads): the server holds no unfinished upload of them, as rclone,
    // asking it through the S3 API, sees.
    remote.release_abandoned().await;
    let rclone = Rclone::with_config(&format!(
        "[seaweed]\ntype = s3\nprovider = SeaweedFS\naccess_key_id = {S3_ACCESS_KEY}\n\
         secret_access_key = {S3_SECRET_KEY}\nendpoint = {}\n",
        server.endpoint
    ));
    let uploads = rclone.run(&[
        "backend",
        "list-multipart-uploads",
        &format!("seaweed:{}", server.bucket),
    ]);
    let uploads: serde_json::Value = serde_json::from_slice(&uploads).unwrap();
    let pending: Vec<&serde_json::Value> = uploads
        .as_object()
        .map(|buckets| {
            buckets
                .values()
                .flat_map(|u| u.as_array().into_iter().flatten())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        pending.is_empty(),
        "unfinished multipart uploads left on the server: {uploads}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_and_named_by_s3s_fs() {
    let dir = tempfile::tempdir().unwrap();
    let server = S3sFs::start(dir.path());
    wrong_credentials_are_refused(server.options()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_refused_and_named_by_seaweedfs() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(dir.path());
    wrong_credentials_are_refused(server.options()).await;
}

async fn wrong_credentials_are_refused(good: Vec<(String, String)>) {
    let mut options = good.clone();
    options.retain(|(k, _)| k != "secret_access_key");
    options.push(("secret_access_key".into(), "not-the-secret".into()));
    let remote = remote(options).await;
    let err = remote.open_read("anything", None).await.err().unwrap();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    // The server's own words vary; Wharf's start and end do not.
    let text = err.to_string();
    assert!(
        text.starts_with("read s3-test:anything: read \"anything\": the server refused the signature (SignatureDoesNotMatch")
            && text.ends_with("); check secret_access_key (and region = 'us-east-1')"),
        "{text}"
    );
    // A HEAD answer has no body to say why; the message names both keys.
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(
        err.to_string()
            .contains("check access_key_id and secret_access_key"),
        "{err}"
    );
    let mut options = good;
    options.retain(|(k, _)| k != "access_key_id");
    options.push(("access_key_id".into(), "AKNOBODY".into()));
    let err = remote_err(options).await;
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("check access_key_id"), "{err}");
}

async fn remote_err(options: Vec<(String, String)>) -> wharf::Error {
    remote(options).await.stat("anything").await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugin_reaches_only_its_endpoint() {
    let plugin = Runtime::new().unwrap().load_bundled("s3").await.unwrap();
    let options = vec![
        ("access_key_id".into(), "a".into()),
        ("secret_access_key".into(), "s".into()),
        ("bucket".into(), "media".into()),
        (
            "endpoint".into(),
            "https://acc123.r2.cloudflarestorage.com".into(),
        ),
    ];
    let remote = Remote::new("r2", plugin.clone(), options, Limits::default()).unwrap();
    let endpoints: Vec<&str> = remote
        .grant()
        .network
        .iter()
        .map(|n| n.endpoint.as_str())
        .collect();
    assert_eq!(endpoints, ["https://acc123.r2.cloudflarestorage.com"]);
    let options = vec![
        ("access_key_id".into(), "a".into()),
        ("secret_access_key".into(), "s".into()),
        ("bucket".into(), "media".into()),
        ("region".into(), "eu-west-1".into()),
    ];
    let remote = Remote::new("aws", plugin, options, Limits::default()).unwrap();
    let endpoints: Vec<&str> = remote
        .grant()
        .network
        .iter()
        .map(|n| n.endpoint.as_str())
        .collect();
    assert_eq!(endpoints, ["https://media.s3.eu-west-1.amazonaws.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_above_the_cutoff_go_in_parts_and_keep_type_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(dir.path());
    let mut options = server.options();
    options.push(("copy_cutoff".into(), (5 << 20).to_string()));
    options.push(("part_size".into(), (5 << 20).to_string()));
    let remote = remote(options).await;
    let data: Vec<u8> = (0..(12 << 20) + 7)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let write = wharf::WriteOptions {
        content_type: Some("video/mp4".into()),
        metadata: vec![("owner".into(), "wharf".into())],
        size_hint: None,
    };
    remote.put("big.mp4", &data[..], write).await.unwrap();
    let meta = remote.copy("big.mp4", "copies/big.mp4").await.unwrap();
    assert_eq!(meta.size, data.len() as u64);
    assert_eq!(meta.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(
        meta.metadata,
        vec![("owner".to_owned(), "wharf".to_owned())]
    );
    // A multipart object's ETag ends in -<parts>: this one was copied in 3.
    assert!(
        meta.etag
            .as_deref()
            .unwrap_or("")
            .trim_matches('"')
            .ends_with("-3"),
        "{:?}",
        meta.etag
    );
    let mut back = Vec::new();
    remote.get("copies/big.mp4", None, &mut back).await.unwrap();
    assert!(back == data, "the copy differs from the source");
}
