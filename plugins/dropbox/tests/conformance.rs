//! The Dropbox plugin (as built into the host) passes the conformance
//! suite against the local fake of the Dropbox API, over HTTPS with a test
//! certificate authority.

use wharf::{Limits, Remote, Runtime, TlsTrust};
use wharf_conformance::Exception;
use wharf_test_servers::DropboxFake;

/// Dropbox refuses backslashes in file names; the plugin says so up front
/// with invalid-key, as the contract allows for a backend's limits.
const EXCEPTIONS: &[Exception] = &[Exception {
    case: "keys/quotes and backslash",
    reason: "Dropbox does not allow '\\' in file names",
}];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropbox_passes_the_conformance_suite_on_the_fake() {
    let dir = tempfile::tempdir().unwrap();
    let fake = DropboxFake::start(dir.path());
    let runtime = Runtime::new().unwrap();
    let plugin = runtime.load_bundled("dropbox").await.unwrap();
    let mut remote = Remote::new("dropbox-test", plugin, fake.options(), Limits::default())
        .unwrap()
        .with_tls_trust(TlsTrust {
            ca_files: vec![fake.certs.ca.clone()],
            skip_verify: false,
        });
    wharf_conformance::assert_conforms_except(&mut remote, EXCEPTIONS).await;
    // The suite's 17 MiB objects went through upload sessions (8 MiB
    // chunks), its small ones in one call.
    for endpoint in ["/2/files/upload", "/2/files/upload_session/finish"] {
        assert!(
            fake.calls(endpoint) > 0,
            "{endpoint} was never called: {}",
            fake.stats()
        );
    }
    // The suite aborted and dropped writes and removed what it wrote: the
    // account holds no file. (An upload session cannot be cancelled in
    // Dropbox's API; an abandoned one holds nothing anyone can see, and
    // expires.)
    remote.release_abandoned().await;
    assert_eq!(
        fake.files(),
        0,
        "files left in the account: {}",
        fake.stats()
    );
}
