//! FTPS: the host does the TLS and checks the server's certificate against
//! what the remote trusts (the web PKI, plus `tls_ca_file`). A certificate
//! from an unknown CA, or for another name, is refused with a message that
//! says so; explicit (AUTH TLS) and implicit TLS both carry data.

use wharf::{ErrorKind, Limits, Remote, Runtime, TlsTrust, WriteOptions};
use wharf_test_servers::{FtpServer, TestCerts};

async fn remote(server: &FtpServer, tls: &str, trust: TlsTrust) -> Remote {
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let mut options = server.options();
    options.push(("tls".into(), tls.into()));
    Remote::new("ftps", plugin, options, Limits::default())
        .unwrap()
        .with_tls_trust(trust)
}

fn trusting(certs: &TestCerts) -> TlsTrust {
    TlsTrust {
        ca_files: vec![certs.ca.clone()],
        skip_verify: false,
    }
}

async fn round_trip(remote: &Remote) {
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    remote
        .put("secret/report.bin", &data[..], WriteOptions::default())
        .await
        .unwrap();
    let mut back = Vec::new();
    remote
        .get("secret/report.bin", None, &mut back)
        .await
        .unwrap();
    assert!(back == data, "the object came back different");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_tls_with_a_trusted_ca_works_on_pure_ftpd() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(&dir.path().join("certs"));
    let server = FtpServer::pure_ftpd(&dir.path().join("server"), Some(&certs));
    round_trip(&remote(&server, "explicit", trusting(&certs)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_works_on_rclone_serve_ftp() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(&dir.path().join("certs"));
    let server = FtpServer::rclone_implicit_tls(&dir.path().join("served"), &certs);
    round_trip(&remote(&server, "implicit", trusting(&certs)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_untrusted_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(&dir.path().join("certs"));
    let server = FtpServer::pyftpdlib(dir.path(), Some(&certs));
    let remote = remote(&server, "explicit", TlsTrust::default()).await;
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("invalid peer certificate: UnknownIssuer")
            && text.ends_with("trust the CA that signed it with the remote's tls_ca_file"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate_for(&dir.path().join("certs"), "DNS:other.example");
    let server = FtpServer::pyftpdlib(dir.path(), Some(&certs));
    let remote = remote(&server, "explicit", trusting(&certs)).await;
    let err = remote.stat("anything").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::PermissionDenied, "{err}");
    assert!(
        err.to_string()
            .contains("invalid peer certificate: certificate not valid for name"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipping_verification_is_possible_but_explicit() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate_for(&dir.path().join("certs"), "DNS:other.example");
    let server = FtpServer::pure_ftpd(&dir.path().join("server"), Some(&certs));
    let trust = TlsTrust {
        ca_files: Vec::new(),
        skip_verify: true,
    };
    round_trip(&remote(&server, "explicit", trust).await).await;
}
