//! HTTPS to an S3 server with a certificate of its own: a self-signed one,
//! as NAS boxes and self-hosted MinIO servers have. Untrusted, the error
//! names the certificate problem and the option that fixes it (not "is it
//! running?"); given in `tls_ca_file`, that exact certificate is trusted,
//! and no other.

use wharf::{ErrorKind, Limits, Remote, Runtime, TlsTrust, WriteOptions};
use wharf_test_servers::{RcloneS3Tls, TestCerts};

async fn remote(server: &RcloneS3Tls, ca_files: Vec<std::path::PathBuf>) -> Remote {
    let plugin = Runtime::new().unwrap().load_bundled("s3").await.unwrap();
    Remote::new("nas", plugin, server.options(), Limits::default())
        .unwrap()
        .with_tls_trust(TlsTrust {
            ca_files,
            skip_verify: false,
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_trusted_when_given_and_named_when_not() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::self_signed(&dir.path().join("certs"));
    let server = RcloneS3Tls::start(&dir.path().join("served"), &certs);
    let endpoint = server.endpoint.trim_start_matches("https://").to_owned();

    let untrusted = remote(&server, Vec::new()).await;
    let err = untrusted.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "plugin 's3' (remote 'nas') could not connect to {endpoint}: the server's TLS \
             certificate is not trusted (invalid peer certificate: "
        )) && text.contains(
            "if you trust this server, put its certificate (a self-signed one) or the CA \
             certificate that signed it in a PEM file and add tls_ca_file = \"that file\" to \
             [remotes.nas]"
        ) && !text.contains("is it running"),
        "{text}"
    );

    // Given in tls_ca_file, the certificate is trusted: a round trip.
    let trusted = remote(&server, vec![certs.ca.clone()]).await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    trusted
        .put("nas/report.bin", &data[..], WriteOptions::default())
        .await
        .unwrap();
    let mut back = Vec::new();
    trusted
        .get("nas/report.bin", None, &mut back)
        .await
        .unwrap();
    assert!(back == data, "the object came back different");

    // Pinned to exactly that certificate: another self-signed one for the
    // same names is not trusted.
    let other = TestCerts::self_signed(&dir.path().join("other"));
    let wrong = remote(&server, vec![other.ca]).await;
    let err = wrong.stat("nas/report.bin").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains("is not trusted"), "{err}");
}

/// Over https, an object whose size is announced and above `part_size`
/// goes in one PUT streamed as it is written (its ETag the plain MD5, not
/// a multipart one's); a size other than announced fails the write and
/// stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_size_goes_in_one_streamed_put_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::self_signed(&dir.path().join("certs"));
    let server = RcloneS3Tls::start(&dir.path().join("served"), &certs);
    let remote = remote(&server, vec![certs.ca.clone()]).await;
    let data: Vec<u8> = (0..12u32 << 20).map(|i| (i % 251) as u8).collect();
    let md5 = hex::encode(wharf_md5::digest(&data));
    let announced = |size: usize| WriteOptions {
        size_hint: Some(size as u64),
        ..WriteOptions::default()
    };

    let meta = remote
        .put("nas/one.bin", &data[..], announced(data.len()))
        .await
        .unwrap();
    assert_eq!(
        meta.etag.as_deref().map(|t| t.trim_matches('"')),
        Some(&md5[..])
    );
    let mut back = Vec::new();
    remote.get("nas/one.bin", None, &mut back).await.unwrap();
    assert!(back == data, "the object came back different");

    // Unannounced, the same bytes go in parts of 5 MiB: three.
    let meta = remote
        .put("nas/parts.bin", &data[..], WriteOptions::default())
        .await
        .unwrap();
    let etag = meta.etag.unwrap_or_default();
    assert!(etag.trim_matches('"').ends_with("-3"), "{etag}");

    // Fewer bytes than announced, and more: the write fails, nothing is
    // stored.
    for (key, size, words) in [
        ("nas/short.bin", data.len() + 1, "were announced"),
        ("nas/long.bin", 6 << 20, "more bytes came than the"),
    ] {
        let err = remote
            .put(key, &data[..], announced(size))
            .await
            .unwrap_err();
        assert!(err.to_string().contains(words), "{err}");
        let err = remote.stat(key).await.unwrap_err();
        assert_eq!(*err.kind(), ErrorKind::NotFound, "{key}: {err}");
    }
}
