//! `keydeck demo` as a person meets it, the real binary in a pseudo-terminal: with
//! PostgreSQL's server installed it brings its own database, `shop`, whose statements fill the
//! Query Stats tab within seconds, and which is gone (processes and files) when the demo ends,
//! by `q` or by SIGTERM; with `--no-postgres` the tab explains what would fill it.
//!
//! The PostgreSQL tests need the server binaries (as the demo finds them); without them they
//! are skipped, loudly, unless `KEYDECK_REQUIRE_PG=1`, where they fail.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::pty::Tui;

/// Where the demo would find PostgreSQL's server (a smaller search than the demo's: what a
/// test machine has).
fn pg_binaries() -> bool {
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("initdb").is_file()));
    let debian = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.path().join("bin/initdb").is_file())
    });
    on_path || debian
}

/// Whether the PostgreSQL tests run: binaries there, or a loud skip (a failure under
/// `KEYDECK_REQUIRE_PG=1`).
fn need_pg(what: &str) -> bool {
    if pg_binaries() {
        return true;
    }
    assert!(
        std::env::var("KEYDECK_REQUIRE_PG").as_deref() != Ok("1"),
        "KEYDECK_REQUIRE_PG=1 but no PostgreSQL server binaries are installed"
    );
    eprintln!("SKIPPED: {what}: no PostgreSQL server binaries (apt-get install postgresql)");
    false
}

/// A temporary directory for the demo's own (`TMPDIR`), open to the `postgres` user the
/// cluster runs as when the tests run as root.
fn tmpdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// The processes whose command line names `path` (the demo's postgres and its backends name
/// their data directory only in the postmaster's; the rest are found by parent).
fn postmasters_under(path: &Path) -> Vec<u32> {
    let needle = path.to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&needle))
        })
        .collect()
}

/// What is left in `dir`.
fn left_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Waits for the demo to exit, at most 20 s.
fn wait_exit(tui: &mut Tui) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tui.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the demo did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// After the demo ended: no postgres of it runs and its temporary directory is gone.
fn assert_cleaned_up(tmp: &Path) {
    // The postmaster is waited for before the demo exits: nothing to wait for here.
    assert_eq!(
        postmasters_under(tmp),
        Vec::<u32>::new(),
        "a postgres outlived the demo"
    );
    assert_eq!(
        left_in(tmp),
        Vec::<PathBuf>::new(),
        "the demo left files behind"
    );
}

#[test]
fn the_demo_brings_its_own_postgres_and_takes_it_away() {
    if !need_pg("the demo's own PostgreSQL") {
        return;
    }
    let tmp = tmpdir();
    let tmp_path = tmp.path().to_str().unwrap().to_owned();
    let started = Instant::now();
    let mut tui = Tui::spawn(&["demo"], &[("TMPDIR", &tmp_path)], (35, 120));
    tui.screen.wait_for("Keys: ");
    tui.send("3");
    // The statements of the workload, within seconds of the start.
    let screen = tui.screen.wait_for("page_views");
    let took = started.elapsed();
    eprintln!("shop statements on screen after {took:?}");
    assert!(screen.contains("Statements of shop"), "{screen}");
    assert!(
        took < Duration::from_secs(25),
        "statements took {took:?}:\n{screen}"
    );
    assert_eq!(
        postmasters_under(tmp.path()).len(),
        1,
        "one postmaster runs"
    );
    // A statement's charts start when monitoring did: intervals as wide as the demo's
    // sampling (5 s) over the seconds sampled, not of 12 minutes over a day.
    tui.send("\r");
    let detail = tui.screen.wait_for("Calls per ");
    assert!(
        detail.contains("Calls per 5s interval (last ") && detail.contains(" sampled of "),
        "{detail}"
    );
    tui.send("q");
    wait_exit(&mut tui);
    assert_cleaned_up(tmp.path());
}

#[test]
fn sigterm_stops_the_demos_postgres_too() {
    if !need_pg("the demo's own PostgreSQL on SIGTERM") {
        return;
    }
    let tmp = tmpdir();
    let tmp_path = tmp.path().to_str().unwrap().to_owned();
    let mut tui = Tui::spawn(&["demo"], &[("TMPDIR", &tmp_path)], (35, 120));
    tui.screen.wait_for("Keys: ");
    let deadline = Instant::now() + Duration::from_secs(30);
    while postmasters_under(tmp.path()).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the demo's postgres never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = tui.child.process_id().expect("the demo's pid");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_exit(&mut tui);
    assert_cleaned_up(tmp.path());
}

#[test]
fn without_postgres_the_stats_tab_says_what_would_fill_it() {
    let tmp = tmpdir();
    let tmp_path = tmp.path().to_str().unwrap().to_owned();
    let mut tui = Tui::spawn(
        &["demo", "--no-postgres"],
        &[("TMPDIR", &tmp_path)],
        (24, 80),
    );
    tui.screen.wait_for("Keys: ");
    tui.send("3");
    // One screen of 80×24 holds all of it.
    let screen = tui.screen.wait_for("CREATE EXTENSION pg_stat_statements;");
    for line in [
        "keydeck demo --no-postgres",
        "apt-get install postgresql",
        "brew install postgresql",
        "keydeck demo --monitor NAME=postgres://",
        "shared_preload_libraries = 'pg_stat_statements'",
    ] {
        assert!(screen.contains(line), "`{line}` missing:\n{screen}");
    }
    // Keys with nothing to act on say why.
    for (key, says) in [
        ("y", "Nothing to copy"),
        ("w", "Nothing to set a window for"),
        ("s", "Nothing to sort"),
        ("\r", "Nothing to open"),
    ] {
        tui.send(key);
        tui.screen.wait_for(says);
    }
    tui.send("q");
    wait_exit(&mut tui);
    assert!(postmasters_under(tmp.path()).is_empty());
    assert_eq!(left_in(tmp.path()), Vec::<PathBuf>::new());
}
