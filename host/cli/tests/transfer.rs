//! `cp`, `sync`, `mv` and `check` between local files, `media:` (fs), S3
//! (s3s-fs) and Dropbox (the fake): parallel transfers verified by hash,
//! a checksum mismatch named, Ctrl-C leaving nothing partial, an
//! interrupted sync finished by running it again, failed objects retried;
//! and `rm -R` split across instances (FTP, rclone serve ftp).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use common::Scratch;
use serde_json::Value;
use wharf_test_servers::dropbox::{APP_KEY, APP_SECRET, REFRESH_TOKEN};
use wharf_test_servers::{DropboxFake, FtpServer, S3sFs, S3_ACCESS_KEY, S3_SECRET_KEY};

fn s3_config(server: &S3sFs) -> String {
    format!(
        "[remotes.s3]\nplugin = \"s3\"\naccess_key_id = \"{S3_ACCESS_KEY}\"\nsecret_access_key = \"{S3_SECRET_KEY}\"\n\
         bucket = \"{}\"\nendpoint = \"{}\"\n",
        server.bucket, server.endpoint
    )
}

fn dropbox_config(fake: &DropboxFake) -> String {
    format!(
        "[remotes.dbx]\nplugin = \"dropbox\"\napp_key = \"{APP_KEY}\"\napp_secret = \"{APP_SECRET}\"\n\
         refresh_token = \"{REFRESH_TOKEN}\"\napi_url = \"{}\"\ncontent_url = \"{}\"\ntls_ca_file = \"{}\"\n",
        fake.api_url(),
        fake.content_url(),
        fake.certs.ca.display()
    )
}

/// A tree of `count` files of different sizes under `dir`, plus one of
/// 6 MiB (a multipart upload with S3's 5 MiB parts), last written a
/// minute ago (a copy made in the same second as its source's last change
/// is not trusted to be up to date).
fn make_tree(s: &Scratch, dir: &str, count: usize) {
    let then = SystemTime::now() - Duration::from_secs(60);
    let write = |name: String, data: &[u8]| {
        let path = s.file(&name, data);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(then)
            .unwrap();
    };
    for i in 0..count {
        let data: Vec<u8> = (0..(i * 997 + 1)).map(|j| (j * 7 + i) as u8).collect();
        write(format!("{dir}/d{}/f{i:03}.bin", i % 3), &data);
    }
    let big: Vec<u8> = (0..6 << 20).map(|j: usize| (j / 3) as u8).collect();
    write(format!("{dir}/big.bin"), &big);
}

/// The JSON events a `--json` run printed.
fn events(out: &assert_cmd::assert::Assert) -> Vec<Value> {
    String::from_utf8_lossy(&out.get_output().stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn summary(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| e["event"] == "summary")
        .expect("a summary event")
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

/// The file s3s-fs keeps for `key`: changing it behind the server's back
/// is bit rot the server does not know about (its ETag stays).
fn stored(server: &S3sFs, key: &str) -> std::path::PathBuf {
    server.root.join(&server.bucket).join(key)
}

fn flip_a_byte(path: &Path) {
    let mut data = std::fs::read(path).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    std::fs::write(path, data).unwrap();
}

#[test]
fn cp_recursive_to_s3_runs_in_parallel_and_verifies_every_object() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 40);
    let out = s
        .wharf()
        .args(["cp", "-R", "src", "s3:backup", "--transfers", "4", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    let copied: Vec<&Value> = seen.iter().filter(|e| e["event"] == "copied").collect();
    assert_eq!(copied.len(), 41);
    // S3 checks each body against the Content-MD5 or signed SHA-256 the
    // plugin sent with it (checked-writes), so the host does not hash
    // what it uploads a second time.
    for event in &copied {
        assert_eq!(event["verified"], "backend", "{event}");
    }
    assert_eq!(summary(&seen)["failed"], 0);
    // The 6 MiB object went up in parts.
    let out = s
        .wharf()
        .args(["stat", "s3:backup/big.bin", "--json"])
        .assert()
        .success();
    let meta: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(meta["etag"].as_str().unwrap().contains("-2"), "{meta}");
    // And back, verified on the way down.
    let out = s
        .wharf()
        .args(["cp", "-R", "s3:backup", "back", "--json"])
        .assert()
        .success();
    assert!(events(&out)
        .iter()
        .filter(|e| e["event"] == "copied")
        .all(|e| e["verified"] == "md5"));
    assert_eq!(s.files_under("back"), s.files_under("src"));
    assert_eq!(s.read("back/big.bin"), s.read("src/big.bin"));
}

#[test]
fn sync_copies_what_changed_and_deletes_only_when_asked() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 20);
    s.wharf()
        .args(["sync", "src", "s3:mirror"])
        .assert()
        .success();

    // Nothing changed: nothing copied.
    let out = s
        .wharf()
        .args(["sync", "src", "s3:mirror", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    assert_eq!(summary(&seen)["copied"], 0);
    assert_eq!(summary(&seen)["skipped"], 21);

    // One file changed (same size, later time), one new, one extra in
    // the destination.
    let changed = s.path().join("src/d1/f001.bin");
    let mut data = std::fs::read(&changed).unwrap();
    data[0] ^= 1;
    std::fs::write(&changed, &data).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&changed)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    s.file("src/new.txt", b"new");
    s.file("extra.txt", b"extra");
    s.wharf()
        .args(["put", "extra.txt", "s3:mirror/extra.txt"])
        .assert()
        .success();

    let out = s
        .wharf()
        .args([
            "sync",
            "src",
            "s3:mirror",
            "--delete",
            "--dry-run",
            "--json",
        ])
        .assert()
        .success();
    let kinds: Vec<String> = events(&out)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "would-copy").count(),
        2,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| *k == "would-delete").count(),
        1,
        "{kinds:?}"
    );
    s.wharf()
        .args(["stat", "s3:mirror/extra.txt"])
        .assert()
        .success();
    s.wharf()
        .args(["stat", "s3:mirror/new.txt"])
        .assert()
        .code(3);

    // Without --delete the extra object stays.
    let out = s
        .wharf()
        .args(["sync", "src", "s3:mirror", "--json"])
        .assert()
        .success();
    assert_eq!(summary(&events(&out))["copied"], 2);
    s.wharf()
        .args(["stat", "s3:mirror/extra.txt"])
        .assert()
        .success();
    let out = s
        .wharf()
        .args(["cat", "s3:mirror/d1/f001.bin"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, data);

    let out = s
        .wharf()
        .args(["sync", "src", "s3:mirror", "--delete", "--json"])
        .assert()
        .success();
    assert_eq!(summary(&events(&out))["deleted"], 1);
    s.wharf()
        .args(["stat", "s3:mirror/extra.txt"])
        .assert()
        .code(3);
    s.wharf()
        .args(["check", "src", "s3:mirror"])
        .assert()
        .success();
}

#[test]
fn check_finds_changed_missing_and_extra_objects() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 10);
    s.wharf().args(["sync", "src", "s3:m"]).assert().success();
    let out = s
        .wharf()
        .args(["check", "src", "s3:m", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    // The local side is hashed and compared with S3's ETags.
    assert!(
        seen.iter()
            .filter(|e| e["event"] == "same")
            .all(|e| e["by"] == "md5"),
        "{seen:?}"
    );
    assert_eq!(summary(&seen)["same"], 11);

    // A local change of the same size, found by hashing the local file.
    flip_a_byte(&s.path().join("src/d0/f000.bin"));
    std::fs::remove_file(stored(&server, "m/d2/f002.bin")).unwrap();
    s.file("only-here.txt", b"x");
    s.wharf()
        .args(["put", "only-here.txt", "s3:m/zz.txt"])
        .assert()
        .success();
    let out = s.wharf().args(["check", "src", "s3:m"]).assert().code(1);
    let err = stderr(&out);
    assert!(err.contains("differs: d0/f000.bin"), "{err}");
    assert!(
        err.contains("missing in the destination: d2/f002.bin"),
        "{err}"
    );
    assert!(err.contains("only in the destination: zz.txt"), "{err}");

    // Rot on the server, behind its ETag's back: only reading the bytes
    // finds it.
    flip_a_byte(&stored(&server, "m/d1/f004.bin"));
    let out = s.wharf().args(["check", "src", "s3:m"]).assert().code(1);
    assert!(!stderr(&out).contains("d1/f004.bin"), "{}", stderr(&out));
    let out = s
        .wharf()
        .args(["check", "src", "s3:m", "--download"])
        .assert()
        .code(1);
    assert!(
        stderr(&out).contains("differs: d1/f004.bin"),
        "{}",
        stderr(&out)
    );
}

/// Between a local tree and `media:` both sides are hashed, with the
/// cheapest hash both compute (XXH3-128), and a changed byte that keeps
/// the size is found.
#[test]
fn check_of_a_local_tree_and_media_compares_contents_by_xxh128() {
    let s = Scratch::new();
    make_tree(&s, "src", 10);
    // XXH3 takes a path of its own for each range of short lengths.
    for len in 0..=20usize {
        let body: Vec<u8> = (0..len).map(|i| (i * 31 + len) as u8).collect();
        s.file(&format!("src/tiny/t{len:02}"), &body);
    }
    s.wharf()
        .args(["cp", "-R", "src", "media:m"])
        .assert()
        .success();
    let out = s
        .wharf()
        .args(["check", "src", "media:m", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    assert!(
        seen.iter()
            .filter(|e| e["event"] == "same")
            .all(|e| e["by"] == "xxh128"),
        "{seen:?}"
    );
    assert_eq!(summary(&seen)["same"], 32);
    flip_a_byte(&s.path().join("media/m/big.bin"));
    let out = s.wharf().args(["check", "src", "media:m"]).assert().code(1);
    assert!(
        stderr(&out).contains("differs: big.bin: xxh128 differs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_checksum_mismatch_fails_the_object_and_names_it() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 5);
    s.wharf()
        .args(["cp", "-R", "src", "s3:data"])
        .assert()
        .success();
    flip_a_byte(&stored(&server, "data/d1/f001.bin"));
    let out = s
        .wharf()
        .args(["cp", "-R", "s3:data", "down", "--retries", "1"])
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(
        err.contains("FAILED d1/f001.bin: checksum mismatch"),
        "{err}"
    );
    assert!(err.contains("1 object failed"), "{err}");
    // The bad copy is not left behind; the others arrived.
    let files = s.files_under("down");
    assert!(!files.iter().any(|f| f.contains("f001")), "{files:?}");
    assert_eq!(files.len(), 5, "{files:?}");
}

#[test]
fn mv_moves_every_object_and_removes_the_sources() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 8);
    let before = s.files_under("src");
    s.wharf()
        .args(["mv", "-R", "src", "s3:moved"])
        .assert()
        .success();
    assert!(s.files_under("src").is_empty());
    s.wharf()
        .args(["mv", "-R", "s3:moved", "media:moved"])
        .assert()
        .success();
    assert_eq!(s.files_under("media/moved"), before);
    // Nothing is left at the source.
    s.wharf().args(["ls", "-R", "s3:moved/"]).assert().code(3);
}

/// Runs `wharf args` with --json, sends it SIGINT once `after` objects
/// are done, and returns its exit status and what it printed.
fn interrupt(s: &Scratch, args: &[&str], after: usize) -> (std::process::ExitStatus, String) {
    let mut child = s
        .wharf_process()
        .args(args)
        .arg("--json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut done = 0;
    let mut signalled = false;
    // Read to the end, so the process never writes into a closed pipe.
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.contains("\"copied\"") || after == 0 {
            done += 1;
        }
        if done >= after.max(1) && !signalled {
            signalled = true;
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        }
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs `wharf args`, sends it SIGINT as soon as `ready(its pid)` holds,
/// and returns its exit status and standard error.
fn interrupt_when(
    s: &Scratch,
    args: &[&str],
    ready: impl Fn(u32) -> bool,
) -> (std::process::ExitStatus, String) {
    let mut child = s
        .wharf_process()
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !ready(child.id()) {
        assert!(
            std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "the transfer ended before it could be interrupted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn ctrl_c_aborts_the_writes_in_flight_and_leaves_nothing_partial() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&format!(
        "{}chunk_size = \"4194304\"\n",
        dropbox_config(&fake)
    ));
    let big: Vec<u8> = (0..(200u32 << 20)).map(|j| (j >> 12) as u8).collect();
    s.file("big/huge.bin", &big);
    s.file("big/a.txt", b"first");

    // Uploading: interrupted in the middle of an upload session.
    let (status, err) = interrupt_when(
        &s,
        &["cp", "-R", "big", "dbx:up", "--transfers", "1"],
        |_| fake.calls("/2/files/upload_session/append_v2") >= 2,
    );
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    s.wharf().args(["stat", "dbx:up/a.txt"]).assert().success();
    s.wharf().args(["stat", "dbx:up/huge.bin"]).assert().code(3);
    assert_eq!(
        fake.calls("/2/files/upload_session/finish"),
        0,
        "{}",
        fake.stats()
    );

    // Downloading: interrupted while the staging file fills; neither it
    // nor a partial file under the real name is left. The staging file has
    // no name (O_TMPFILE) where the system offers that, so it is found
    // among the process's open files: one in `down` holding over 1 MiB.
    s.wharf()
        .args(["cp", "big/huge.bin", "dbx:whole/huge.bin"])
        .assert()
        .success();
    let down = s.path().join("down");
    let staging_has_data = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|to| to.starts_with(&down))
                    && std::fs::metadata(fd.path()).is_ok_and(|m| m.len() > (1 << 20))
            })
    };
    let (status, err) = interrupt_when(
        &s,
        &["cp", "dbx:whole/huge.bin", "down/huge.bin"],
        staging_has_data,
    );
    assert!(!status.success(), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        s.files_under("down").is_empty(),
        "{:?}",
        s.files_under("down")
    );
}

#[test]
fn an_interrupted_sync_finishes_when_run_again() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    make_tree(&s, "src", 200);
    let (status, err) = interrupt(&s, &["sync", "src", "s3:m", "--transfers", "1"], 20);
    assert!(!status.success(), "{err}");
    let out = s
        .wharf()
        .args(["sync", "src", "s3:m", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    let (copied, skipped) = (
        summary(&seen)["copied"].as_u64().unwrap(),
        summary(&seen)["skipped"].as_u64().unwrap(),
    );
    assert!(
        skipped >= 20,
        "the first run's copies were redone: {copied} copied, {skipped} skipped"
    );
    assert_eq!(copied + skipped, 201);
    s.wharf().args(["check", "src", "s3:m"]).assert().success();
}

#[test]
fn failed_objects_are_retried_without_redoing_the_others() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&dropbox_config(&fake));
    make_tree(&s, "src", 6);
    s.wharf()
        .args(["cp", "-R", "src", "dbx:first"])
        .assert()
        .success();
    // More server errors than the plugin's own retries absorb.
    fake.fail("/2/files/upload", 5, 503, "", 0);
    let out = s
        .wharf()
        .args(["sync", "src", "dbx:first", "--json"])
        .assert()
        .success();
    assert_eq!(summary(&events(&out))["copied"], 0);
    s.file("src/late.txt", b"late");
    let out = s
        .wharf()
        .args(["sync", "src", "dbx:first", "--json"])
        .assert()
        .success();
    let seen = events(&out);
    assert!(
        seen.iter()
            .any(|e| e["event"] == "retrying" && e["key"] == "late.txt"),
        "{seen:?}"
    );
    assert_eq!(summary(&seen)["copied"], 1);
    // Dropbox's content hash checked every copy.
    let out = s
        .wharf()
        .args(["check", "src", "dbx:first", "--json"])
        .assert()
        .success();
    assert!(events_by(&out, "same").all(|e| e["by"] == "dropbox content hash"));
}

fn events_by(out: &assert_cmd::assert::Assert, kind: &str) -> std::vec::IntoIter<Value> {
    events(out)
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect::<Vec<_>>()
        .into_iter()
}

#[test]
fn rm_recursive_splits_each_page_across_instances() {
    let s = Scratch::new();
    let root = s.path().join("ftp-root");
    // 1,234 files: two listing pages, the second not a multiple of 4.
    for i in 0..1234 {
        let dir = root.join(format!("many/d{}", i % 7));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("f{i:04}")), i.to_string()).unwrap();
    }
    std::fs::write(root.join("manyfold"), b"not below many/").unwrap();
    let server = FtpServer::rclone(&root);
    let mut config = String::from("[remotes.ftp]\nplugin = \"ftp\"\n");
    for (key, value) in server.options() {
        config.push_str(&format!("{key} = \"{value}\"\n"));
    }
    s.write_config(&config);
    s.wharf()
        .args(["rm", "-R", "ftp:many", "--transfers", "4"])
        .assert()
        .success()
        .stderr("removed 1234 objects under ftp:many\n");
    let mut left: Vec<String> = walk(&root);
    left.sort();
    assert_eq!(
        left,
        ["manyfold"],
        "only the object beside the prefix is left"
    );

    // --transfers 0 is a mistake, not a hang.
    s.wharf()
        .args(["rm", "-R", "ftp:x", "--transfers", "0"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--transfers"));
}

/// The files under `dir`, as paths relative to it.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for below in walk(&path) {
                files.push(format!(
                    "{}/{below}",
                    path.file_name().unwrap().to_string_lossy()
                ));
            }
        } else {
            files.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    files
}

/// A local tree's symbolic links are passed over with a note, as rclone
/// does, so a copy never leaves the tree it was given (a link a plugin made
/// in its folder, pointing out of it, included); `-L` follows them.
#[test]
fn symbolic_links_in_a_local_tree_are_passed_over_unless_asked() {
    use std::os::unix::fs::symlink;
    let s = Scratch::new();
    s.file("tree/inside.txt", b"mine");
    s.file("outside/secret.txt", b"not in the tree");
    symlink(s.path().join("outside"), s.path().join("tree/door")).unwrap();
    symlink(
        s.path().join("outside/secret.txt"),
        s.path().join("tree/peek.txt"),
    )
    .unwrap();
    let out = s
        .wharf()
        .args(["cp", "-R", "tree", "media:copy"])
        .assert()
        .success();
    assert_eq!(s.files_under("media/copy"), ["inside.txt"]);
    assert!(
        stderr(&out).contains(
            "note: passed over 2 symbolic links in tree (door, peek.txt); -L/--copy-links \
             follows them"
        ),
        "{}",
        stderr(&out)
    );
    s.wharf()
        .args(["cp", "-R", "-L", "tree", "media:followed"])
        .assert()
        .success();
    let mut followed = s.files_under("media/followed");
    followed.sort();
    assert_eq!(followed, ["door/secret.txt", "inside.txt", "peek.txt"]);
}

/// rclone's filters on Wharf's own commands: a sync takes what they take
/// and leaves the rest on both sides alone (an excluded file in the
/// destination survives `--delete`); `rm -R` removes only what they take.
#[test]
fn filters_choose_what_cp_sync_check_and_rm_take() {
    let s = Scratch::new();
    for (name, body) in [
        ("src/a.jpg", &b"jpeg"[..]),
        ("src/b.txt", b"text"),
        ("src/cache/c.jpg", b"cached"),
        ("src/big.jpg", &[7u8; 4096][..]),
    ] {
        s.file(name, body);
    }
    s.file("media/kept/old.tmp", b"not mine");
    let src = s.path().join("src");
    let src = src.to_str().unwrap();
    s.wharf()
        .args(["sync", src, "media:kept", "--delete", "--include", "*.jpg"])
        .args(["--exclude=cache/**", "--max-size", "2"])
        .assert()
        .success();
    // --include came first, so cache/c.jpg (a .jpg) is taken; 4 KiB is over 2 KiB.
    assert_eq!(
        s.files_under("media/kept"),
        ["a.jpg", "cache/c.jpg", "old.tmp"]
    );
    s.wharf()
        .args([
            "check",
            src,
            "media:kept",
            "--include",
            "*.jpg",
            "--max-size",
            "2",
        ])
        .assert()
        .success();
    s.wharf()
        .args([
            "rm",
            "-R",
            "media:kept",
            "--filter",
            "- *.tmp",
            "--filter",
            "+ **",
        ])
        .assert()
        .success();
    assert_eq!(s.files_under("media/kept"), ["old.tmp"]);
    s.wharf()
        .args(["cp", "-R", src, "media:all", "--exclude", "{a,big}.jpg"])
        .assert()
        .success();
    assert_eq!(s.files_under("media/all"), ["b.txt", "cache/c.jpg"]);
    s.wharf()
        .args(["cp", "-R", src, "media:x", "--include", "[bad"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("'[bad'"));
}

/// A remote's instances share their kept-alive connections: with four
/// transfers, each command opens four connections to the content host (a
/// couple more when a request goes out as another's connection is being
/// given back), where a pool per instance opened more as calls moved
/// between instances: each a TCP and TLS handshake, two round trips on a
/// far link.
#[test]
fn a_remotes_instances_share_their_kept_alive_connections() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&dropbox_config(&fake));
    make_tree(&s, "src", 150);
    // Calls that take a while, as over a far link, move between instances.
    fake.set_latency(0.03);
    s.wharf()
        .args(["cp", "-R", "src", "dbx:tree", "--transfers", "4"])
        .assert()
        .success();
    let up = fake.connections("content");
    s.wharf()
        .args(["cp", "-R", "dbx:tree", "back", "--transfers", "4"])
        .assert()
        .success();
    let down = fake.connections("content") - up;
    assert_eq!(
        s.files_under("back").len(),
        151,
        "150 small objects and a big one"
    );
    assert!(
        (1..=6).contains(&up) && (1..=6).contains(&down),
        "151 objects with 4 transfers opened {up} connections up and {down} down: {}",
        fake.stats()
    );
}

/// A tree named by its key (no `/`) is listed once: the page that shows
/// the key has objects below it is the walk's first, where a second
/// listing cost another round trip to the backend (on a far link, 40 ms
/// or more before the first object moves).
#[test]
fn a_tree_named_by_its_key_is_listed_once() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&dropbox_config(&fake));
    // One folder: the plugin lists a folder at a time (a call each).
    for i in 0..20 {
        s.file(&format!("src/f{i:02}.txt"), format!("file {i}").as_bytes());
    }
    s.wharf()
        .args(["cp", "-R", "src", "dbx:tree"])
        .assert()
        .success();
    let listings =
        || fake.calls("/2/files/list_folder") + fake.calls("/2/files/list_folder/continue");
    let before = listings();
    s.wharf()
        .args(["cp", "-R", "dbx:tree", "back"])
        .assert()
        .success();
    assert_eq!(s.files_under("back"), s.files_under("src"));
    assert_eq!(
        listings() - before,
        1,
        "cp -R of a key listed it more than once: {}",
        fake.stats()
    );
}

/// A download in ranges (here from 4 MiB, in 3) is still checked against
/// the source's MD5: a thread hashes the file in order as the ranges fill
/// it. A byte changed on the server fails the copy and leaves nothing.
#[test]
fn a_download_in_ranges_is_hashed_and_a_bad_one_removed() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("s3"));
    s.write_config(&s3_config(&server));
    // 13 MiB and a bit: multipart (5 MiB parts), ranges of 5 MiB or less.
    let data: Vec<u8> = (0..(13 << 20) + 12_345)
        .map(|i: usize| (i * 31 / 7) as u8)
        .collect();
    s.file("big.bin", &data);
    s.wharf()
        .args(["cp", "big.bin", "s3:big.bin"])
        .assert()
        .success();
    let ranged = [
        "--multi-thread-cutoff",
        "4M",
        "--multi-thread-streams",
        "3",
        "--json",
    ];
    let out = s
        .wharf()
        .args(["cp", "s3:big.bin", "back.bin"])
        .args(ranged)
        .assert()
        .success();
    let seen = events(&out);
    let copied: Vec<&Value> = seen.iter().filter(|e| e["event"] == "copied").collect();
    assert_eq!(copied.len(), 1, "{seen:?}");
    assert_eq!(copied[0]["verified"], "md5", "{:?}", copied[0]);
    assert!(s.read("back.bin") == data);

    // From Dropbox, three ranged downloads, checked against its content
    // hash.
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&format!("{}{}", s3_config(&server), dropbox_config(&fake)));
    s.wharf()
        .args(["cp", "big.bin", "dbx:big.bin"])
        .assert()
        .success();
    let before = fake.calls("/2/files/download");
    let out = s
        .wharf()
        .args(["cp", "dbx:big.bin", "from-dropbox.bin"])
        .args(ranged)
        .assert()
        .success();
    assert_eq!(
        fake.calls("/2/files/download") - before,
        3,
        "{}",
        fake.stats()
    );
    let copied: Vec<Value> = events(&out)
        .into_iter()
        .filter(|e| e["event"] == "copied")
        .collect();
    assert_eq!(
        copied[0]["verified"], "dropbox content hash",
        "{:?}",
        copied[0]
    );
    assert!(s.read("from-dropbox.bin") == data);

    flip_a_byte(&stored(&server, "big.bin"));
    let out = s
        .wharf()
        .args(["cp", "s3:big.bin", "again.bin", "--retries", "1"])
        .args(ranged)
        .assert()
        .code(1);
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch reading"), "{err}");
    let left = s.left_of("again");
    assert!(left.is_empty(), "{left:?}");
}
