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
