//! The real binary against a real `keydeck serve` (in-process here, over loopback):
//! in a pseudo-terminal for the TUI, and as plain commands for login and the CLI.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;

mod common;

use common::TestServer;
use common::isolate;
use common::pty::Tui;
use common::serve_process::ServeProcess;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

#[tokio::test(flavor = "multi_thread")]
async fn tui_creates_a_key_shows_the_token_and_copies_it_via_osc52() {
    let service = TestServer::start().await;
    let mut tui = Tui::start(&service.graphql_url(), &service.admin);
    tui.screen.wait_for("bootstrap admin");
    tui.screen.wait_for("● online");
    tui.send("n");
    tui.screen.wait_for("New API key");
    tui.send("pty made key");
    tui.send("\r");
    let shown = tui.screen.wait_for("will not be shown again");
    let token = shown
        .split_whitespace()
        .find(|w| w.starts_with("kd_") && w.len() > 30)
        .expect("the dialog shows the token")
        .to_owned();
    tui.screen.wait_for("sent to your terminal via OSC 52");
    let osc52 = format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(&token)
    );
    tui.screen
        .wait_for_raw(&osc52, "OSC 52 with the token's base64");
    tui.send("\x1b");
    tui.screen.wait_for("pty made key");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
    tui.screen
        .wait_for_raw("\x1b[?1049l", "leaving the alternate screen");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_going_down_keeps_what_was_typed_and_sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServeProcess::start(dir.path(), &[]);
    let token = ServeProcess::admin_token_in(dir.path());
    let mut tui = Tui::start(&service.graphql_url(), &token);
    tui.screen.wait_for("● online");
    tui.send("n");
    tui.send("typed before the outage");
    // The service goes away: the form keeps its text and says why the submit failed.
    service.kill();
    tui.send("\r");
    tui.screen.wait_for("cannot reach");
    let screen = tui.screen.contents();
    assert!(screen.contains("typed before the outage"), "{screen}");
    // A reload shows the connection as down, retried with backoff.
    tui.send("\x1b");
    tui.send("r");
    tui.screen.wait_for("● down (retry");
    let pid = tui.child.process_id().expect("the child has a pid");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "SIGTERM ends keydeck cleanly: {status:?}");
    tui.screen
        .wait_for_raw("\x1b[?1049l", "leaving the alternate screen");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_is_said_once_and_the_return_of_the_service_too() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServeProcess::start(dir.path(), &[]);
    let addr = service.addr;
    let token = ServeProcess::admin_token_in(dir.path());
    let mut tui = Tui::start(&service.graphql_url(), &token);
    tui.screen.wait_for("● online");
    service.kill();
    // Several loads fail at once (a reload of the keys, the identities tab's): one outage.
    tui.send("r");
    tui.send("2");
    tui.screen.wait_for("● down (retry 1 in");
    // The first retry fails too: the countdown starts again, longer, and nothing more is said.
    tui.screen.wait_for("● down (retry 2 in");
    let screen = tui.screen.contents();
    assert!(screen.contains("cannot reach"), "{screen}");
    let service = ServeProcess::restart_at(dir.path(), addr, &[]);
    let screen = tui.screen.wait_for("service reachable again");
    assert!(screen.contains("● online"), "{screen}");
    tui.send("L");
    let screen = tui.screen.wait_for("Messages");
    // The log's lines (framed), not the message line under the tabs.
    let log: String = screen.lines().filter(|l| l.contains('│')).collect();
    assert_eq!(log.matches("cannot reach").count(), 1, "{log}");
    assert_eq!(log.matches("service reachable again").count(), 1, "{log}");
    tui.send("\x1b");
    tui.send("q");
    assert!(tui.child.wait().unwrap().success());
    drop(service);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_keydeck_token_says_to_fix_the_variable() {
    let service = TestServer::start().await;
    let mut tui = Tui::start(&service.graphql_url(), "kd_not_a_token_the_service_knows");
    let screen = tui.screen.wait_for("● signed out");
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("Set KEYDECK_TOKEN"), "{screen}");
    assert!(!flat.contains("login"), "{screen}");
    tui.send("q");
    assert!(tui.child.wait().unwrap().success());
}

fn keydeck(home: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolate(home, |k, v| {
        cmd.env(k, v);
    });
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_keeps_the_token_in_the_kernel_keyring_and_the_cli_uses_it() {
    let service = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let profile = format!("e2e-{}", std::process::id());
    let url = service.graphql_url();
    let token_line = format!("{}\n", service.admin);
    let out = tokio::task::spawn_blocking({
        let (home, profile, url) = (home.path().to_owned(), profile.clone(), url.clone());
        move || {
            keydeck(
                &home,
                &[
                    "login",
                    "--endpoint",
                    &url,
                    "--profile",
                    &profile,
                    "--token-stdin",
                ],
                Some(&token_line),
            )
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "login failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("kernel keyring"), "{stdout}");
    let config = std::fs::read_to_string(home.path().join("config/keydeck/config.toml")).unwrap();
    assert!(
        !config.contains(&service.admin),
        "the config file holds no secret"
    );

    let list = tokio::task::spawn_blocking({
        let (home, profile) = (home.path().to_owned(), profile.clone());
        move || {
            keydeck(
                &home,
                &["--profile", &profile, "keys", "list", "--json"],
                None,
            )
        }
    })
    .await
    .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let keys: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(keys[0]["name"], "bootstrap admin");

    let logout = tokio::task::spawn_blocking({
        let (home, profile) = (home.path().to_owned(), profile.clone());
        move || keydeck(&home, &["--profile", &profile, "logout"], None)
    })
    .await
    .unwrap();
    assert!(logout.status.success());
    let after = tokio::task::spawn_blocking({
        let (home, profile) = (home.path().to_owned(), profile.clone());
        move || keydeck(&home, &["--profile", &profile, "keys", "list"], None)
    })
    .await
    .unwrap();
    assert!(!after.status.success());
    let reason = String::from_utf8_lossy(&after.stderr);
    assert!(reason.contains("not logged in"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "one-line reason: {reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_errors_are_one_line_with_a_non_zero_exit() {
    let service = TestServer::start().await;
    let home = tempfile::tempdir().unwrap();
    let url = service.graphql_url();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "keys".into(),
                "create".into(),
                "--name".into(),
                "x".into(),
                "--global".into(),
                "--ttl".into(),
                "3y".into(),
            ],
            "unknown unit",
        ),
        (
            vec!["keys".into(), "disable".into(), "no-such-id".into()],
            "KEY_NOT_FOUND",
        ),
    ];
    for (args, expected) in cases {
        let out = tokio::task::spawn_blocking({
            let (home, url, token) = (home.path().to_owned(), url.clone(), service.admin.clone());
            move || {
                let mut cmd = Command::new(BIN);
                cmd.env_clear()
                    .args(&args)
                    .env("KEYDECK_ENDPOINT", url)
                    .env("KEYDECK_TOKEN", token);
                isolate(&home, |k, v| {
                    cmd.env(k, v);
                });
                cmd.output().unwrap()
            }
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    // A service that is down: a clear one-line reason.
    let out = Command::new(BIN)
        .env_clear()
        .args(["keys", "list"])
        .env("KEYDECK_ENDPOINT", "http://127.0.0.1:9/graphql")
        .env("KEYDECK_TOKEN", "kd_x")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot reach"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tui_filter_finds_a_key_beyond_the_first_page() {
    let service = TestServer::start().await;
    // More than one page (200) of keys, seeded through the API; the last ones are never
    // loaded by scrolling.
    for i in 0..230 {
        service.global_key(&format!("seeded key {i:03}"), &[]).await;
    }
    let mut tui = Tui::start(&service.graphql_url(), &service.admin);
    tui.screen.wait_for("● online");
    tui.screen.wait_for("seeded key 000");
    tui.send("/");
    tui.send("key 229");
    // After the pause the service is asked, and the title says what it searched.
    let screen = tui
        .screen
        .wait_for("service searched for key names containing “key 229”");
    assert!(screen.contains("seeded key 229"), "{screen}");
    assert!(screen.contains("Keys: 1 of 1 "), "{screen}");
    tui.send("\r");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tui_creates_a_key_among_44_projects_and_sees_the_ttl_field_it_focuses() {
    let service = TestServer::start().await;
    for i in 0..44 {
        service
            .project(&format!("proj-{i:02}"), common::blog_roles())
            .await;
    }
    let mut tui = Tui::start(&service.graphql_url(), &service.admin);
    tui.screen.wait_for("● online");
    tui.send("n");
    tui.screen.wait_for("New API key");
    tui.send("among many");
    // Scope: typing searches the 44 projects; enter picks the one under the cursor.
    tui.send("\t");
    tui.send("proj-37");
    tui.screen.wait_for("1 of 44 projects");
    tui.send("\r");
    tui.screen.wait_for("project proj-37");
    // No role is chosen for the user: → on Role picks the first.
    tui.send("\t");
    tui.send("\x1b[C");
    tui.screen.wait_for("[x] admin");
    // Variables, Permissions, Visibility, then TTL.
    for _ in 0..4 {
        tui.send("\t");
    }
    let screen = tui.screen.wait_for("▸ TTL");
    assert!(screen.contains("→ expires"), "{screen}");
    tui.send("\r");
    tui.screen.wait_for("will not be shown again");
    tui.send("\x1b");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
}

/// Ctrl-Z gives the terminal back and stops keydeck (SIGTSTP), as a shell expects; when it
/// runs again the screen is set up anew and drawn whole. Here no job-control shell owns the
/// terminal, so the kernel discards the stop (an orphaned process group) and keydeck resumes
/// at once: what is checked is the terminal handed back and the full redraw. Under a shell,
/// `fg` resumes it (seen by hand in tmux).
#[tokio::test(flavor = "multi_thread")]
async fn ctrl_z_hands_the_terminal_back_and_redraws_the_whole_screen() {
    let service = TestServer::start().await;
    let mut tui = Tui::start(&service.graphql_url(), &service.admin);
    tui.screen.wait_for("● online");
    let drawn = tui.screen.raw_text().matches("Identities").count();
    tui.send("\x1a");
    tui.screen.wait_for_raw(
        "\x1b[?1049l",
        "leaving the alternate screen before stopping",
    );
    // Drawn again whole: the tab bar comes again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while tui.screen.raw_text().matches("Identities").count() <= drawn {
        assert!(std::time::Instant::now() < deadline, "not redrawn");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    tui.screen.wait_for("● online");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");
}
