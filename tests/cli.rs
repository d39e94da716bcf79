//! The CLI as scripts use it: the real binary against a real `keydeck serve` (in-process, over
//! loopback), its stdout, stderr and exit status.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod common;

use common::{TestServer, editor, string};

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// The binary in an isolated environment (see `common::isolate`).
fn command(home: &Path, endpoint: &str, token: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .args(args)
        .env("KEYDECK_ENDPOINT", endpoint)
        .env("KEYDECK_TOKEN", token)
        .stdin(Stdio::null());
    common::isolate(home, |k, v| {
        cmd.env(k, v);
    });
    cmd
}

/// What one run of the binary said and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(output: Output) -> Run {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Asserts the exit code and returns self for more checks.
    fn exits(self, code: i32, what: &str) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: exit code\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

/// A private home and the service the commands talk to.
struct Cli<'a> {
    service: &'a TestServer,
    home: tempfile::TempDir,
}

impl Cli<'_> {
    fn new(service: &TestServer) -> Cli<'_> {
        Cli {
            service,
            home: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs `keydeck ARGS` as the super admin.
    fn run(&self, args: &[&str]) -> Run {
        self.run_at(&self.service.graphql_url(), &self.service.admin, args)
    }

    fn run_at(&self, endpoint: &str, token: &str, args: &[&str]) -> Run {
        let out = command(self.home.path(), endpoint, token, args)
            .output()
            .unwrap();
        Run::of(out)
    }

    /// Runs `keydeck login --token-stdin` against `endpoint` with `token` on stdin.
    fn login(&self, endpoint: &str, token: &str) -> Run {
        let mut child = command(
            self.home.path(),
            "",
            "",
            &[
                "--insecure-storage",
                "login",
                "--endpoint",
                endpoint,
                "--token-stdin",
            ],
        )
        .env_remove("KEYDECK_ENDPOINT")
        .env_remove("KEYDECK_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{token}").unwrap();
        drop(stdin);
        Run::of(child.wait_with_output().unwrap())
    }
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The state `apiKeys` reports for key `id` (disabled ones included).
async fn key_state(service: &TestServer, id: &str) -> String {
    let keys = service
        .api_keys(
            &service.admin,
            json!({ "includeDisabled": true, "includeExpired": true }),
        )
        .await;
    let key = keys["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("no key {id}"))
        .clone();
    string(&key["state"])
}

/// The global roles of identity `id`.
async fn roles_of(service: &TestServer, id: &str) -> Vec<String> {
    let data = service
        .data(
            &service.admin,
            "query($id: String!) { identity(id: $id) { roles } }",
            json!({ "id": id }),
        )
        .await;
    serde_json::from_value(data["identity"]["roles"].clone()).unwrap()
}

// Item 8: network errors name what failed.

#[tokio::test(flavor = "multi_thread")]
async fn network_errors_say_whether_resolution_connection_tls_or_http_failed() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let dead = format!("http://127.0.0.1:{}/graphql", dead_port());

    let refused = cli
        .run_at(&dead, &service.admin, &["keys", "list"])
        .exits(1, "a dead port");
    assert!(
        refused.stderr.contains("connection refused"),
        "{}",
        refused.stderr
    );

    // login blamed the token for a service that is not there.
    let login = cli
        .login(&dead, &service.admin)
        .exits(1, "login to a dead port");
    assert!(
        !login.stderr.contains("refused this token"),
        "a dead port is not a refused token: {}",
        login.stderr
    );
    assert!(
        login.stderr.contains("connection refused"),
        "{}",
        login.stderr
    );
    let wrong_token = cli
        .login(&service.graphql_url(), "kd_wrong")
        .exits(1, "login with a wrong token");
    assert!(
        wrong_token.stderr.contains("refused this token"),
        "{}",
        wrong_token.stderr
    );

    // `.invalid` never resolves (RFC 6761), network or not.
    let unknown = cli
        .run_at(
            "http://nohost.invalid/graphql",
            &service.admin,
            &["keys", "list"],
        )
        .exits(1, "an unknown host");
    assert!(
        unknown.stderr.contains("name resolution failed")
            && unknown.stderr.contains("nohost.invalid"),
        "{}",
        unknown.stderr
    );
    assert!(!unknown.stderr.contains("refused"), "{}", unknown.stderr);

    // A wrong path on a real service: the status and the URL that was asked.
    let wrong_path = service.graphql_url().replace("/graphql", "/graphq");
    let not_found = cli
        .run_at(&wrong_path, &service.admin, &["keys", "list"])
        .exits(1, "a wrong path");
    assert!(
        not_found.stderr.contains("HTTP 404 Not Found") && not_found.stderr.contains(&wrong_path),
        "{}",
        not_found.stderr
    );

    // TLS spoken to a plain-HTTP port.
    let https = service.graphql_url().replace("http://", "https://");
    let tls = cli
        .run_at(&https, &service.admin, &["keys", "list"])
        .exits(1, "TLS to a plain port");
    assert!(
        tls.stderr.contains("TLS handshake failed"),
        "{}",
        tls.stderr
    );
    for run in [&refused, &login, &unknown, &not_found, &tls] {
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
}

// Item 13: a closed stdout ends the command quietly.

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_ends_the_command_quietly_with_exit_0() {
    let service = TestServer::start().await;
    service.blog().await;
    let cli = Cli::new(&service);
    let url = service.graphql_url();
    // The reader is gone before anything is written: every write meets a closed pipe.
    for args in [
        &["keys", "list"][..],
        &["keys", "list", "--json"],
        &["identities", "list"],
        &["projects", "list"],
        &["roles", "list", "--json"],
        &["schema"],
        &["completions", "bash"],
    ] {
        let mut child = command(cli.home.path(), &url, &service.admin, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let run = Run::of(child.wait_with_output().unwrap()).exits(0, &args.join(" "));
        assert_eq!(run.stderr, "", "{args:?}: nothing on stderr");
    }

    // `keydeck keys list --json | head -1`: more than a pipe holds, read one line, close.
    for i in 0..150 {
        service.global_key(&format!("filler key {i:03}"), &[]).await;
    }
    let mut child = command(
        cli.home.path(),
        &url,
        &service.admin,
        &["keys", "list", "--json"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim(), "[");
    let run = Run::of(child.wait_with_output().unwrap()).exits(0, "keys list | head -1");
    assert_eq!(run.stderr, "", "no panic, no message");
}

// Item 14: ids as prefixes and names.

#[tokio::test(flavor = "multi_thread")]
async fn keys_are_named_by_a_unique_id_prefix_or_their_name() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let key = service.global_key("ci deploy", &[]).await;

    cli.run(&["keys", "disable", &key.id[..8]])
        .exits(0, "disable by an 8-character prefix");
    assert_eq!(key_state(&service, &key.id).await, "DISABLED");
    let enabled = cli
        .run(&["keys", "enable", "CI Deploy"])
        .exits(0, "enable by name, in any case");
    assert!(enabled.stdout.contains(&key.id), "{}", enabled.stdout);
    assert_eq!(key_state(&service, &key.id).await, "ENABLED");
    cli.run(&["keys", "disable", &key.id])
        .exits(0, "the full id still works");

    // Too short to be a prefix, and no such name.
    let short = cli
        .run(&["keys", "enable", &key.id[..5]])
        .exits(1, "a 5-character prefix");
    assert!(
        short.stderr.contains("KEY_NOT_FOUND") && short.stderr.contains("at least 6"),
        "{}",
        short.stderr
    );
    assert_eq!(key_state(&service, &key.id).await, "DISABLED");

    // After a rotation the old key keeps its name: disabling by name means the enabled one.
    let rotated = service.global_key("ci deploy", &[]).await;
    cli.run(&["keys", "disable", "ci deploy"])
        .exits(0, "the name of a rotated key");
    assert_eq!(key_state(&service, &rotated.id).await, "DISABLED");

    // Two disabled keys of that name: enabling by name would be a guess.
    let ambiguous = cli
        .run(&["keys", "enable", "ci deploy"])
        .exits(1, "an ambiguous name");
    assert!(
        ambiguous.stderr.contains("ambiguous")
            && ambiguous.stderr.contains(&key.id)
            && ambiguous.stderr.contains(&rotated.id),
        "{}",
        ambiguous.stderr
    );
    assert_eq!(ambiguous.stderr.trim_end().lines().count(), 1);
    assert_eq!(key_state(&service, &key.id).await, "DISABLED");
    assert_eq!(key_state(&service, &rotated.id).await, "DISABLED");
}

#[tokio::test(flavor = "multi_thread")]
async fn identities_are_named_by_a_unique_id_prefix_or_their_description() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let key = service.global_key("reporting bot", &[]).await;

    cli.run(&["roles", "add", &key.identity_id[..6], "monitor"])
        .exits(0, "an identity by a 6-character prefix");
    assert_eq!(roles_of(&service, &key.identity_id).await, ["monitor"]);
    cli.run(&["roles", "remove", "reporting bot", "monitor"])
        .exits(0, "an identity by its description");
    assert!(roles_of(&service, &key.identity_id).await.is_empty());
    let missing = cli
        .run(&["roles", "add", "nobody at all", "monitor"])
        .exits(1, "no such identity");
    assert!(
        missing.stderr.contains("IDENTITY_NOT_FOUND"),
        "{}",
        missing.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_takes_the_database_name_or_id() {
    // Nothing listens there: a resolved name gets as far as connecting.
    let monitored = format!("postgres://monitor@127.0.0.1:{}/app", dead_port());
    let service = TestServer::monitoring(vec![("app".into(), monitored)]).await;
    let cli = Cli::new(&service);
    let unknown = cli
        .run(&["stats", "--database", "shop"])
        .exits(1, "an unknown database");
    assert!(
        unknown.stderr.contains("DATABASE_NOT_FOUND") && unknown.stderr.contains("app (id 1)"),
        "{}",
        unknown.stderr
    );
    for name in ["app", "1"] {
        let run = cli
            .run(&["stats", "--database", name])
            .exits(1, "a database nobody serves");
        assert!(
            !run.stderr.contains("DATABASE_NOT_FOUND"),
            "`{name}` names the database: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_since_sends_a_window_the_service_answers_from_its_samples() {
    // Nothing listens there: never sampled, so every window is empty, and the service says why.
    let monitored = format!("postgres://monitor@127.0.0.1:{}/app", dead_port());
    let service = TestServer::monitoring(vec![("app".into(), monitored)]).await;
    let cli = Cli::new(&service);
    for since in ["1h", "24h", "7d", "90m"] {
        let unreadable = cli
            .run(&["stats", "--database", "app", "--since", since])
            .exits(1, "a window of a database never read");
        assert!(
            unreadable.stderr.contains("DATABASE_UNAVAILABLE")
                && unreadable.stderr.contains("unreachable"),
            "--since {since}: {}",
            unreadable.stderr
        );
    }
    // A window older than the samples kept (30 days by default) is refused in the service's
    // own words, on one line, exit 1, before any connection.
    for args in [&["--since", "60d"][..], &["--since", "60d", "--json"][..]] {
        let refused = cli
            .run(&[&["stats", "--database", "app"][..], args].concat())
            .exits(1, "a window past retention");
        assert!(
            refused.stderr.contains("BAD_USER_INPUT") && refused.stderr.contains("older than"),
            "{}",
            refused.stderr
        );
        assert_eq!(
            refused.stderr.trim().lines().count(),
            1,
            "{}",
            refused.stderr
        );
        assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    }
    // A window that is not one is the command line's mistake, found before any request.
    let usage = cli
        .run(&["stats", "--database", "app", "--since", "3y"])
        .exits(2, "a bad --since");
    assert!(
        usage.stderr.contains("--since") && usage.stderr.contains("e.g. 90m"),
        "{}",
        usage.stderr
    );
}

// Item 15: projects and the role catalog.

#[tokio::test(flavor = "multi_thread")]
async fn projects_are_listed_and_created_and_the_role_catalog_listed() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let empty = cli
        .run(&["projects", "list", "--json"])
        .exits(0, "no projects");
    assert_eq!(empty.json(), json!([]));

    let created = cli
        .run(&[
            "projects",
            "create",
            "--slug",
            "shop",
            "--name",
            "Shop",
            "--role",
            "support:region,language",
            "--role",
            "admin",
        ])
        .exits(0, "projects create");
    assert!(created.stdout.contains("shop"), "{}", created.stdout);
    let listed = cli.run(&["projects", "list", "--json"]).exits(0, "list");
    // The service lists roles by name.
    assert_eq!(
        listed.json(),
        json!([{ "slug": "shop", "name": "Shop", "roles": [
            { "name": "admin", "variables": [] },
            { "name": "support", "variables": ["region", "language"] },
        ] }])
    );
    let table = cli.run(&["projects", "list"]).exits(0, "list as a table");
    assert!(
        table.stdout.contains("admin, support(region,language)"),
        "{}",
        table.stdout
    );
    // The project is usable at once.
    cli.run(&[
        "keys",
        "create",
        "--name",
        "eu support",
        "--project",
        "shop",
        "--membership",
        "support:region=eu;language=cs",
    ])
    .exits(0, "a key in the new project");

    let roles = cli.run(&["roles", "list", "--json"]).exits(0, "roles list");
    let names: Vec<String> = roles
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| string(&r["name"]))
        .collect();
    assert!(names.contains(&"super_admin".to_owned()), "{names:?}");
    let table = cli
        .run(&["roles", "list"])
        .exits(0, "roles list as a table");
    assert!(table.stdout.starts_with("NAME"), "{}", table.stdout);
}

// Item 16: say what happened, exit codes.

#[tokio::test(flavor = "multi_thread")]
async fn roles_changes_say_what_happened_and_nothing_done_is_not_success() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let key = service.global_key("auditor", &["monitor"]).await;
    let id = key.identity_id.as_str();

    let remove = cli
        .run(&["roles", "remove", id, "project_admin"])
        .exits(1, "removing a role not held");
    assert!(
        remove.stderr.contains("does not hold project_admin")
            && remove.stderr.contains("nothing removed"),
        "{}",
        remove.stderr
    );
    assert!(!remove.stdout.contains("Removed"), "{}", remove.stdout);
    // One of two not held: the other is not removed either.
    cli.run(&["roles", "remove", id, "monitor", "project_admin"])
        .exits(1, "removing a held and a not-held role");
    assert_eq!(roles_of(&service, id).await, ["monitor"]);

    // Adding what is held says so; the identity holds what was asked, so it is no failure.
    let again = cli
        .run(&["roles", "add", id, "monitor"])
        .exits(0, "adding a held role");
    assert!(
        again.stderr.contains("already holds monitor"),
        "{}",
        again.stderr
    );
    assert!(again.stdout.contains("Nothing to add"), "{}", again.stdout);
    let added = cli
        .run(&["roles", "add", id, "monitor", "project_admin"])
        .exits(0, "adding one new role");
    assert!(
        added.stdout.contains("Added project_admin"),
        "{}",
        added.stdout
    );
    let mut roles = roles_of(&service, id).await;
    roles.sort();
    assert_eq!(roles, ["monitor", "project_admin"]);
    cli.run(&["roles", "remove", id, "project_admin"])
        .exits(0, "removing a held role");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_and_failures_exit_1() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    for args in [
        &["keys", "create", "--name", "x", "--global", "--ttl", "3y"][..],
        &["keys", "create", "--name", "x"],
        &[
            "keys",
            "create",
            "--name",
            "x",
            "--project",
            "shop",
            "--membership",
            "editor:language",
        ],
        &[
            "projects", "create", "--slug", "s", "--name", "S", "--role", ":x",
        ],
        &["keys", "frobnicate"],
        &["roles", "add", "someone"],
    ] {
        let run = cli.run(args).exits(2, &args.join(" "));
        assert!(!run.stderr.is_empty(), "{args:?} says why");
    }
    // Refused by the service: a failure, not a usage error.
    cli.run(&["keys", "create", "--name", "x", "--project", "no-such"])
        .exits(1, "an unknown project");
}

#[tokio::test(flavor = "multi_thread")]
async fn identities_list_shows_variable_values() {
    let service = TestServer::start().await;
    service.blog().await;
    let key = service
        .project_key("my-blog", "translator", editor(&["cs", "en"]))
        .await;
    let cli = Cli::new(&service);
    let table = cli.run(&["identities", "list"]).exits(0, "identities list");
    let row = table
        .stdout
        .lines()
        .find(|l| l.contains(&key.identity_id))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(row.contains("my-blog:editor(language=cs,en)"), "{row}");
    let listed = cli
        .run(&["identities", "list", "--json"])
        .exits(0, "identities list --json");
    let identity = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == key.identity_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(identity["memberships"], json!(["my-blog:editor"]));
    assert_eq!(
        identity["projectMemberships"],
        json!([{ "project": "my-blog", "role": "editor", "variables": { "language": ["cs", "en"] } }])
    );
}

/// Issue 17.8 and 19.8: an endpoint with credentials in it (which keydeck never sends) or
/// without a scheme is refused before any request, saying why; removing a role from an
/// identity says how many personal keys it created lost it too (issue 17.1).
#[tokio::test(flavor = "multi_thread")]
async fn endpoints_with_credentials_or_no_scheme_say_why_and_revocations_count_keys() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let url = service.graphql_url();
    let with_credentials = url.replace("http://", "http://user:pw@");
    let login = cli
        .login(&with_credentials, &service.admin)
        .exits(1, "login with credentials in the URL");
    assert!(
        login.stderr.contains("carries credentials")
            && !login.stderr.contains("refused")
            && !login.stderr.contains("pw"),
        "{}",
        login.stderr
    );
    let bare = url.trim_start_matches("http://");
    let list = cli
        .run_at(bare, &service.admin, &["keys", "list"])
        .exits(1, "an endpoint without a scheme");
    assert!(list.stderr.contains("has no scheme"), "{}", list.stderr);

    let owner = service.global_key("owner", &["monitor"]).await;
    let options = json!({ "visibility": "PERSONAL" });
    service
        .global_key_with(&owner.token, "child", &["monitor"], options)
        .await;
    let removed = cli
        .run(&["roles", "remove", &owner.identity_id, "monitor"])
        .exits(0, "removing a role with a personal key below");
    assert!(
        removed
            .stdout
            .contains("1 personal key it created lost the same"),
        "{}",
        removed.stdout
    );
}

/// Issue 19.8, the small ones, through the binary: a refused token at login is said once;
/// `logout --profile nope` names the profile and fails; `--since` takes `M` as `--ttl` does;
/// a membership refused for a variable says which role and variable, in words; an endpoint
/// without a scheme at login says so.
#[tokio::test(flavor = "multi_thread")]
async fn the_small_ones_say_what_is_wrong_once_and_in_words() {
    let service = TestServer::monitoring(vec![(
        "app".into(),
        format!("postgres://monitor@127.0.0.1:{}/app", dead_port()),
    )])
    .await;
    let cli = Cli::new(&service);

    let refused = cli
        .login(&service.graphql_url(), "kd_not_a_token_the_service_knows")
        .exits(1, "login with a token the service refuses");
    let said = refused.stderr.to_lowercase();
    assert_eq!(said.matches("refused").count(), 1, "{}", refused.stderr);
    assert!(!said.contains("did not accept"), "{}", refused.stderr);
    assert!(said.contains("nothing was saved"), "{}", refused.stderr);

    let bare = service.graphql_url().replace("http://", "");
    let login = cli
        .login(&bare, &service.admin)
        .exits(1, "login at an endpoint without a scheme");
    assert!(login.stderr.contains("has no scheme"), "{}", login.stderr);

    cli.login(&service.graphql_url(), &service.admin)
        .exits(0, "login");
    let logout = cli
        .run(&["--insecure-storage", "logout", "--profile", "nope"])
        .exits(1, "logout of a profile nobody created");
    assert!(
        logout.stderr.contains("\"nope\"") && logout.stderr.contains("known profiles: default"),
        "{}",
        logout.stderr
    );
    cli.run(&["--insecure-storage", "logout", "--profile", "default"])
        .exits(0, "logout of the profile logged in to");

    // A month, as a TTL takes it: the whole 30 days kept, answered (the database was never
    // read, so the service says that), not refused as a usage error or a window too old.
    let month = cli
        .run(&["stats", "--database", "app", "--since", "1M"])
        .exits(1, "a month of a database never read");
    assert!(
        month.stderr.contains("DATABASE_UNAVAILABLE") && !month.stderr.contains("older than"),
        "{}",
        month.stderr
    );
    let usage = cli
        .run(&["stats", "--database", "app", "--since", "3y"])
        .exits(2, "a bad --since");
    assert!(usage.stderr.contains("M for 30 days"), "{}", usage.stderr);

    service.blog().await;
    let empty = cli
        .run(&[
            "keys",
            "create",
            "--name",
            "no language",
            "--project",
            "my-blog",
            "--membership",
            "editor",
        ])
        .exits(1, "a membership whose variable has no value");
    assert!(
        empty
            .stderr
            .contains("role editor, variable language: no value given (VARIABLE_EMPTY)"),
        "{}",
        empty.stderr
    );
    assert!(
        !empty.stderr.contains("editor.language"),
        "{}",
        empty.stderr
    );
    // Making someone a member says the same.
    let someone = service.global_key("someone", &["monitor"]).await;
    let member = cli
        .run(&[
            "members",
            "add",
            &someone.identity_id,
            "--project",
            "my-blog",
            "--membership",
            "editor",
        ])
        .exits(1, "a member whose variable has no value");
    assert!(
        member
            .stderr
            .contains("role editor, variable language: no value given (VARIABLE_EMPTY)"),
        "{}",
        member.stderr
    );
}

/// Issue 19.8: the service's log written to a file holds no colour codes.
#[test]
fn the_serve_log_in_a_file_has_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(format!("sqlite:{}", dir.path().join("k.db").display()))
        .arg("--bootstrap-token-file")
        .arg(dir.path().join("admin.token"))
        .env_remove("KEYDECK_LOG")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_mins(1);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.contains("serving GraphQL") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("serving GraphQL"), "{text}");
    assert!(text.contains("INFO"), "the log has tracing lines: {text}");
    assert!(!text.contains('\x1b'), "colour codes in the file: {text:?}");
}

// Issue 20: `keys rotate`.

#[tokio::test(flavor = "multi_thread")]
async fn keys_rotate_shows_the_new_token_once_and_a_name_means_the_key_in_use() {
    let service = TestServer::start().await;
    let cli = Cli::new(&service);
    let key = service.global_key("ci deploy", &["monitor"]).await;

    let first = cli
        .run(&["keys", "rotate", "ci deploy", "--grace", "1h", "--json"])
        .exits(0, "rotate by name")
        .json();
    assert_eq!(first["previous"]["id"], json!(key.id), "{first:#}");
    assert_eq!(first["name"], json!("ci deploy"));
    let first_id = string(&first["id"]);
    let first_token = string(&first["token"]);
    assert!(first_token.starts_with("kd_"), "{first:#}");
    assert_eq!(
        service.status_of(&first_token).await,
        reqwest::StatusCode::OK
    );
    assert_eq!(service.status_of(&key.token).await, reqwest::StatusCode::OK);
    let grace = common::seconds_until(&first["previous"]["expiresAt"]);
    assert!((3590..=3600).contains(&grace), "{first:#}");

    // Both keys are enabled and share the name: the name means the one in use, the successor.
    let second = cli
        .run(&["keys", "rotate", "CI deploy", "--grace", "0s"])
        .exits(0, "rotate by name after a rotation");
    assert!(
        second
            .stdout
            .contains(&format!("The previous key {first_id} stops working")),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("Token (shown once"),
        "{}",
        second.stdout
    );
    assert_eq!(
        service.status_of(&first_token).await,
        reqwest::StatusCode::UNAUTHORIZED
    );
    assert_eq!(key_state(&service, &key.id).await, "ENABLED");
    // Each key's details name its successor and the key it replaced.
    let shown = cli
        .run(&["keys", "show", &first_id, "--json"])
        .exits(0, "show the first successor")
        .json();
    assert_eq!(shown["rotatedFrom"], json!(key.id), "{shown:#}");
    assert!(shown["rotatedTo"].is_string(), "{shown:#}");
    let text = cli
        .run(&["keys", "show", &key.id])
        .exits(0, "show the first key");
    assert!(
        text.stdout.contains(&format!("Rotated to   {first_id}")),
        "{}",
        text.stdout
    );

    // A token made here: only its hash is sent, and it is printed once.
    let local = cli
        .run(&["keys", "rotate", "ci deploy", "--local-token", "--json"])
        .exits(0, "rotate with a local token")
        .json();
    let local_token = string(&local["token"]);
    assert_eq!(
        service.status_of(&local_token).await,
        reqwest::StatusCode::OK
    );

    // A grace period that is no duration is a usage error; the service refuses one too long.
    cli.run(&["keys", "rotate", "ci deploy", "--grace", "soon"])
        .exits(2, "an unreadable grace period");
    let long = cli
        .run(&["keys", "rotate", "ci deploy", "--grace", "1000d"])
        .exits(1, "a grace period over the maximum");
    assert!(
        long.stderr.contains("INVALID_GRACE_PERIOD"),
        "{}",
        long.stderr
    );
}
