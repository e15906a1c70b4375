//! The FTP plugin (as built into the host) passes the conformance suite
//! against real FTP servers, started by the test.

use wharf::{Limits, Remote, Runtime};
use wharf_conformance::Exception;
use wharf_test_servers::FtpServer;

async fn remote(options: Vec<(String, String)>) -> Remote {
    let runtime = Runtime::new().unwrap();
    let plugin = runtime.load_bundled("ftp").await.unwrap();
    Remote::new("ftp-test", plugin, options, Limits::default()).unwrap()
}

const RCLONE_EXCEPTIONS: &[Exception] = &[];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ftp_passes_the_conformance_suite_on_rclone_serve_ftp() {
    let dir = tempfile::tempdir().unwrap();
    let server = FtpServer::rclone(dir.path());
    let mut remote = remote(server.options()).await;
    wharf_conformance::assert_conforms_except(&mut remote, RCLONE_EXCEPTIONS).await;
}
