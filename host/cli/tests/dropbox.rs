//! Dropbox through the `wharf` command against the local fake of the
//! Dropbox API: `wharf authorize dropbox` from link to working remote, and
//! the memory of a large upload (one chunk in memory, measured from RSS).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{peak_rss_kib, same_contents, write_pattern_file, Scratch};
use wharf_test_servers::dropbox::{APP_KEY, APP_SECRET, AUTH_CODE, REFRESH_TOKEN};
use wharf_test_servers::DropboxFake;

fn authorize(
    s: &Scratch,
    fake: &DropboxFake,
    extra: &[&str],
    code: &str,
) -> assert_cmd::assert::Assert {
    let mut cmd = s.wharf();
    cmd.args([
        "authorize",
        "dropbox",
        "--remote",
        "dbx",
        "--client-id",
        APP_KEY,
    ])
    .args(extra)
    // The fake's hosts, as the plugin's own options: the token URL the
    // plugin declares (`{api_url}/oauth2/token`) follows them.
    .arg(format!("api_url={}", fake.api_url()))
    .arg(format!("content_url={}", fake.content_url()))
    .arg("--tls-ca-file")
    .arg(&fake.certs.ca)
    .write_stdin(format!("{code}\n"));
    cmd.assert()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn authorize_dropbox_stores_a_refresh_token_that_works() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    // A config with something else in it, which must survive.
    s.write_config("# my remotes\n[remotes.backup]\nplugin = \"fs\"\nroot = \"backup\"\n");
    let out = authorize(&s, &fake, &["--client-secret", APP_SECRET], AUTH_CODE).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "https://www.dropbox.com/oauth2/authorize?client_id={APP_KEY}&response_type=code"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("token_access_type=offline"), "{stderr}");
    assert!(!stderr.contains("code_challenge"), "{stderr}");

    let config = std::fs::read_to_string(&s.config).unwrap();
    assert!(
        config.contains("# my remotes") && config.contains("[remotes.backup]"),
        "{config}"
    );
    assert!(
        config.contains(&format!("refresh_token = \"{REFRESH_TOKEN}\"")),
        "{config}"
    );
    assert!(config.contains("plugin = \"dropbox\""), "{config}");
    assert_eq!(mode(&s.config), 0o600, "the config holds a secret");

    s.file("hello.txt", b"hello, dropbox");
    s.wharf()
        .args(["put", "hello.txt", "dbx:greetings/hello.txt"])
        .assert()
        .success();
    let out = s
        .wharf()
        .args(["cat", "dbx:greetings/hello.txt"])
        .assert()
        .success();
    assert_eq!(out.get_output().stdout, b"hello, dropbox");
}

#[test]
fn authorize_dropbox_without_a_secret_uses_pkce() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    let out = authorize(&s, &fake, &[], AUTH_CODE).success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("code_challenge_method=S256"), "{stderr}");
    let config = std::fs::read_to_string(&s.config).unwrap();
    assert!(!config.contains("app_secret"), "{config}");
    s.wharf().args(["ls", "dbx:"]).assert().success();
}

/// Reconnecting an existing remote needs no flags: its app key, secret,
/// hosts and CA come from what is stored.
#[test]
fn reauthorizing_an_existing_remote_reuses_its_options() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config("");
    authorize(&s, &fake, &["--client-secret", APP_SECRET], AUTH_CODE).success();
    // The code works once; the fake's reset makes it usable again.
    fake.control("POST", "/reset", "");
    let out = s
        .wharf()
        .args(["authorize", "dropbox", "--remote", "dbx"])
        .write_stdin(format!("{AUTH_CODE}\n"))
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains(&format!("client_id={APP_KEY}")), "{stderr}");
    assert!(
        !stderr.contains("code_challenge"),
        "the stored secret is used: {stderr}"
    );
    s.wharf().args(["ls", "dbx:"]).assert().success();
}

/// A plugin that declares no OAuth flow has nothing to authorize, and the
/// message says how to configure it instead.
#[test]
fn authorizing_a_plugin_without_a_flow_says_how_to_configure_it() {
    let s = Scratch::new();
    s.write_config("");
    let out = s.wharf().args(["authorize", "fs"]).assert().failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("plugin 'fs' declares no account to connect"),
        "{stderr}"
    );
    assert!(stderr.contains("wharf config create REMOTE fs"), "{stderr}");
}

#[test]
fn a_wrong_code_is_refused_with_what_to_do() {
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    // `--app-secret` is kept as another name of `--client-secret`.
    let out = authorize(&s, &fake, &["--app-secret", APP_SECRET], "not-the-code").failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("Dropbox refused the code"), "{stderr}");
    assert!(stderr.contains("wharf authorize dropbox"), "{stderr}");
    assert!(!std::fs::read_to_string(&s.config).unwrap().contains("dbx"));
}

/// 320 MiB through upload sessions of 8 MiB chunks: the `wharf` process
/// holds one chunk, not the object.
#[test]
fn a_320_mib_upload_keeps_peak_rss_bounded_by_the_chunk_size() {
    const SIZE: u64 = 320 << 20;
    // 30 MiB measured: the process's own ~20 MiB and one 8 MiB chunk.
    const RSS_LIMIT_KIB: i64 = 48 * 1024;
    let s = Scratch::new();
    let fake = DropboxFake::start(&s.path().join("fake"));
    s.write_config(&format!(
        "[remotes.dbx]\nplugin = \"dropbox\"\napp_key = \"{APP_KEY}\"\napp_secret = \"{APP_SECRET}\"\n\
         refresh_token = \"{REFRESH_TOKEN}\"\napi_url = \"{}\"\ncontent_url = \"{}\"\n\
         chunk_size = \"8388608\"\ntls_ca_file = \"{}\"\n",
        fake.api_url(),
        fake.content_url(),
        fake.certs.ca.display()
    ));
    let big = s.path().join("big.bin");
    write_pattern_file(&big, SIZE);
    peak_rss_kib(&s, &["ls", "dbx:"]);
    let up = peak_rss_kib(&s, &["cp", "big.bin", "dbx:big.bin"]);
    eprintln!("peak RSS of a 320 MiB upload to Dropbox: {} MiB", up / 1024);
    assert_eq!(
        fake.calls("/2/files/upload_session/append_v2"),
        38,
        "{}",
        fake.stats()
    );
    assert!(
        up < RSS_LIMIT_KIB,
        "upload peak RSS {up} KiB is over {RSS_LIMIT_KIB} KiB"
    );
    let down = peak_rss_kib(&s, &["cp", "dbx:big.bin", "back.bin"]);
    eprintln!("peak RSS of the download: {} MiB", down / 1024);
    assert!(same_contents(&big, &s.path().join("back.bin")));
    assert!(
        down < RSS_LIMIT_KIB,
        "download peak RSS {down} KiB is over {RSS_LIMIT_KIB} KiB"
    );
}
