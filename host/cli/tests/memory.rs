//! Streaming holds: a 1 GiB copy into `media:` and back keeps the peak RSS
//! of the `wharf` process under 64 MiB. Measured by the kernel (wait4's
//! rusage), not with a timer.

mod common;

use std::io::{Read, Write};
use std::path::Path;

use common::Scratch;

const GIB: u64 = 1 << 30;
const RSS_LIMIT_KIB: i64 = 64 * 1024;

/// Runs `wharf args…` to completion and returns its peak RSS in KiB.
fn peak_rss_kib(s: &Scratch, args: &[&str]) -> i64 {
    // Reaped by wait4 below, which also reports the peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = s.wharf_process().args(args).spawn().expect("wharf starts");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 reaps exactly
    // this child, which std's Child then never waits for again.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "wharf {args:?} failed: {status}"
    );
    usage.ru_maxrss
}

/// 1 GiB of incompressible, reproducible bytes.
fn write_big_file(path: &Path) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..(GIB >> 20) {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block).unwrap();
    }
    file.flush().unwrap();
}

fn same_contents(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut x, mut y) = (vec![0; 1 << 20], vec![0; 1 << 20]);
    loop {
        let n = a.read(&mut x).unwrap();
        let mut filled = 0;
        while filled < n {
            let m = b.read(&mut y[filled..n]).unwrap();
            if m == 0 {
                return false;
            }
            filled += m;
        }
        if n == 0 {
            return b.read(&mut y).unwrap() == 0;
        }
        if x[..n] != y[..n] {
            return false;
        }
    }
}

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
