//! One command loads each plugin once and shares its instances: a
//! transfer with `--transfers 8` starts at most 8 instances per remote for
//! the objects and one for the listing, all from one loaded plugin.

mod common;

use common::Scratch;

/// `name=count` pairs, in the order reported.
type Counts = Vec<(String, u64)>;

/// What `WHARF_DEBUG=loads` reported: (plugin loads, instances started).
fn loads(stderr: &[u8]) -> (Counts, Counts) {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("wharf: debug: plugin loads: "))
        .unwrap_or_else(|| panic!("no load report in: {text}"));
    let (plugins, instances) = line.split_once("; instances started: ").unwrap();
    let pairs = |text: &str| {
        text.split_whitespace()
            .map(|pair| {
                let (name, n) = pair.split_once('=').unwrap();
                (name.to_owned(), n.parse().unwrap())
            })
            .collect::<Vec<_>>()
    };
    (pairs(plugins), pairs(instances))
}

fn tree(s: &Scratch, count: usize) {
    for i in 0..count {
        s.file(
            &format!("src/d{}/f{i:03}.bin", i % 4),
            &vec![i as u8; 40_000 + i],
        );
    }
}

#[test]
fn cp_recursive_with_8_transfers_loads_the_plugin_once() {
    let s = Scratch::new();
    tree(&s, 120);
    let out = s
        .wharf()
        .env("WHARF_DEBUG", "loads")
        .args(["cp", "-R", "--transfers", "8", "src", "media:tree"])
        .assert()
        .success();
    let (plugins, instances) = loads(&out.get_output().stderr);
    assert_eq!(plugins, [("fs".to_owned(), 1)]);
    let [(remote, started)] = &instances[..] else {
        panic!("{instances:?}")
    };
    assert_eq!(remote, "media");
    assert!((1..=9).contains(started), "{started} instances");
    assert_eq!(s.files_under("media/tree").len(), 120);
}

#[test]
fn two_remotes_of_one_plugin_share_the_load_and_keep_their_own_instances() {
    let s = Scratch::new();
    tree(&s, 60);
    s.write_config("[remotes.backup]\nplugin = \"fs\"\nroot = \"./backup\"\n");
    s.wharf()
        .args(["cp", "-R", "src", "media:photos"])
        .assert()
        .success();
    let out = s
        .wharf()
        .env("WHARF_DEBUG", "loads")
        .args(["sync", "--transfers", "8", "media:photos", "backup:photos"])
        .assert()
        .success();
    let (plugins, instances) = loads(&out.get_output().stderr);
    assert_eq!(plugins, [("fs".to_owned(), 1)]);
    assert_eq!(instances.len(), 2, "{instances:?}");
    for (remote, started) in &instances {
        assert!((1..=9).contains(started), "{remote}: {started} instances");
    }
    assert_eq!(s.files_under("backup/photos").len(), 60);
}

#[test]
fn max_instances_bounds_the_instances_of_a_remote() {
    let s = Scratch::new();
    tree(&s, 40);
    s.write_config("[remotes.one]\nplugin = \"fs\"\nroot = \"./one\"\nmax_instances = 1\n");
    let out = s
        .wharf()
        .env("WHARF_DEBUG", "loads")
        .args(["cp", "-R", "--transfers", "8", "src", "one:"])
        .assert()
        .success();
    let (_, instances) = loads(&out.get_output().stderr);
    assert_eq!(instances, [("one".to_owned(), 1)]);
    assert_eq!(s.files_under("one").len(), 40);
}
