//! The test site (tests/django) under Django's own test runner, with its
//! media on each backend through `wharf.django.WharfStorage`, given the
//! options a django-storages site has today; and once with django-storages'
//! own S3Storage on the same SeaweedFS, to show the two behave alike.
//! Every case runs on Django 5.2 (CPython 3.11) and Django 6 (CPython 3.12).

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use wharf_python_tests::{django_s3_options, run, workspace, Venv};
use wharf_test_servers::{DropboxFake, FtpServer, S3sFs, SeaweedFs};

const WHARF: &str = "wharf.django.WharfStorage";

/// What the site's tests expect of a backend.
struct Expect {
    /// What `url()` gives: `signed`, `public` or `none`.
    urls: &'static str,
    /// Saving over a name replaces the file by default.
    overwrite: bool,
    /// The backend refuses a save onto a taken name itself.
    create_only: bool,
    rss_limit_mib: u32,
}

const SEAWEEDFS: Expect = Expect {
    urls: "signed",
    overwrite: true,
    create_only: true,
    rss_limit_mib: 64,
};

/// s3s-fs ignores If-None-Match, which the S3 plugin finds out (and says)
/// instead of trusting it.
const S3S_FS: Expect = Expect {
    create_only: false,
    ..SEAWEEDFS
};

fn site(venv: Venv, what: &str, storage: &str, options: &Value, expect: &Expect) {
    site_with(venv, what, storage, options, expect, &[]);
}

/// [`site`] with more environment for the site's process.
fn site_with(
    venv: Venv,
    what: &str,
    storage: &str,
    options: &Value,
    expect: &Expect,
    env: &[(&str, String)],
) {
    let work = tempfile::tempdir().unwrap();
    let mut command = Command::new(venv.python());
    command
        .current_dir(workspace().join("tests/django"))
        .args(["manage.py", "test", "gallery", "-v", "2"])
        .env("SITE_WORK", work.path())
        .env("MEDIA_STORAGE", storage)
        .env("MEDIA_STORAGE_OPTIONS", options.to_string())
        .env("SITE_URLS", expect.urls)
        .env(
            "SITE_CREATE_ONLY",
            if expect.create_only { "1" } else { "0" },
        )
        .env(
            "SITE_DEFAULT_OVERWRITE",
            if expect.overwrite { "1" } else { "0" },
        )
        .env("SITE_RSS_LIMIT_MIB", expect.rss_limit_mib.to_string())
        // No user config: the options are all there is.
        .env("WHARF_CONFIG", work.path().join("no-config.toml"))
        .env("PYTHONWARNINGS", "error::DeprecationWarning:wharf")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    run(&format!("the test site on {what} ({venv:?})"), &mut command);
}

#[test]
fn media_on_a_local_folder_with_no_options() {
    for venv in Venv::ALL {
        let local = Expect {
            urls: "public",
            overwrite: true,
            create_only: true,
            rss_limit_mib: 64,
        };
        site(venv, "fs (MEDIA_ROOT)", WHARF, &json!({}), &local);
    }
}

#[test]
fn media_on_s3s_fs_with_django_storages_s3_options() {
    // A server of its own for each run: each starts from an empty bucket.
    for venv in Venv::ALL {
        let data = tempfile::tempdir().unwrap();
        let server = S3sFs::start(data.path());
        let options = django_s3_options(&server.endpoint, &server.bucket);
        site(venv, "s3s-fs", WHARF, &options, &S3S_FS);
    }
}

#[test]
fn media_on_seaweedfs_with_django_storages_s3_options() {
    for venv in Venv::ALL {
        let data = tempfile::tempdir().unwrap();
        let server = SeaweedFs::start(data.path());
        let options = django_s3_options(&server.endpoint, &server.bucket);
        site(venv, "SeaweedFS", WHARF, &options, &SEAWEEDFS);
    }
}

#[test]
fn django_storages_s3storage_passes_the_same_tests_on_seaweedfs() {
    let data = tempfile::tempdir().unwrap();
    let server = SeaweedFs::start(data.path());
    let options = django_s3_options(&server.endpoint, &server.bucket);
    let boto3 = Expect {
        urls: "signed",
        overwrite: true,
        // get_available_name's exists(), then a PUT that replaces.
        create_only: false,
        // S3Storage reads a whole object into memory before the first
        // read returns (a SpooledTemporaryFile with no size limit, as
        // max_memory_size is 0 by default), and uploads 8 MiB parts on 10
        // threads: docs/django.md names the difference.
        rss_limit_mib: 1024,
    };
    site(
        Venv::Django6,
        "SeaweedFS",
        "storages.backends.s3.S3Storage",
        &options,
        &boto3,
    );
}

#[test]
fn media_on_the_dropbox_fake_with_django_storages_dropbox_options() {
    // DropboxStorage's default write_mode ("add") keeps both files; its
    // temporary links last four hours, whatever is asked.
    let dropbox = Expect {
        urls: "links",
        overwrite: false,
        create_only: true,
        rss_limit_mib: 64,
    };
    for venv in Venv::ALL {
        let work = tempfile::tempdir().unwrap();
        let fake = DropboxFake::start(work.path());
        let mut options = json!({
            "root_path": "/site",
            "timeout": 100,
            // Where the fake is, and its certificate: what a real site
            // leaves out.
            "api_url": fake.api_url(),
            "content_url": fake.content_url(),
            "tls_ca_file": fake.certs.ca.display().to_string(),
        });
        for (name, value) in fake.options() {
            let name = match name.as_str() {
                "refresh_token" => "oauth2_refresh_token",
                other => other,
            };
            options[name] = json!(value);
        }
        // urllib trusts the fake's certificate when it fetches a link.
        let ca = fake.certs.ca.display().to_string();
        site_with(
            venv,
            "the Dropbox fake",
            WHARF,
            &options,
            &dropbox,
            &[("SSL_CERT_FILE", ca)],
        );
    }
}

#[test]
fn media_on_an_ftp_server() {
    for venv in Venv::ALL {
        let root = tempfile::tempdir().unwrap();
        let server = FtpServer::rclone(root.path());
        let mut options = json!({"plugin": "ftp"});
        for (name, value) in server.options() {
            options[name] = json!(value);
        }
        // FTP has no way to refuse a STOR or a rename onto a taken name.
        let ftp = Expect {
            urls: "none",
            overwrite: true,
            create_only: false,
            rss_limit_mib: 64,
        };
        site(venv, "FTP (rclone serve ftp)", WHARF, &options, &ftp);
    }
}

#[test]
fn the_migrations_do_not_change() {
    for venv in Venv::ALL {
        let work = tempfile::tempdir().unwrap();
        run(
            &format!("makemigrations --check ({venv:?})"),
            Command::new(venv.python())
                .current_dir(workspace().join("tests/django"))
                .args(["manage.py", "makemigrations", "--check", "--dry-run"])
                .env("SITE_WORK", work.path())
                .env("WHARF_CONFIG", Path::new(work.path()).join("none.toml")),
        );
    }
}
