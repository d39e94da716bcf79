//! Test harness: a real `keydeck serve` on loopback over a fresh store, and a small GraphQL
//! client for it.
//!
//! The store is a fresh SQLite file, or with `KEYDECK_TEST_STORE=postgres` a fresh database
//! of its own on the PostgreSQL cluster at `KEYDECK_TEST_PG_URL` (see `.ci/pg-cluster`).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod pg;
pub use pg::pg_url;
pub mod pty;
pub mod serve_process;

use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use keydeck::server::stats::Sampling;
use keydeck::server::transport::limits::Limits;
use keydeck::server::{Running, ServeConfig};
use keydeck::ttl::Ttl;

/// The service's default maximum key lifetime (`keydeck serve --max-key-ttl 30d`).
pub const DEFAULT_MAX_TTL: &str = "30d";

/// The selection of an `ApiKey` every document here asks for.
macro_rules! key_fields {
    () => {
        "id type description enabled state createdAt lastUsedAt expiresAt disabledAt \
         permissions visibility tokenPrefix identity { id roles } owner { id } project { slug }"
    };
}

/// `ok` and `error` of a mutation reply.
macro_rules! reply_fields {
    () => {
        "ok error { code developerMessage membershipValidation { code role variable } }"
    };
}

/// The `result` selection of the two key-creating mutations.
macro_rules! new_key_fields {
    () => {
        concat!(
            "result { apiKey { id token identity { id } key { ",
            key_fields!(),
            " } } }"
        )
    };
}

pub const CREATE_API_KEY: &str = concat!(
    "mutation($projectSlug: String!, $memberships: [MembershipInput!]!, $description: String!, \
     $tokenHash: String, $options: CreateApiKeyOptions) { \
     createApiKey(projectSlug: $projectSlug, memberships: $memberships, \
     description: $description, tokenHash: $tokenHash, options: $options) { ",
    reply_fields!(),
    " ",
    new_key_fields!(),
    " } }"
);

pub const CREATE_GLOBAL_API_KEY: &str = concat!(
    "mutation($description: String!, $roles: [String!], $tokenHash: String, \
     $options: CreateApiKeyOptions) { \
     createGlobalApiKey(description: $description, roles: $roles, tokenHash: $tokenHash, \
     options: $options) { ",
    reply_fields!(),
    " ",
    new_key_fields!(),
    " } }"
);

/// `createGlobalApiKey` selecting only what a key without READ may get back: ok, error, ids
/// and the new token.
pub const CREATE_GLOBAL_API_KEY_IDS: &str = concat!(
    "mutation($description: String!, $roles: [String!], $tokenHash: String, \
     $options: CreateApiKeyOptions) { \
     createGlobalApiKey(description: $description, roles: $roles, tokenHash: $tokenHash, \
     options: $options) { ",
    reply_fields!(),
    " result { apiKey { id token identity { id } } } } }"
);

pub const DISABLE_API_KEY: &str = concat!(
    "mutation($id: String!) { disableApiKey(id: $id) { ",
    reply_fields!(),
    " result { apiKey { ",
    key_fields!(),
    " } } } }"
);

pub const ENABLE_API_KEY: &str = concat!(
    "mutation($id: String!) { enableApiKey(id: $id) { ",
    reply_fields!(),
    " result { apiKey { ",
    key_fields!(),
    " } } } }"
);

pub const ADD_GLOBAL_IDENTITY_ROLES: &str = concat!(
    "mutation($identityId: String!, $roles: [String!]!) { \
     addGlobalIdentityRoles(identityId: $identityId, roles: $roles) { ",
    reply_fields!(),
    " result { identity { id roles } } } }"
);

pub const REMOVE_GLOBAL_IDENTITY_ROLES: &str = concat!(
    "mutation($identityId: String!, $roles: [String!]!) { \
     removeGlobalIdentityRoles(identityId: $identityId, roles: $roles) { ",
    reply_fields!(),
    " result { identity { id roles } } } }"
);

macro_rules! member_result {
    () => {
        " result { identity { id } memberships { role variables { name values } } } } }"
    };
}

pub const ADD_PROJECT_MEMBER: &str = concat!(
    "mutation($projectSlug: String!, $identityId: String!, $memberships: [MembershipInput!]!) { \
     addProjectMember(projectSlug: $projectSlug, identityId: $identityId, \
     memberships: $memberships) { ",
    reply_fields!(),
    member_result!()
);

pub const UPDATE_PROJECT_MEMBER: &str = concat!(
    "mutation($projectSlug: String!, $identityId: String!, $memberships: [MembershipInput!]!) { \
     updateProjectMember(projectSlug: $projectSlug, identityId: $identityId, \
     memberships: $memberships) { ",
    reply_fields!(),
    member_result!()
);

pub const REMOVE_PROJECT_MEMBER: &str = concat!(
    "mutation($projectSlug: String!, $identityId: String!) { \
     removeProjectMember(projectSlug: $projectSlug, identityId: $identityId) { ",
    reply_fields!(),
    member_result!()
);

pub const CREATE_PROJECT: &str = concat!(
    "mutation($slug: String!, $name: String!, $roles: [RoleDefinitionInput!]!) { \
     createProject(slug: $slug, name: $name, roles: $roles) { ",
    reply_fields!(),
    " result { project { id slug name roles { name variables { name } } } } } }"
);

/// `createProject` selecting only what a key without READ may get back.
pub const CREATE_PROJECT_IDS: &str = concat!(
    "mutation($slug: String!, $name: String!, $roles: [RoleDefinitionInput!]!) { \
     createProject(slug: $slug, name: $name, roles: $roles) { ",
    reply_fields!(),
    " result { project { id } } } }"
);

pub const API_KEYS: &str = concat!(
    "query($filter: ApiKeyFilter, $first: Int, $after: String) { \
     apiKeys(filter: $filter, first: $first, after: $after) { totalCount \
     pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor } nodes { ",
    key_fields!(),
    " } } }"
);

pub const ME: &str = "query { me { id description roles } }";

/// Characters a name must never hold though a terminal shows nothing of them (issue 17.6):
/// a tag, a variation selector, the Hangul fillers, the Braille blank, CGJ, the Mongolian
/// vowel separator, a Khmer inherent vowel, a deprecated format control, an interlinear
/// annotation, a private-use and an unassigned code point.
pub const INVISIBLE: [char; 14] = [
    '\u{e0041}',
    '\u{fe0f}',
    '\u{115f}',
    '\u{1160}',
    '\u{3164}',
    '\u{ffa0}',
    '\u{2800}',
    '\u{34f}',
    '\u{180e}',
    '\u{17b4}',
    '\u{206a}',
    '\u{fff9}',
    '\u{e000}',
    '\u{2065}',
];

/// A key the service created: what a client keeps of it.
#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub token: String,
    pub identity_id: String,
    /// The stored record as `createApiKey`/`createGlobalApiKey` returned it.
    pub record: Value,
}

impl Key {
    /// Reads a key from a successful creation reply.
    pub fn from_reply(reply: &Value) -> Key {
        let api_key = &ok(reply)["apiKey"];
        Key {
            id: string(&api_key["id"]),
            token: string(&api_key["token"]),
            identity_id: string(&api_key["identity"]["id"]),
            record: api_key["key"].clone(),
        }
    }
}

/// A running service over a temporary store, torn down when dropped.
pub struct TestServer {
    pub running: Running,
    /// The bootstrap super_admin token.
    pub admin: String,
    client: reqwest::Client,
    /// Where the store is: `sqlite:DIR/keydeck.db` or `postgres://…/kd_…`.
    database_url: String,
    dir: TempDir,
    /// The PostgreSQL database of this server, dropped after it.
    _pg: Option<PgDatabase>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.running.task.abort();
    }
}

impl TestServer {
    /// A service with the default maximum key lifetime of 30 days.
    pub async fn start() -> TestServer {
        Self::with_max_ttl(Some(DEFAULT_MAX_TTL.parse().unwrap())).await
    }

    /// A service with this maximum key lifetime (`None`: unlimited).
    pub async fn with_max_ttl(max_key_ttl: Option<Ttl>) -> TestServer {
        Self::with(
            max_key_ttl,
            Vec::new(),
            Sampling::default(),
            Limits::default(),
        )
        .await
    }

    /// A service sampling the query statistics of these `([ID:]NAME, postgres URL)` databases
    /// every second.
    pub async fn monitoring(monitor: Vec<(String, String)>) -> TestServer {
        let sampling = Sampling {
            interval: Duration::from_secs(1),
            ..Sampling::default()
        };
        Self::sampling(monitor, sampling).await
    }

    /// A service sampling these databases as `sampling` says.
    pub async fn sampling(monitor: Vec<(String, String)>, sampling: Sampling) -> TestServer {
        Self::with(
            Some(DEFAULT_MAX_TTL.parse().unwrap()),
            monitor,
            sampling,
            Limits::default(),
        )
        .await
    }

    /// A service with these transport limits.
    pub async fn with_limits(limits: Limits) -> TestServer {
        Self::with(
            Some(DEFAULT_MAX_TTL.parse().unwrap()),
            Vec::new(),
            Sampling::default(),
            limits,
        )
        .await
    }

    async fn with(
        max_key_ttl: Option<Ttl>,
        monitor: Vec<(String, String)>,
        sampling: Sampling,
        limits: Limits,
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let pg = if on_postgres() {
            let base = pg_url("KEYDECK_TEST_STORE=postgres")
                .expect("KEYDECK_TEST_STORE=postgres needs KEYDECK_TEST_PG_URL");
            Some(PgDatabase::create(&base).await)
        } else {
            None
        };
        let database_url = match &pg {
            Some(pg) => pg.url.clone(),
            None => format!("sqlite:{}/keydeck.db", dir.path().display()),
        };
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: database_url.clone(),
            bootstrap_token_file: None,
            max_key_ttl,
            public_url: None,
            monitor,
            sampling,
            limits,
            audit_retention: None,
            usage_retention: keydeck::server::DEFAULT_USAGE_RETENTION,
        };
        let running = keydeck::server::start(&config)
            .await
            .expect("the service starts");
        let admin = running
            .bootstrap_token
            .clone()
            .expect("a fresh store hands out the bootstrap token");
        TestServer {
            running,
            admin,
            client: reqwest::Client::new(),
            database_url,
            dir,
            _pg: pg,
        }
    }

    /// The store's URL, for `keydeck serve --db` and direct connections (through
    /// `sqlx::AnyPool`, which speaks to both backends).
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn graphql_url(&self) -> String {
        self.running.graphql_url()
    }

    /// The SQLite file the service stores everything in. On PostgreSQL there is none and this
    /// fails the test loudly: a test reads and plants rows through [`Self::store_connection`],
    /// which works on both, and reads files only where they exist.
    pub fn db_path(&self) -> PathBuf {
        assert!(!on_postgres(), "db_path() of a PostgreSQL store");
        self.dir.path().join("keydeck.db")
    }

    /// A connection of its own to the service's store, on either backend: what tests that
    /// read or plant rows past the service use, so that they check both stores alike.
    pub async fn store_connection(&self) -> sqlx::AnyConnection {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(self.database_url())
            .await
            .expect("connecting to the service's store")
    }

    /// How many sampling rounds the store holds, and how many samples.
    pub async fn sample_counts(&self) -> (i64, i64) {
        let mut db = self.store_connection().await;
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM stats_rounds), (SELECT count(*) FROM stats_samples)",
        )
        .fetch_one(&mut db)
        .await
        .expect("the store holds samples")
    }

    /// Waits for a sampling round that reads the databases after this call (rounds are
    /// stamped with the time they start reading).
    pub async fn next_round(&self) {
        let called_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        eventually("a new sampling round", || async {
            let mut db = self.store_connection().await;
            let newest: Option<i64> = sqlx::query_scalar("SELECT max(taken_ms) FROM stats_rounds")
                .fetch_one(&mut db)
                .await
                .expect("the store holds rounds");
            newest.is_some_and(|ms| ms > called_ms)
        })
        .await;
    }

    /// A POST to the GraphQL endpoint with no body or credentials yet.
    pub fn post(&self) -> reqwest::RequestBuilder {
        self.client.post(self.graphql_url())
    }

    /// A POST carrying the super admin's token, for requests built by hand.
    pub fn authorized_post(&self) -> reqwest::RequestBuilder {
        self.post()
            .header(AUTHORIZATION, format!("Bearer {}", self.admin))
    }

    /// A POST of `body` as `application/json`, with the super admin's token.
    pub fn json_body(&self, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
        self.authorized_post()
            .header(CONTENT_TYPE, "application/json")
            .body(body)
    }

    /// Sends one GraphQL operation as JSON with `Authorization: Bearer <token>`.
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> (StatusCode, Value) {
        send(
            self.post()
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .json(&json!({ "query": query, "variables": variables })),
        )
        .await
    }

    /// Sends `query` as pganalyze's documentation does with curl: a multipart form field
    /// (`-F 'query=…'`) and `Authorization: Token …`.
    pub async fn curl_form(&self, token: &str, query: &str) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new().text("query", query.to_owned());
        send(
            self.post()
                .header(AUTHORIZATION, format!("Token {token}"))
                .multipart(form),
        )
        .await
    }

    /// The `data` of an operation that must succeed without errors.
    pub async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(token, query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// The `extensions.code` of the GraphQL error an operation must fail with (HTTP 200).
    pub async fn error_code(&self, token: &str, query: &str, variables: Value) -> String {
        let (status, body) = self.gql(token, query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body:#}");
        first_error_code(&body)
    }

    /// A mutation's reply (`{ ok error result }`): the only field of its `data`.
    pub async fn mutate(&self, token: &str, mutation: &str, variables: Value) -> Value {
        only_field(self.data(token, mutation, variables).await)
    }

    /// `createGlobalApiKey` with these variables; the reply.
    pub async fn create_global(&self, by: &str, variables: Value) -> Value {
        self.mutate(by, CREATE_GLOBAL_API_KEY, variables).await
    }

    /// `createApiKey` with these variables; the reply.
    pub async fn create_project_key(&self, by: &str, variables: Value) -> Value {
        self.mutate(by, CREATE_API_KEY, variables).await
    }

    /// A global key with these roles, created by the super admin.
    pub async fn global_key(&self, name: &str, roles: &[&str]) -> Key {
        self.global_key_with(&self.admin, name, roles, json!({}))
            .await
    }

    /// A global key created by `by` with these roles and `options`.
    pub async fn global_key_with(
        &self,
        by: &str,
        name: &str,
        roles: &[&str],
        options: Value,
    ) -> Key {
        let reply = self
            .create_global(
                by,
                json!({ "description": name, "roles": roles, "options": options }),
            )
            .await;
        Key::from_reply(&reply)
    }

    /// A project key with these memberships, created by the super admin.
    pub async fn project_key(&self, slug: &str, name: &str, memberships: Value) -> Key {
        let reply = self
            .create_project_key(
                &self.admin,
                json!({ "projectSlug": slug, "description": name, "memberships": memberships }),
            )
            .await;
        Key::from_reply(&reply)
    }

    /// A project created by the super admin; `roles` as `[{name, variables}]`. Its record.
    pub async fn project(&self, slug: &str, roles: Value) -> Value {
        let reply = self
            .mutate(
                &self.admin,
                CREATE_PROJECT,
                json!({ "slug": slug, "name": format!("Project {slug}"), "roles": roles }),
            )
            .await;
        ok(&reply)["project"].clone()
    }

    /// The project Contember's documentation uses: `my-blog`, whose `editor` role has a
    /// `language` variable, plus `admin` and `viewer` roles without variables.
    pub async fn blog(&self) -> Value {
        self.project("my-blog", blog_roles()).await
    }

    /// `apiKeys` as `token` sees it with this filter: the connection.
    pub async fn api_keys(&self, token: &str, filter: Value) -> Value {
        self.data(token, API_KEYS, json!({ "filter": filter, "first": 500 }))
            .await["apiKeys"]
            .clone()
    }

    /// The ids `apiKeys` shows `token` with this filter.
    pub async fn visible_key_ids(&self, token: &str, filter: Value) -> Vec<String> {
        let keys = self.api_keys(token, filter).await;
        keys["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| string(&k["id"]))
            .collect()
    }

    /// The identity id of the key behind `token`.
    pub async fn me(&self, token: &str) -> String {
        string(&self.data(token, ME, json!({})).await["me"]["id"])
    }

    /// The HTTP status a plain `{ me { id } }` gets with this token.
    pub async fn status_of(&self, token: &str) -> StatusCode {
        self.gql(token, ME, json!({})).await.0
    }
}

/// A child's environment for the real binary: a private HOME and XDG dirs under `home`, no
/// display, no inherited keydeck variables, a pinned TERM and NO_COLOR, and PATH.
pub fn isolate(home: &std::path::Path, mut set: impl FnMut(&str, &str)) {
    for (name, sub) in [
        ("HOME", ""),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
    ] {
        let dir = home.join(sub);
        std::fs::create_dir_all(&dir).expect("a directory in the test's home");
        set(name, dir.to_str().expect("a UTF-8 temp path"));
    }
    set("TERM", "xterm-256color");
    set("NO_COLOR", "1");
    set("PATH", &std::env::var("PATH").unwrap_or_default());
}

/// Whether the test services run on PostgreSQL (`KEYDECK_TEST_STORE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("KEYDECK_TEST_STORE").as_deref() == Ok("postgres")
}

/// A new, empty database on a PostgreSQL cluster, for one test's store; dropped (with any
/// connection still on it) when this is.
pub struct PgDatabase {
    /// The database's URL.
    pub url: String,
    name: String,
    /// The URL it was created through.
    base: String,
}

impl PgDatabase {
    /// A fresh database on the cluster of `base` (a `postgres://…/DB` URL).
    pub async fn create(base: &str) -> PgDatabase {
        use sqlx::Connection as _;
        let name = format!("kd_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(base)
            .await
            .expect("connecting to KEYDECK_TEST_PG_URL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        let (path_start, query) = match base.find('?') {
            Some(q) => (
                base[..q].rfind('/').expect("a database in the URL"),
                &base[q..],
            ),
            None => (base.rfind('/').expect("a database in the URL"), ""),
        };
        PgDatabase {
            url: format!("{}/{name}{query}", &base[..path_start]),
            name,
            base: base.to_owned(),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop is not async: a thread with its own runtime. Best effort: the cluster is a
        // throwaway one anyway.
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&base).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

/// Polls `check` until it holds, for at most five seconds.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(what, Duration::from_secs(5), check).await;
}

/// Polls `check` until it holds, for at most `bound`: for the few contracts that promise one.
pub async fn eventually_within<F, Fut>(what: &str, bound: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if check().await {
            return;
        }
        assert!(
            start.elapsed() < bound,
            "{what}: still not true after {bound:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a request and reads its body as JSON (or as a JSON string when it is not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("the service answers");
    let status = response.status();
    let text = response.text().await.expect("a readable body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// pganalyze's documented query (`curl -F 'query=…'`), for database `database_id`.
pub fn pganalyze_query(database_id: &str) -> String {
    const AS_PUBLISHED: &str = "query { getQueryStats(databaseId: 12345) { id, queryUrl, truncatedQuery, statementType, tableNames, totalCalls, avgTime, bufferHitRatio, pctOfTotal } }";
    AS_PUBLISHED.replace("12345", database_id)
}

pub fn blog_roles() -> Value {
    json!([
        { "name": "editor", "variables": ["language"] },
        { "name": "admin" },
        { "name": "viewer" },
    ])
}

/// `[{role: "editor", variables: [{name: "language", values}]}]`.
/// The memberships `admin` and `editor(language=cs,en)` of the blog's roles.
pub fn admin_and_editor() -> Value {
    json!([
        { "role": "admin", "variables": [] },
        { "role": "editor", "variables": [{ "name": "language", "values": ["cs", "en"] }] },
    ])
}

pub fn editor(languages: &[&str]) -> Value {
    json!([{ "role": "editor", "variables": [{ "name": "language", "values": languages }] }])
}

/// The result of a reply that must be `ok`.
pub fn ok(reply: &Value) -> &Value {
    assert_eq!(reply["ok"], json!(true), "expected ok: {reply:#}");
    assert!(reply["error"].is_null(), "{reply:#}");
    &reply["result"]
}

/// The error of a reply that must be refused with `code`.
pub fn refused<'a>(reply: &'a Value, code: &str) -> &'a Value {
    refused_for(reply, code, "")
}

/// Like [`refused`], naming the request in the failure message.
pub fn refused_for<'a>(reply: &'a Value, code: &str, request: impl std::fmt::Display) -> &'a Value {
    assert_eq!(
        reply["ok"],
        json!(false),
        "{request}: expected {code}: {reply:#}"
    );
    assert_eq!(reply["error"]["code"], json!(code), "{request}: {reply:#}");
    assert!(reply["result"].is_null(), "{request}: {reply:#}");
    let message = reply["error"]["developerMessage"]
        .as_str()
        .unwrap_or_default();
    assert!(!message.is_empty(), "a refusal explains itself: {reply:#}");
    &reply["error"]
}

/// `extensions.code` of the first top-level error.
pub fn first_error_code(body: &Value) -> String {
    let code = &body["errors"][0]["extensions"]["code"];
    assert!(code.is_string(), "expected a coded GraphQL error: {body:#}");
    string(code)
}

/// The value of the only field of an object.
pub fn only_field(data: Value) -> Value {
    let object = data.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{data:#}");
    object.values().next().unwrap().clone()
}

pub fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, got {value}"))
        .to_owned()
}

/// Everything a key holds, as `me` answers it.
const ACCESS: &str = "query { me { roles projects { project { slug } \
    memberships { role variables { name values } } } } }";

/// What `token` can do now: `None` when it no longer authenticates, else its global roles and
/// `slug:role(var=a,b)` memberships, sorted.
pub async fn access(server: &TestServer, token: &str) -> Option<Vec<String>> {
    let (status, body) = server.gql(token, ACCESS, json!({})).await;
    if status == StatusCode::UNAUTHORIZED {
        return None;
    }
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert!(body.get("errors").is_none(), "{body:#}");
    let me = &body["data"]["me"];
    let mut held: Vec<String> = me["roles"].as_array().unwrap().iter().map(string).collect();
    for relation in me["projects"].as_array().unwrap() {
        let slug = string(&relation["project"]["slug"]);
        for m in relation["memberships"].as_array().unwrap() {
            let vars: Vec<String> = m["variables"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    let values: Vec<String> =
                        v["values"].as_array().unwrap().iter().map(string).collect();
                    format!("{}={}", string(&v["name"]), values.join(","))
                })
                .collect();
            held.push(format!("{slug}:{}({})", string(&m["role"]), vars.join(";")));
        }
    }
    held.sort();
    Some(held)
}

/// SHA-256 of `text`, lower-case hex: what the service stores of a token.
pub fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Seconds from now until an RFC 3339 date-time.
pub fn seconds_until(rfc3339: &Value) -> i64 {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    let at = OffsetDateTime::parse(rfc3339.as_str().expect("a DateTime"), &Rfc3339)
        .expect("an RFC 3339 date-time");
    (at - OffsetDateTime::now_utc()).whole_seconds()
}
