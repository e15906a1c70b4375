//! MiB/s of this crate's MD5 against the `md-5` crate's, on 256 MiB:
//! `cargo run --release -p wharf-md5 --example speed`.

use md5_reference::Digest as _;
use std::time::Instant;

fn main() {
    let data: Vec<u8> = (0..256u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for round in 0..3 {
        let start = Instant::now();
        let ours = wharf_md5::digest(&data);
        let ours_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let theirs: [u8; 16] = md5_reference::Md5::digest(&data).into();
        let theirs_s = start.elapsed().as_secs_f64();
        assert_eq!(ours, theirs);
        println!(
            "round {round}: wharf-md5 {:.0} MiB/s, md-5 {:.0} MiB/s",
            256.0 / ours_s,
            256.0 / theirs_s
        );
    }
}
