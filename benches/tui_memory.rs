//! Resident memory of the app with 100,000 keys loaded (Linux: /proc/self/status VmRSS).
//! Run: cargo bench --bench tui_memory

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
    assert_eq!(app.keys.loaded(), N);
    match (before, after) {
        (Some(b), Some(a)) => {
            println!("RSS before loading: {:.1} MiB", b as f64 / 1024.0);
            println!(
                "RSS with {N} keys:  {:.1} MiB ({:.0} bytes per key)",
                a as f64 / 1024.0,
                (a.saturating_sub(b) * 1024) as f64 / N as f64
            );
        }
        _ => println!("VmRSS is not available on this platform"),
    }
}
