//! The `wharf` command end to end, on scratch directories.

mod common;

use common::Scratch;
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn put_and_cat_on_media_need_no_config() {
    let s = Scratch::new();
    s.file("photo.jpg", b"jpeg bytes");
    s.wharf()
        .args(["put", "photo.jpg", "media:2026/photo.jpg"])
        .assert()
        .success();
    assert_eq!(s.read("media/2026/photo.jpg"), b"jpeg bytes");
    s.wharf()
        .args(["cat", "media:2026/photo.jpg"])
        .assert()
        .success()
        .stdout("jpeg bytes");
}

#[test]
fn put_into_a_prefix_keeps_the_file_name() {
    let s = Scratch::new();
    s.file("a.txt", b"a");
    s.wharf()
        .args(["put", "a.txt", "media:docs/"])
        .assert()
        .success();
    assert_eq!(s.read("media/docs/a.txt"), b"a");
}

#[test]
fn ls_shows_one_level_or_everything() {
    let s = Scratch::new();
    s.file("x", b"12345");
    for key in ["a/1.txt", "a/b/2.txt", "c.txt", "a-b.txt"] {
        s.wharf()
            .args(["put", "x", &format!("media:{key}")])
            .assert()
            .success();
    }
    s.wharf()
        .args(["ls", "media:"])
        .assert()
        .success()
        .stdout("a-b.txt\na/\nc.txt\n");
    s.wharf()
        .args(["ls", "-R", "media:"])
        .assert()
        .success()
        .stdout("a-b.txt\na/1.txt\na/b/2.txt\nc.txt\n");
    s.wharf()
        .args(["ls", "media:a"])
        .assert()
        .success()
        .stdout("a/1.txt\na/b/\n");
    let long = s
        .wharf()
        .args(["ls", "-l", "media:c.txt"])
        .assert()
        .success();
    let line = String::from_utf8(long.get_output().stdout.clone()).unwrap();
    assert!(
        line.trim_start().starts_with("5 ") && line.trim_end().ends_with("c.txt"),
        "{line}"
    );
}

#[test]
fn ls_json_is_an_array_of_objects_and_prefixes() {
    let s = Scratch::new();
    s.file("x", b"abc");
    s.wharf()
        .args(["put", "x", "media:p/one"])
        .assert()
        .success();
    s.wharf()
        .args(["put", "x", "media:p/sub/two"])
        .assert()
        .success();
    let out = s
        .wharf()
        .args(["ls", "--json", "media:p/"])
        .assert()
        .success();
    let value: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let entries = value.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["key"], "p/one");
    assert_eq!(entries[0]["size"], 3);
    assert_eq!(entries[0]["is_prefix"], false);
    assert!(entries[0]["last_modified"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[1]["key"], "p/sub/");
    assert_eq!(entries[1]["is_prefix"], true);
    let empty = s
        .wharf()
        .args(["ls", "--json", "media:"])
        .env("WHARF_REMOTE_MEDIA_ROOT", "nothing-here")
        .assert()
        .success();
    let value: Value = serde_json::from_slice(&empty.get_output().stdout).unwrap();
    assert_eq!(value, serde_json::json!([]));
}

#[test]
fn stat_reports_size_and_time() {
    let s = Scratch::new();
    s.file("x", &[7; 1000]);
    s.wharf().args(["put", "x", "media:k"]).assert().success();
    let out = s
        .wharf()
        .args(["stat", "--json", "media:k"])
        .assert()
        .success();
    let value: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(value["key"], "k");
    assert_eq!(value["size"], 1000);
    assert!(value["last_modified"].is_string());
    s.wharf()
        .args(["stat", "media:k"])
        .assert()
        .success()
        .stdout(predicate::str::contains("size:          1000"));
}

#[test]
fn cat_prints_ranges() {
    let s = Scratch::new();
    s.file("x", b"0123456789");
    s.wharf()
        .args(["put", "x", "media:digits"])
        .assert()
        .success();
    let cat = |args: &[&str]| {
        let mut all = vec!["cat", "media:digits"];
        all.extend_from_slice(args);
        String::from_utf8(
            s.wharf()
                .args(&all)
                .assert()
                .success()
                .get_output()
                .stdout
                .clone(),
        )
        .unwrap()
    };
    assert_eq!(cat(&["--offset", "3", "--count", "4"]), "3456");
    assert_eq!(cat(&["--offset", "7"]), "789");
    assert_eq!(cat(&["--tail", "2"]), "89");
    assert_eq!(cat(&["--offset", "50"]), "");
}

#[test]
fn rm_deletes_and_leaves_no_empty_directories() {
    let s = Scratch::new();
    s.file("x", b"x");
    s.wharf()
        .args(["put", "x", "media:a/b/c/one"])
        .assert()
        .success();
    s.wharf()
        .args(["put", "x", "media:keep"])
        .assert()
        .success();
    s.wharf().args(["rm", "media:a/b/c/one"]).assert().success();
    assert!(
        !s.path().join("media/a").exists(),
        "empty parents are pruned"
    );
    assert!(s.path().join("media/keep").exists());
    s.wharf()
        .args(["rm", "media:a/b/c/one"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("media:a/b/c/one"));
}

#[test]
fn rm_recursive_removes_a_prefix() {
    let s = Scratch::new();
    s.file("x", b"x");
    for i in 0..5 {
        s.wharf()
            .args(["put", "x", &format!("media:tree/{i}/f")])
            .assert()
            .success();
    }
    s.wharf()
        .args(["put", "x", "media:treehouse"])
        .assert()
        .success();
    s.wharf()
        .args(["rm", "-R", "media:tree"])
        .assert()
        .success();
    s.wharf()
        .args(["ls", "-R", "media:"])
        .assert()
        .success()
        .stdout("treehouse\n");
}

#[test]
fn get_writes_a_local_file() {
    let s = Scratch::new();
    s.file("x", b"payload");
    s.wharf()
        .args(["put", "x", "media:dir/obj"])
        .assert()
        .success();
    s.wharf()
        .args(["get", "media:dir/obj", "out/copy"])
        .assert()
        .success();
    assert_eq!(s.read("out/copy"), b"payload");
    std::fs::create_dir(s.path().join("into")).unwrap();
    s.wharf()
        .args(["get", "media:dir/obj", "into"])
        .assert()
        .success();
    assert_eq!(s.read("into/obj"), b"payload");
}

#[test]
fn a_second_fs_remote_from_the_config_file() {
    let s = Scratch::new();
    s.write_config(&format!(
        "[remotes.backup]\nplugin = \"fs\"\nroot = \"{}\"\n",
        s.path().join("backup-root").display()
    ));
    s.file("x", b"both ways");
    s.wharf().args(["put", "x", "media:m/x"]).assert().success();
    s.wharf()
        .args(["cp", "media:m/x", "backup:b/x"])
        .assert()
        .success();
    assert_eq!(s.read("backup-root/b/x"), b"both ways");
    s.wharf()
        .args(["cp", "backup:b/x", "media:m/back"])
        .assert()
        .success();
    assert_eq!(s.read("media/m/back"), b"both ways");
    s.wharf()
        .args(["ls", "-R", "backup:"])
        .assert()
        .success()
        .stdout("b/x\n");
    let json = |args: &[&str]| -> Value {
        let out = s.wharf().args(args).assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    };
    let top = json(&["ls", "--json", "backup:"]);
    assert_eq!(top.as_array().unwrap().len(), 1, "{top}");
    assert_eq!(top[0]["key"], "b/");
    assert_eq!(top[0]["is_prefix"], true);
    let all = json(&["ls", "--json", "-R", "backup:"]);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(all[0]["key"], "b/x");
    assert_eq!(all[0]["size"], 9);
    assert_eq!(all[0]["is_prefix"], false);
    let stat = json(&["stat", "--json", "backup:b/x"]);
    assert_eq!(stat["key"], "b/x");
    assert_eq!(stat["size"], 9);
    s.wharf()
        .args(["stat", "backup:b/x"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("key:           b/x")
                .and(predicate::str::contains("size:          9")),
        );
    s.wharf()
        .args(["cat", "backup:b/x"])
        .assert()
        .success()
        .stdout("both ways");
    s.wharf()
        .args(["cat", "media:m/back"])
        .assert()
        .success()
        .stdout("both ways");
    s.wharf().args(["rm", "media:m/back"]).assert().success();
    assert!(!s.path().join("media/m/back").exists());
    s.wharf().args(["cat", "media:m/back"]).assert().code(3);
    s.wharf()
        .args(["ls", "-R", "media:"])
        .assert()
        .success()
        .stdout("m/x\n");
    s.wharf().args(["rm", "backup:b/x"]).assert().success();
    s.wharf().args(["cat", "backup:b/x"]).assert().code(3);
    s.wharf()
        .args(["remotes"])
        .assert()
        .success()
        .stdout(predicate::str::contains("backup").and(predicate::str::contains("media")));
}

#[test]
fn cp_recursive_across_remotes_and_back_to_disk() {
    let s = Scratch::new();
    s.write_config(&format!(
        "[remotes.other]\nplugin = \"fs\"\nroot = \"{}\"\n",
        s.path().join("other").display()
    ));
    for (name, body) in [
        ("src/a.txt", "A"),
        ("src/d/b.txt", "B"),
        ("src/d/e/c.txt", "C"),
    ] {
        s.file(name, body.as_bytes());
    }
    s.wharf()
        .args(["cp", "-R", "src", "media:up"])
        .assert()
        .success();
    s.wharf()
        .args(["ls", "-R", "media:up"])
        .assert()
        .success()
        .stdout("up/a.txt\nup/d/b.txt\nup/d/e/c.txt\n");
    s.wharf()
        .args(["cp", "-R", "media:up", "other:mirror/"])
        .assert()
        .success();
    s.wharf()
        .args(["cp", "-R", "other:mirror", "down"])
        .assert()
        .success();
    assert_eq!(s.read("down/d/e/c.txt"), b"C");
    assert_eq!(s.read("down/a.txt"), b"A");
}

#[test]
fn cp_within_one_remote_uses_server_side_copy() {
    let s = Scratch::new();
    s.file("x", &vec![42; 3 << 20]);
    s.wharf()
        .args(["put", "x", "media:orig"])
        .assert()
        .success();
    s.wharf()
        .args(["cp", "media:orig", "media:dup/copy"])
        .assert()
        .success();
    assert_eq!(s.read("media/dup/copy"), vec![42; 3 << 20]);
}

#[test]
fn environment_overrides_options_and_defines_remotes() {
    let s = Scratch::new();
    s.file("x", b"env");
    s.wharf()
        .args(["put", "x", "media:k"])
        .env("WHARF_REMOTE_MEDIA_ROOT", "elsewhere")
        .assert()
        .success();
    assert_eq!(s.read("elsewhere/k"), b"env");
    s.wharf()
        .args(["put", "x", "scratch-remote:k"])
        .env("WHARF_REMOTE_SCRATCH_REMOTE_PLUGIN", "fs")
        .env("WHARF_REMOTE_SCRATCH_REMOTE_ROOT", "from-env")
        .assert()
        .success();
    assert_eq!(s.read("from-env/k"), b"env");
}

#[test]
fn errors_name_the_remote_and_key_and_set_the_exit_code() {
    let s = Scratch::new();
    s.wharf()
        .args(["cat", "media:missing.jpg"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("media:missing.jpg")
                .and(predicate::str::contains("no object")),
        );
    s.wharf()
        .args(["cat", "nosuch:key"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no remote named 'nosuch'"));
    s.wharf()
        .args(["cat", "media:a//b"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid key"));
    s.wharf()
        .args(["cat", "local-file.txt"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("needs remote:key"));
    s.wharf().args(["frobnicate"]).assert().code(2);
    s.write_config("[remotes.broken]\nroot = \"/x\"\n");
    s.wharf()
        .args(["ls", "media:"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no 'plugin' key"));
}

#[test]
fn plugins_lists_the_fs_plugin_and_its_access() {
    let s = Scratch::new();
    s.wharf().args(["plugins"]).assert().success().stdout(
        predicate::str::contains("fs 0.1.0").and(predicate::str::contains("option 'root'")),
    );
    let out = s.wharf().args(["plugins", "--json"]).assert().success();
    let value: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(value[0]["name"], "fs");
    assert_eq!(value[0]["contract"], "0.3.0");
    assert_eq!(value[0]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn a_dropped_in_plugin_is_usable_by_name() {
    let s = Scratch::new();
    // The fs component itself, dropped into the plugin directory under
    // another name, stands in for a third-party plugin.
    let plugins = s.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("myfs.wasm"), fs_component()).unwrap();
    s.write_config("[remotes.mine]\nplugin = \"myfs\"\nroot = \"mine-root\"\n");
    s.file("x", b"third party");
    s.wharf().args(["put", "x", "mine:k"]).assert().success();
    assert_eq!(s.read("mine-root/k"), b"third party");
    s.wharf()
        .args(["plugins"])
        .assert()
        .success()
        .stdout(predicate::str::contains("myfs.wasm"));
}

fn fs_component() -> Vec<u8> {
    let target = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = target
        .parent()
        .unwrap()
        .join("wasm-plugins/wasm32-wasip2/release/wharf_plugin_fs.wasm");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("the fs component should be at {}: {e}", path.display()))
}

#[test]
fn conformance_runs_against_a_plugin_file_and_prints_the_count_line() {
    let s = Scratch::new();
    let plugin = s.path().join("fs-copy.wasm");
    std::fs::write(&plugin, fs_component()).unwrap();
    let root = s.path().join("suite-root");
    let out = s
        .wharf()
        .args([
            "conformance",
            plugin.to_str().unwrap(),
            "--option",
            &format!("root={}", root.display()),
        ])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let last = text.lines().last().unwrap();
    assert_eq!(last, "83 passed, 0 failed, 10 skipped");
    // fs refuses a taken key in the same step as the write; without
    // base_url it makes no URLs.
    assert!(
        text.lines().any(|l| l.starts_with("create-only")
            && l.contains("exactly one wins")
            && l.contains("ok (")),
        "{text}"
    );
    assert!(
        text.contains("not applicable: describe says the store makes no expiring URLs"),
        "{text}"
    );
    assert!(
        text.contains("not applicable: capability 'key-and-prefix' is not declared"),
        "{text}"
    );
    // The suite cleans up after itself.
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, Vec::<std::ffi::OsString>::new());
}

#[test]
fn conformance_on_a_store_that_does_not_open_says_why_once() {
    let s = Scratch::new();
    let root = s.path().join("suite-root");
    s.wharf()
        .args([
            "conformance",
            "fs",
            "--option",
            &format!("root={}", root.display()),
            "--option",
            "colour=blue",
        ])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "wharf: cannot run the conformance suite: plugin 'fs' cannot write to the store \
             (every case would fail the same way): open on remote 'conformance': unknown option \
             'colour'",
        ));
    let written: Vec<_> = std::fs::read_dir(&root)
        .map(|dir| dir.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "nothing is written: {written:?}");
}

#[test]
fn conformance_json_report_for_a_configured_remote() {
    let s = Scratch::new();
    s.write_config("[remotes.box]\nplugin = \"fs\"\nroot = \"box\"\n");
    let out = s
        .wharf()
        .args([
            "conformance",
            "--remote",
            "box",
            "--json",
            "--filter",
            "atomicity",
        ])
        .assert()
        .success();
    let value: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(value["plugin"], "fs");
    assert_eq!(value["failed"], 0);
    assert_eq!(value["passed"], 7);
    assert!(value["cases"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["group"] == "atomicity" && c["result"] == "passed"));
}

#[test]
fn usage_mistakes_exit_2_and_say_what_to_do() {
    let s = Scratch::new();
    s.file("x", b"0123456789");
    s.wharf()
        .args(["put", "x", "media:digits"])
        .assert()
        .success();
    s.wharf()
        .args(["cat", "media:digits", "--tail", "2", "--offset", "1"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "--tail cannot be combined with --offset or --count",
        ));
    s.wharf()
        .args(["cat", "media:digits", "--tail", "2", "--count", "1"])
        .assert()
        .code(2);
    s.wharf().args(["rm", "media:"]).assert().code(2).stderr(
        predicate::str::contains("give a key to remove").and(predicate::str::contains("-R")),
    );
    assert_eq!(s.read("media/digits"), b"0123456789");
    // A whole remote copied into a prefix has no name to take there.
    s.wharf()
        .args(["cp", "media:", "media:copies/"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot tell what to name the copy of media:",
        ));
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_cat_and_ls_normally() {
    let s = Scratch::new();
    // Far more than a pipe's buffer (64 KiB on Linux), so wharf is still
    // writing when the reader goes.
    common::write_pattern_file(&s.path().join("big"), 16 << 20);
    s.wharf()
        .args(["put", "big", "media:big"])
        .assert()
        .success();
    let (status, stderr) = read_a_little_then_close(&s, &["cat", "media:big"]);
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(stderr, "");

    for i in 0..3000 {
        std::fs::write(s.path().join(format!("media/many-{i:05}")), b"").unwrap();
    }
    let (status, stderr) = read_a_little_then_close(&s, &["ls", "-l", "media:"]);
    assert!(status.success(), "{status}: {stderr}");
}

/// Runs wharf with `args`, reads the first 3 bytes of its output and closes
/// the pipe, as `| head -c 3` would; returns how wharf ended and what it
/// wrote to stderr.
fn read_a_little_then_close(s: &Scratch, args: &[&str]) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    use std::process::Stdio;

    let mut child = s
        .wharf_process()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 3];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

#[test]
fn the_config_option_wins_over_wharf_config() {
    let s = Scratch::new();
    s.write_config("[remotes.site]\nplugin = \"fs\"\nroot = \"from-env-config\"\n");
    let chosen = s.file(
        "elsewhere/chosen.toml",
        b"[remotes.site]\nplugin = \"fs\"\nroot = \"from-option\"\n",
    );
    s.file("x", b"where?");
    s.wharf()
        .args(["--config", chosen.to_str().unwrap(), "put", "x", "site:k"])
        .assert()
        .success();
    assert_eq!(s.read("from-option/k"), b"where?");
    assert!(!s.path().join("from-env-config").exists());
    s.wharf()
        .args(["config", "path", "--config", chosen.to_str().unwrap()])
        .assert()
        .success()
        .stdout(format!("{}\n", chosen.display()));
    // Without the option, WHARF_CONFIG is the file.
    s.wharf().args(["put", "x", "site:k"]).assert().success();
    assert_eq!(s.read("from-env-config/k"), b"where?");
}

#[test]
fn without_wharf_config_the_file_in_the_xdg_config_directory_is_used() {
    let s = Scratch::new();
    let xdg_config = s.path().join("xdg-config");
    s.file(
        "xdg-config/wharf/config.toml",
        b"[remotes.site]\nplugin = \"fs\"\nroot = \"from-xdg\"\n",
    );
    s.file("x", b"default place");
    let wharf = || {
        let mut cmd = s.wharf();
        cmd.env_remove("WHARF_CONFIG")
            .env("XDG_CONFIG_HOME", &xdg_config)
            .env("HOME", s.path());
        cmd
    };
    wharf().args(["put", "x", "site:k"]).assert().success();
    assert_eq!(s.read("from-xdg/k"), b"default place");
    wharf()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            xdg_config.join("wharf/config.toml").display()
        ));
}

#[test]
fn without_wharf_plugin_path_a_plugin_in_the_xdg_data_directory_is_usable_by_name() {
    let s = Scratch::new();
    let xdg_data = s.path().join("xdg-data");
    let plugins = xdg_data.join("wharf/plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::write(plugins.join("datafs.wasm"), fs_component()).unwrap();
    s.write_config("[remotes.mine]\nplugin = \"datafs\"\nroot = \"data-root\"\n");
    s.file("x", b"from the data directory");
    let wharf = || {
        let mut cmd = s.wharf();
        cmd.env_remove("WHARF_PLUGIN_PATH")
            .env("XDG_DATA_HOME", &xdg_data)
            .env("HOME", s.path());
        cmd
    };
    wharf().args(["put", "x", "mine:k"]).assert().success();
    assert_eq!(s.read("data-root/k"), b"from the data directory");
    wharf()
        .args(["plugins"])
        .assert()
        .success()
        .stdout(predicate::str::contains("datafs.wasm"));
}

/// A key may hold any character but NUL, and a plugin's message any text:
/// shown on a terminal, their control characters are written out, so an
/// escape sequence cannot erase or recolour what the user reads.
#[test]
fn control_characters_in_keys_and_messages_are_written_out() {
    let s = Scratch::new();
    let hidden = "a\u{1b}[2K\rb.txt";
    s.file(&format!("media/{hidden}"), b"x");
    let raw = |bytes: &[u8]| bytes.iter().any(|b| *b == 0x1b || *b == b'\r');
    let out = s.wharf().args(["ls", "-l", "media:"]).assert().success();
    let listed = out.get_output();
    assert!(!raw(&listed.stdout), "{:?}", listed.stdout);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("a\\u{1b}[2K\\u{d}b.txt"),
        "{:?}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let out = s
        .wharf()
        .args(["stat", &format!("media:{hidden}")])
        .assert()
        .success();
    assert!(!raw(&out.get_output().stdout));
    // The key in an error, from the host's context and the plugin's words.
    let out = s
        .wharf()
        .args(["cat", "media:gone\u{1b}]0;owned\u{7}"])
        .assert()
        .code(3);
    let err = &out.get_output().stderr;
    assert!(
        !raw(err) && !err.contains(&7u8),
        "{:?}",
        String::from_utf8_lossy(err)
    );
    assert!(
        String::from_utf8_lossy(err).contains("gone\\u{1b}]0;owned\\u{7}"),
        "{}",
        String::from_utf8_lossy(err)
    );
    // JSON keeps the key as it is (JSON escapes it).
    let out = s
        .wharf()
        .args(["ls", "--json", "media:"])
        .assert()
        .success();
    let value: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(value[0]["key"], hidden);
}
