//! The fs plugin reaches its root directory and nothing else, whatever key
//! it is given, and every refusal says so.

mod common;

use std::os::unix::fs::symlink;

use common::Scratch;
use predicates::prelude::*;

const REFUSED: &str = "leads outside this remote's directory";

fn with_outside_secret() -> Scratch {
    let s = Scratch::new();
    s.file("outside/secret.txt", b"TOP SECRET");
    s.file("x", b"payload");
    // Creates ./media with one object in it.
    s.wharf()
        .args(["put", "x", "media:inside"])
        .assert()
        .success();
    s
}

#[test]
fn dot_dot_keys_are_invalid() {
    let s = with_outside_secret();
    for key in ["../escape", "a/../../escape", "..", "a/./b"] {
        s.wharf()
            .args(["put", "x", &format!("media:{key}")])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("invalid key").and(predicate::str::contains("segment")),
            );
        s.wharf()
            .args(["cat", &format!("media:{key}")])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("invalid key"));
    }
    assert!(!s.path().join("escape").exists());
    s.wharf()
        .args(["cat", "media:../outside/secret.txt"])
        .assert()
        .code(2)
        .stdout("");
}

#[test]
fn absolute_keys_are_invalid() {
    let s = with_outside_secret();
    let absolute = format!("media:{}", s.path().join("outside/secret.txt").display());
    s.wharf()
        .args(["cat", &absolute])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("cannot start with '/'"));
    s.wharf()
        .args(["put", "x", "media:/etc/wharf-was-here"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot start with '/'"));
    assert!(!std::path::Path::new("/etc/wharf-was-here").exists());
}

#[test]
fn symlinks_that_point_out_cannot_be_read_or_written_through() {
    let s = with_outside_secret();
    let media = s.path().join("media");
    symlink(s.path().join("outside"), media.join("door")).unwrap();
    symlink(
        s.path().join("outside/secret.txt"),
        media.join("secret-link"),
    )
    .unwrap();
    symlink("/etc", media.join("etc")).unwrap();

    for key in ["door/secret.txt", "secret-link", "etc/passwd"] {
        s.wharf()
            .args(["cat", &format!("media:{key}")])
            .assert()
            .failure()
            .stdout("")
            .stderr(
                predicate::str::contains(REFUSED)
                    .and(predicate::str::contains(format!("media:{key}"))),
            );
        s.wharf()
            .args(["stat", &format!("media:{key}")])
            .assert()
            .failure()
            .stderr(predicate::str::contains(REFUSED));
    }
    s.wharf()
        .args(["put", "x", "media:door/planted.txt"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(REFUSED));
    assert!(!s.path().join("outside/planted.txt").exists());
    s.wharf()
        .args(["cp", "media:inside", "media:door/copied.txt"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(REFUSED));
    assert!(!s.path().join("outside/copied.txt").exists());
    // Deleting through the link is refused too, and the target survives.
    s.wharf()
        .args(["rm", "media:door/secret.txt"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains(REFUSED)
                .and(predicate::str::contains("media:door/secret.txt")),
        );
    assert_eq!(s.read("outside/secret.txt"), b"TOP SECRET");
    // Listings leave out what the sandbox will not follow.
    s.wharf()
        .args(["ls", "-R", "media:"])
        .assert()
        .success()
        .stdout("inside\n");
    // Nothing was staged and left behind by the refused writes.
    let staged: Vec<String> = s
        .files_under("media")
        .into_iter()
        .filter(|f| f.contains(".wharf-tmp"))
        .collect();
    assert_eq!(staged, Vec::<String>::new());
}

#[test]
fn symlinks_that_stay_inside_work() {
    let s = with_outside_secret();
    symlink("inside", s.path().join("media/alias")).unwrap();
    s.wharf()
        .args(["cat", "media:alias"])
        .assert()
        .success()
        .stdout("payload");
}

#[test]
fn the_staging_directory_is_not_a_key() {
    let s = with_outside_secret();
    s.wharf()
        .args(["put", "x", "media:.wharf-tmp/evil"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("reserves"));
}
