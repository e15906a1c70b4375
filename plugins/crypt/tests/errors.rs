//! Bad input gets a clear error and changes nothing below: a wrong
//! password, a password that is not obscured, a corrupted block, a
//! truncated object.

mod common;

use common::{crypt_remote, data, fs_remote, obscured};
use wharf::{ErrorKind, Runtime, WriteOptions};

fn tree(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_says_so_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, dir.path()).await;
    let right = obscured("right");
    let wrong = obscured("wrong");
    let secure = crypt_remote(&runtime, base.clone(), "vault", &[("password", &right)]).await;
    secure
        .put("report.pdf", &data(100_000, 1)[..], WriteOptions::default())
        .await
        .unwrap();
    let before = tree(dir.path());

    // Names encrypted under another key: the listing says none decrypts.
    let other = crypt_remote(&runtime, base.clone(), "vault", &[("password", &wrong)]).await;
    let err = other.list("", None).await.map(drop).unwrap_err();
    assert!(
        err.to_string()
            .contains("none of the 1 names at the top decrypts with this password (the first, \"")
            && err
                .to_string()
                .ends_with("the password is wrong, or this is not a crypt remote"),
        "{err}"
    );
    // Content under another key (names left plain to reach it).
    let plain_names = [("filename_encryption", "off")];
    let mine = crypt_remote(
        &runtime,
        base.clone(),
        "plain",
        &[("password", &right), plain_names[0]],
    )
    .await;
    mine.put("a.bin", &data(70_000, 2)[..], WriteOptions::default())
        .await
        .unwrap();
    let before = {
        let mut t = tree(dir.path());
        t.extend(before);
        t.sort();
        t.dedup();
        t
    };
    let theirs = crypt_remote(
        &runtime,
        base,
        "plain",
        &[("password", &wrong), plain_names[0]],
    )
    .await;
    let mut out = Vec::new();
    let err = theirs.get("a.bin", None, &mut out).await.unwrap_err();
    assert!(
        err.to_string().contains(
            "\"a.bin\": its data does not decrypt with this password: the password is wrong, the \
             object was changed or damaged below, or this is not a crypt remote (failed to \
             authenticate decrypted block - bad password?)"
        ),
        "{err}"
    );
    assert!(
        out.is_empty(),
        "no byte of an unauthenticated block is returned"
    );
    assert_eq!(tree(dir.path()), before, "nothing below changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_password_where_an_obscured_one_belongs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, dir.path()).await;
    let secure = crypt_remote(&runtime, base, "vault", &[("password", "hunter2")]).await;
    let err = secure.stat("x").await.unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::InvalidConfig, "{err}");
    assert!(
        err.to_string()
            .contains("option 'password': it is not an obscured password")
            && err.to_string().ends_with(
                "crypt takes its passwords obscured, as rclone stores them: give what `wharf \
                 obscure YOUR-PASSWORD` (or `rclone obscure`) prints"
            ),
        "{err}"
    );
    assert!(tree(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_truncated_object_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new().unwrap();
    let base = fs_remote(&runtime, dir.path()).await;
    let password = obscured("pw");
    let options = [
        ("password", password.as_str()),
        ("filename_encryption", "off"),
    ];
    let secure = crypt_remote(&runtime, base, "v", &options).await;
    let bytes = data(200_000, 3);
    secure
        .put("damaged", &bytes[..], WriteOptions::default())
        .await
        .unwrap();
    secure
        .put("short", &bytes[..], WriteOptions::default())
        .await
        .unwrap();
    let damaged = dir.path().join("v/damaged.bin");
    let mut stored = std::fs::read(&damaged).unwrap();
    stored[40] ^= 0x20;
    std::fs::write(&damaged, &stored).unwrap();
    let mut out = Vec::new();
    let err = secure.get("damaged", None, &mut out).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("\"damaged\": its data does not decrypt"),
        "{err}"
    );
    assert!(out.is_empty());

    let short = dir.path().join("v/short.bin");
    let stored = std::fs::read(&short).unwrap();
    std::fs::write(&short, &stored[..40]).unwrap();
    let err = secure.stat("short").await.unwrap_err();
    assert!(
        err.to_string().contains(
            "\"short\": it is truncated or damaged below (file has truncated block header)"
        ),
        "{err}"
    );
}
