//! Resident memory of the app with 100,000 keys loaded (Linux: /proc/self/status VmRSS).
//! Run: cargo bench --bench tui_memory

use keydeck::api::Page;
use keydeck::tui::action::Action;
use keydeck::tui::app::{App, Session};
use keydeck::tui::keymap::Keymap;
use keydeck::tui::theme::Theme;

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
    let session = Session {
        profile: "bench".into(),
        endpoint: "http://127.0.0.1:7100/graphql".into(),
        credential_store: "memory".into(),
    };
    let mut app = App::new(
        session,
        Keymap::defaults(),
        Theme::mono(),
        time::OffsetDateTime::now_utc(),
    );
    // Loaded in pages of 500, as the TUI receives them.
    for chunk in (0..N).step_by(500) {
        let items: Vec<_> = (chunk..chunk + 500)
            .map(|i| keydeck::tui::fixtures::sample_key(i).expect("fixture"))
            .collect();
        app.update(Action::KeysLoaded {
            append: chunk > 0,
            result: Ok(Page {
                items,
                has_next: chunk + 500 < N,
                end_cursor: None,
                total: N as i64,
            }),
        });
    }
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
