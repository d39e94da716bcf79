//! Resident memory of the app after paging through 100,000 keys (Linux: /proc/self/status
//! VmRSS): the Keys tab keeps a window of pages, so it should not grow with the listing.
//! Run: cargo bench --bench tui_memory
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    const N: usize = 100_000;
    let before = rss_kib();
    let mut app = common::empty_app();
    common::load_keys(&mut app, N).expect("fixtures deserialize");
    let after = rss_kib();
    let held = app.keys.loaded();
    match (before, after) {
        (Some(b), Some(a)) => {
            println!("RSS before loading: {:.1} MiB", b as f64 / 1024.0);
            println!(
                "RSS after paging through {N} keys: {:.1} MiB ({held} keys held)",
                a as f64 / 1024.0,
            );
        }
        _ => println!("VmRSS is not available on this platform"),
    }
}
