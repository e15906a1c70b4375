//! Streaming holds: a 1 GiB copy into `media:` and back keeps the peak RSS
//! of the `wharf` process under 64 MiB. Measured by the kernel (wait4's
//! rusage), not with a timer.

mod common;

use common::Scratch;

use common::{peak_rss_kib, same_contents, write_big_file, GIB};

const RSS_LIMIT_KIB: i64 = 64 * 1024;

#[test]
fn one_gib_copy_to_media_and_back_stays_under_64_mib() {
    let s = Scratch::new();
    let big = s.path().join("big.bin");
    write_big_file(&big);
    // Compile (or load) the plugin once so the measured runs are the
    // steady state a user sees from the second run on.
    peak_rss_kib(&s, &["ls", "media:"]);

    let up = peak_rss_kib(&s, &["cp", "big.bin", "media:big.bin"]);
    assert_eq!(
        std::fs::metadata(s.path().join("media/big.bin"))
            .unwrap()
            .len(),
        GIB
    );
    let down = peak_rss_kib(&s, &["cp", "media:big.bin", "back.bin"]);
    eprintln!("peak RSS: up {} MiB, down {} MiB", up / 1024, down / 1024);
    assert!(
        up < RSS_LIMIT_KIB,
        "upload peak RSS {up} KiB is over {RSS_LIMIT_KIB} KiB"
    );
    assert!(
        down < RSS_LIMIT_KIB,
        "download peak RSS {down} KiB is over {RSS_LIMIT_KIB} KiB"
    );
    assert!(
        same_contents(&big, &s.path().join("back.bin")),
        "the round trip changed the bytes"
    );
    assert!(same_contents(&big, &s.path().join("media/big.bin")));
}
