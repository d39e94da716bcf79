//! The real `keydeck serve` binary under more than 10,000 generated hostile requests: broken,
//! truncated and oversize bodies, wrong content types, deep nesting, alias and list bombs,
//! batches, bad UTF-8, control characters, wrong and expired tokens, and floods of refused
//! mutations. It must keep serving, never answer 5xx, answer every request with a clear 4xx or
//! a GraphQL reply, stay within a memory bound, keep its store intact, and let the audit log
//! grow no more than its caps allow.
//!
//! Requests are written byte by byte over raw TCP, so that a body can be chunked, lie about
//! its length or carry bytes no HTTP client library would send. Generation is seeded: a failure
//! names its category and index and replays the same way.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng, SeedableRng as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use common::INVISIBLE;
use common::serve_process::{ServeProcess, integrity_check, open_db};
use keydeck::server::store::{MAX_AUDIT_DETAIL_BYTES, MAX_AUDIT_TARGET_BYTES};
use keydeck::server::transport::http::MAX_BODY_BYTES;

const SEED: u64 = 0x0068_6f73_7469_6c65;
const CONCURRENCY: usize = 16;
/// Most mutation fields one request may run (`MAX_MUTATION_FIELDS` of the request gate).
const MAX_MUTATION_FIELDS: u64 = 20;
/// The (action, outcome) pairs the writer's refusals can fall into, with room to spare: one
/// audit row each a minute.
const MAX_REFUSAL_KINDS: u64 = 40;
/// Peak RSS allowed to the server over the whole run.
const MAX_PEAK_RSS_MIB: u64 = 200;
/// The second loopback address: wrong tokens come from there, so that its failed-auth
/// throttle (429) does not also stop the other categories, which come from 127.0.0.1.
const GUEST_SOURCE: [u8; 4] = [127, 0, 0, 2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Category {
    /// Legitimate queries, mixed in.
    Legit,
    /// Bodies that are not JSON, or JSON that is not a GraphQL request.
    Malformed,
    /// Bodies that end before the document does (JSON, forms, multipart).
    Truncated,
    /// A Content-Length promising more than is sent, then the client hangs up.
    Hangup,
    /// Content types that do not match the body, or are not ours at all.
    ContentType,
    /// Over 1 MiB, announced by Content-Length.
    OversizeLength,
    /// Over 1 MiB, chunked: nothing announces the size.
    OversizeChunked,
    /// Brackets nested thousands deep in the query, the variables or the envelope.
    DeepNesting,
    /// Thousands of aliases, fragments spreading fragments, repeated fields.
    AliasBomb,
    /// Huge lists in arguments and variables, many maximal pages.
    ListBomb,
    /// JSON arrays of requests, documents with many operations.
    Batch,
    /// Invalid UTF-8 in bodies, form fields and the Authorization header.
    BadUtf8,
    /// NUL, ESC and other control characters in queries, variables and names.
    ControlChars,
    /// Wrong tokens: bad checksums, unknown, malformed, odd schemes (from the guest address).
    WrongToken,
    /// A key past its expiry (from the guest address).
    ExpiredToken,
    /// Mutations a WRITE key without roles may not run, with huge arguments, many per request.
    MutationFlood,
    /// NUL in string literals and variables of queries and mutations: `BAD_USER_INPUT` before
    /// any store sees it (issue 17.5).
    Nul,
    /// Key names with invisible characters (tags, variation selectors, fillers, blanks,
    /// private-use, unassigned) or spelled with look-alike letters (issue 17.6).
    LookAlike,
}

impl Category {
    /// Every category and how many requests it gets.
    const PLAN: [(Category, usize); 18] = [
        (Category::Legit, 800),
        (Category::Malformed, 1000),
        (Category::Truncated, 800),
        (Category::Hangup, 100),
        (Category::ContentType, 1000),
        (Category::OversizeLength, 120),
        (Category::OversizeChunked, 120),
        (Category::DeepNesting, 800),
        (Category::AliasBomb, 150),
        (Category::ListBomb, 200),
        (Category::Batch, 800),
        (Category::BadUtf8, 1000),
        (Category::ControlChars, 1000),
        (Category::WrongToken, 1800),
        (Category::ExpiredToken, 200),
        (Category::MutationFlood, 400),
        (Category::Nul, 300),
        (Category::LookAlike, 300),
    ];

    /// Requests that reach the service as the guest: failed authentications only.
    fn comes_from_guest(self) -> bool {
        matches!(self, Category::WrongToken | Category::ExpiredToken)
    }
}

/// The tokens the generated requests use.
struct Tokens {
    /// READ + WRITE, the bootstrap super admin: bodies are only read after authentication,
    /// so the body categories must authenticate to reach the parsers.
    admin: String,
    /// WRITE only, no roles: every mutation it sends is refused, and audited.
    writer: String,
    /// Created with `expiresIn: "1s"` and used after it lapsed.
    expired: String,
}

/// How a body is framed on the wire.
enum Framing {
    /// `Content-Length` with the body's length.
    Length,
    /// `Transfer-Encoding: chunked`, in pieces of this many bytes.
    Chunked(usize),
    /// `Content-Length` claiming more than is sent; then the client closes its side.
    Hangup { claimed: usize },
}

/// One generated request.
struct Plan {
    category: Category,
    /// `Authorization` value bytes, if any.
    auth: Option<Vec<u8>>,
    /// `Content-Type` value bytes, if any.
    content_type: Option<Vec<u8>>,
    body: Vec<u8>,
    framing: Framing,
}

/// What came back.
#[derive(Debug)]
enum Outcome {
    Reply {
        status: u16,
        body: Vec<u8>,
    },
    /// The connection ended without a complete reply.
    NoReply(String),
}

impl Outcome {
    /// How this outcome is tallied, and whether it is acceptable for `category`.
    fn judge(&self, category: Category) -> (String, bool) {
        match self {
            Outcome::Reply { status, body } => {
                let json: Option<Value> = serde_json::from_slice(body).ok();
                let clear = match status {
                    200 => json
                        .as_ref()
                        .is_some_and(|v| v.get("errors").is_some() || v.get("data").is_some()),
                    400..=499 => json
                        .as_ref()
                        .is_some_and(|v| v["errors"][0]["message"].is_string()),
                    _ => false,
                };
                // A NUL is the caller's mistake, named as such, never a store's error.
                let nul_refused = category != Category::Nul
                    || json.as_ref().is_some_and(|v| {
                        v["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
                            && !v.to_string().contains("database")
                    });
                if clear && nul_refused {
                    (status.to_string(), true)
                } else {
                    (format!("{status} unclear"), false)
                }
            }
            // A client that hangs up mid-body has nobody left to answer.
            Outcome::NoReply(_) if category == Category::Hangup => {
                ("closed after hang-up".to_owned(), true)
            }
            Outcome::NoReply(why) => (format!("no reply: {why}"), false),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Reply { status, body } => {
                let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
                write!(f, "{status} {text}")
            }
            Outcome::NoReply(why) => write!(f, "no reply ({why})"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_get_clear_4xx_or_graphql_replies_and_leave_the_service_intact() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = ServeProcess::db_path_in(dir.path());
    let mut server = ServeProcess::start(dir.path(), &[]);
    let tokens = setup_tokens(&server, dir.path()).await;
    let audit_before = AuditSize::of(&db).await;

    let mut order: Vec<(Category, usize)> = Category::PLAN
        .iter()
        .flat_map(|&(category, count)| (0..count).map(move |i| (category, i)))
        .collect();
    order.shuffle(&mut StdRng::seed_from_u64(SEED));
    let total = order.len();

    let started = Instant::now();
    let addr = server.addr;
    let writer_auth = bearer(&tokens.writer);
    let run = |(category, index): (Category, usize)| {
        let plan = generate(category, index, &tokens);
        // Only the writer's requests can run mutations (the admin's are all queries).
        let writes = plan.auth == writer_auth;
        async move {
            let sent = Instant::now();
            let outcome = exchange(addr, plan).await;
            (category, index, writes, sent.elapsed(), outcome)
        }
    };
    // Clients that hang up mid-body hold their connection until the server's request
    // timeout; they all run at once beside the others rather than taking turns in the 16.
    let (hangups, others): (Vec<_>, Vec<_>) =
        order.into_iter().partition(|(c, _)| *c == Category::Hangup);
    let (mut outcomes, hung_up) = futures::join!(
        futures::stream::iter(others)
            .map(run)
            .buffer_unordered(CONCURRENCY)
            .collect::<Vec<_>>(),
        futures::future::join_all(hangups.into_iter().map(run)),
    );
    outcomes.extend(hung_up);
    let elapsed = started.elapsed();

    assert_eq!(
        server.exit_status(),
        None,
        "the server died under hostile requests; stderr:\n{}",
        server.stderr_tail()
    );
    let peak_rss_mib = server.peak_rss_kib() / 1024;
    server.kill();

    let mut tally: BTreeMap<Category, BTreeMap<String, usize>> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut mutation_requests = 0u64;
    for (category, index, writes, _, outcome) in &outcomes {
        mutation_requests += u64::from(*writes);
        let (label, acceptable) = outcome.judge(*category);
        *tally
            .entry(*category)
            .or_default()
            .entry(label)
            .or_default() += 1;
        if !acceptable {
            bad.push(format!("{category:?} #{index}: {outcome}"));
        }
    }
    println!(
        "{total} hostile requests in {elapsed:.1?}, {CONCURRENCY} at a time; peak RSS {peak_rss_mib} MiB"
    );
    for (category, counts) in &tally {
        let counts: Vec<String> = counts.iter().map(|(l, n)| format!("{l}: {n}")).collect();
        println!("  {:<16} {}", format!("{category:?}"), counts.join(", "));
    }

    outcomes.sort_by_key(|(_, _, _, took, _)| std::cmp::Reverse(*took));
    for (category, index, _, took, outcome) in outcomes.iter().take(5) {
        let outcome: String = outcome.to_string().chars().take(120).collect();
        println!("  slowest: {category:?} #{index} in {took:.1?}: {outcome}");
    }
    assert!(total >= 10_000);
    assert!(
        bad.is_empty(),
        "{} replies were 5xx, unclear or missing; the first ones:\n{}",
        bad.len(),
        bad.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
    assert!(
        peak_rss_mib < MAX_PEAK_RSS_MIB,
        "peak RSS {peak_rss_mib} MiB, over {MAX_PEAK_RSS_MIB} MiB"
    );
    assert_eq!(integrity_check(&db).await, "ok");

    let audit_after = AuditSize::of(&db).await;
    let rows = audit_after.rows - audit_before.rows;
    let bytes = audit_after.bytes - audit_before.bytes;
    // Refusals of one action to one actor with one outcome share a row a minute: the rows
    // grow with the run's minutes, the mutations and their outcomes, not with the requests.
    let minutes = elapsed.as_secs() / 60 + 2;
    let row_bound = (minutes * MAX_REFUSAL_KINDS).min(mutation_requests * MAX_MUTATION_FIELDS);
    let byte_bound = row_bound * (MAX_AUDIT_TARGET_BYTES + MAX_AUDIT_DETAIL_BYTES) as u64;
    println!(
        "audit log: +{rows} rows, +{bytes} bytes of target and detail (bounds {row_bound} rows, \
         {byte_bound} bytes); longest target {} bytes, longest detail {} bytes",
        audit_after.longest_target, audit_after.longest_detail
    );
    assert!(rows > 0, "refused mutations are audited");
    assert!(rows <= row_bound, "{rows} audit rows, over {row_bound}");
    assert!(
        bytes <= byte_bound,
        "{bytes} audit bytes, over {byte_bound}"
    );
    assert!(audit_after.longest_target <= MAX_AUDIT_TARGET_BYTES as u64);
    assert!(audit_after.longest_detail <= MAX_AUDIT_DETAIL_BYTES as u64);

    // No stored name hides a character, and the look-alikes of "readonly" are one key.
    let mut conn = open_db(&db).await;
    let names: Vec<String> = sqlx::query_scalar("SELECT description FROM api_keys")
        .fetch_all(&mut conn)
        .await
        .expect("the key names");
    let hidden: Vec<&String> = names
        .iter()
        .filter(|n| n.chars().any(keydeck::text::is_hidden_char))
        .collect();
    assert!(
        hidden.is_empty(),
        "stored with hidden characters: {hidden:?}"
    );
    let look_alikes = names
        .iter()
        .filter(|n| keydeck::text::name_key(n) == keydeck::text::name_key("readonly"))
        .count();
    assert!(
        look_alikes <= 1,
        "{look_alikes} keys look like \"readonly\""
    );
}

/// The audit log's size, measured in the store itself.
struct AuditSize {
    rows: u64,
    /// Bytes of `target` and `detail`, the values a request controls.
    bytes: u64,
    longest_target: u64,
    longest_detail: u64,
}

impl AuditSize {
    async fn of(db: &std::path::Path) -> AuditSize {
        let (rows, bytes, longest_target, longest_detail): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), \
                 COALESCE(SUM(COALESCE(length(CAST(target AS BLOB)), 0) \
                            + COALESCE(length(CAST(detail AS BLOB)), 0)), 0), \
                 COALESCE(MAX(length(CAST(target AS BLOB))), 0), \
                 COALESCE(MAX(length(CAST(detail AS BLOB))), 0) FROM audit_log",
        )
        .fetch_one(&mut open_db(db).await)
        .await
        .expect("the audit log's size");
        let n = |v: i64| u64::try_from(v).expect("a size");
        AuditSize {
            rows: n(rows),
            bytes: n(bytes),
            longest_target: n(longest_target),
            longest_detail: n(longest_detail),
        }
    }
}

/// Creates the writer and the expired key through the API, and waits for the expiry.
async fn setup_tokens(server: &ServeProcess, dir: &std::path::Path) -> Tokens {
    let admin = ServeProcess::admin_token_in(dir);
    let url = server.graphql_url();
    let writer = create_key(
        &url,
        &admin,
        "hostile writer",
        json!({ "permissions": ["WRITE"] }),
    )
    .await;
    let expired = create_key(
        &url,
        &admin,
        "hostile expired",
        json!({ "expiresIn": "1s" }),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    Tokens {
        admin,
        writer,
        expired,
    }
}

/// A new global key without roles; its token.
async fn create_key(url: &str, admin: &str, description: &str, options: Value) -> String {
    let body = json!({
        "query": common::CREATE_GLOBAL_API_KEY_IDS,
        "variables": { "description": description, "roles": [], "options": options },
    });
    let reply: Value = reqwest::Client::new()
        .post(url)
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON reply");
    let reply = &reply["data"]["createGlobalApiKey"];
    assert_eq!(reply["ok"], json!(true), "{reply}");
    common::string(&reply["result"]["apiKey"]["token"])
}

// ---- generation ----------------------------------------------------------------------------

const ME: &str = "{ me { id } }";
const LEGIT_QUERIES: [&str; 4] = [
    ME,
    "{ apiKeys(first: 5) { edges { node { id description } } pageInfo { hasNextPage } } }",
    "{ roles { name } }",
    "query Who { me { id roles } }",
];
/// Multipart boundary used by the form bodies.
const BOUNDARY: &str = "hostileBoundary7MA4YWxkTrZu0gW";

impl Plan {
    fn new(category: Category, auth: Option<Vec<u8>>) -> Plan {
        Plan {
            category,
            auth,
            content_type: Some(b"application/json".to_vec()),
            body: Vec::new(),
            framing: Framing::Length,
        }
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Plan {
        self.content_type = Some(b"application/json".to_vec());
        self.body = body.into();
        self
    }

    fn typed(mut self, content_type: impl Into<Vec<u8>>, body: impl Into<Vec<u8>>) -> Plan {
        self.content_type = Some(content_type.into());
        self.body = body.into();
        self
    }

    /// A form body with the fields as given (bytes, so they may be invalid UTF-8).
    fn multipart(self, fields: &[(&str, &[u8])]) -> Plan {
        let body = multipart_body(fields);
        self.typed(
            format!("multipart/form-data; boundary={BOUNDARY}").into_bytes(),
            body,
        )
    }

    fn urlencoded(self, body: impl Into<Vec<u8>>) -> Plan {
        self.typed(b"application/x-www-form-urlencoded".to_vec(), body)
    }

    /// Whether the request's Authorization can fail: those come from the guest address.
    fn comes_from_guest(&self) -> bool {
        self.category.comes_from_guest()
    }
}

fn bearer(token: &str) -> Option<Vec<u8>> {
    Some(format!("Bearer {token}").into_bytes())
}

/// A JSON GraphQL request body.
fn gql(query: &str, variables: Value) -> Vec<u8> {
    json!({ "query": query, "variables": variables })
        .to_string()
        .into_bytes()
}

fn multipart_body(fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// `open` `depth` times, `middle`, then `close` `depth` times.
fn nested(open: &str, middle: &str, close: &str, depth: usize) -> String {
    format!("{}{middle}{}", open.repeat(depth), close.repeat(depth))
}

/// Nesting depths from just over the limit (64) to far beyond anything a parser survives.
fn hostile_depth(rng: &mut StdRng) -> usize {
    *pick(rng, &[65, 100, 500, 2_000, 20_000, 200_000])
}

/// The request `index` of `category`: the same every run.
fn generate(category: Category, index: usize, tokens: &Tokens) -> Plan {
    let mut rng = StdRng::seed_from_u64(SEED ^ ((category as u64) << 32) ^ index as u64);
    let rng = &mut rng;
    let admin = bearer(&tokens.admin);
    let plan = Plan::new(category, admin.clone());
    match category {
        Category::Legit => legit(rng, plan),
        Category::Malformed => malformed(rng, plan),
        Category::Truncated => {
            let whole = legit(rng, Plan::new(category, admin));
            let cut = rng.random_range(0..whole.body.len());
            Plan {
                body: whole.body[..cut].to_vec(),
                ..whole
            }
        }
        Category::Hangup => {
            let whole = legit(rng, plan);
            let sent = rng.random_range(0..=whole.body.len());
            let claimed = whole.body.len() + rng.random_range(1..4096);
            Plan {
                body: whole.body[..sent].to_vec(),
                framing: Framing::Hangup { claimed },
                ..whole
            }
        }
        Category::ContentType => content_type(rng, plan),
        Category::OversizeLength | Category::OversizeChunked => {
            let size = MAX_BODY_BYTES + *pick(rng, &[1, 100, 64 * 1024, 1024 * 1024, 2_500_000]);
            let mut body = br#"{"query":"{ me { id } }","variables":{"pad":""#.to_vec();
            body.resize(size - 3, b'x');
            body.extend_from_slice(br#""}}"#);
            let plan = match rng.random_range(0..3) {
                0 => plan.json(body),
                1 => plan.urlencoded(body),
                _ => plan.multipart(&[("query", ME.as_bytes()), ("variables", &body)]),
            };
            if category == Category::OversizeChunked {
                let chunk = *pick(rng, &[512, 8 * 1024, 64 * 1024, 1024 * 1024]);
                Plan {
                    framing: Framing::Chunked(chunk),
                    ..plan
                }
            } else {
                plan
            }
        }
        Category::DeepNesting => deep_nesting(rng, plan),
        Category::AliasBomb => alias_bomb(rng, plan),
        Category::ListBomb => list_bomb(rng, plan, tokens),
        Category::Batch => batch(rng, plan),
        Category::BadUtf8 => bad_utf8(rng, plan),
        Category::ControlChars => control_chars(rng, plan, tokens),
        Category::WrongToken => wrong_token(rng, plan, tokens),
        Category::ExpiredToken => {
            let auth = match rng.random_range(0..2) {
                0 => format!("Bearer {}", tokens.expired),
                _ => format!("Token {}", tokens.expired),
            };
            Plan {
                auth: Some(auth.into_bytes()),
                ..plan
            }
            .json(gql(ME, json!({})))
        }
        Category::MutationFlood => mutation_flood(rng, plan, tokens),
        Category::Nul => nul(rng, plan, tokens),
        Category::LookAlike => look_alike(rng, plan, tokens),
    }
}

fn nul(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    let writer = Plan {
        auth: bearer(&tokens.writer),
        ..Plan::new(plan.category, None)
    };
    match rng.random_range(0..5) {
        0 => plan.json(gql(
            r#"{ apiKeys(filter: { search: "a\u0000b" }) { totalCount } }"#,
            json!({}),
        )),
        1 => plan.json(gql(
            "query($f: ApiKeyFilter) { apiKeys(filter: $f) { totalCount } }",
            json!({ "f": { "search": "\u{0}", "idPrefix": "x\u{0}" } }),
        )),
        2 => plan.json(gql(
            "query($s: String!) { projectBySlug(slug: $s) { id } }",
            json!({ "s": format!("p{}", "\u{0}".repeat(rng.random_range(1..100))) }),
        )),
        3 => writer.json(gql(
            "mutation($d: String!) { createGlobalApiKey(description: $d, \
             options: { visibility: PERSONAL }) { ok error { code } } }",
            json!({ "d": "nul\u{0}name" }),
        )),
        _ => writer.json(gql(
            r#"mutation { createProject(slug: "p\u0000", name: "n", roles: []) { ok } }"#,
            json!({}),
        )),
    }
}

fn look_alike(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    // "readonly" with Latin letters swapped for Cyrillic and fullwidth look-alikes.
    const SWAPS: [(char, char); 5] = [
        ('a', '\u{430}'),
        ('e', '\u{435}'),
        ('o', '\u{43e}'),
        ('y', '\u{443}'),
        ('r', '\u{ff52}'),
    ];
    let name: String = if rng.random_bool(0.5) {
        let at = rng.random_range(0..=8);
        let mut name = "readonly".to_owned();
        name.insert(at, *pick(rng, &INVISIBLE));
        name
    } else {
        "readonly"
            .chars()
            .map(|c| match SWAPS.iter().find(|(latin, _)| *latin == c) {
                Some((_, other)) if rng.random_bool(0.5) => *other,
                _ => c,
            })
            .collect()
    };
    Plan {
        auth: bearer(&tokens.writer),
        ..plan
    }
    .json(gql(
        "mutation($d: String!) { createGlobalApiKey(description: $d, \
         options: { visibility: PERSONAL, permissions: [WRITE] }) { ok error { code } } }",
        json!({ "d": name }),
    ))
}

fn legit(rng: &mut StdRng, plan: Plan) -> Plan {
    let query = *pick(rng, &LEGIT_QUERIES);
    match rng.random_range(0..4) {
        0 | 1 => plan.json(gql(query, json!({}))),
        2 => plan.urlencoded(serde_urlencoded::to_string([("query", query)]).expect("a form")),
        _ => plan.multipart(&[("query", query.as_bytes())]),
    }
}

fn malformed(rng: &mut StdRng, plan: Plan) -> Plan {
    match rng.random_range(0..8) {
        0 => {
            let len = rng.random_range(0..2048);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            plan.json(bytes)
        }
        1 => plan.json(Vec::new()),
        2 => plan.json(*pick(
            rng,
            &[
                r#"{"query": 42}"#,
                r#"{"query": null}"#,
                r#"{"variables": {}}"#,
                r#""{ me { id } }""#,
                "123",
                "null",
                "{}",
                r#"{"query": "{ me { id } }", "variables": "x"}"#,
                r#"{"query": "{ me { id } }", "variables": [1, 2]}"#,
                r#"{"query": "{ me { id } }", "operationName": 5}"#,
                r#"{"query": ["{ me { id } }"]}"#,
                r#"{"query": "{ me { id } }", "query": "mutation { x }"}"#,
                r#"{"query": "{ me { id } }",}"#,
                r"{'query': '{ me { id } }'}",
                "{\"query\": \"{ me { id } }\"} trailing",
            ],
        )),
        3 => {
            // GraphQL punctuation soup.
            let pieces = [
                "{", "}", "(", ")", "[", "]", ":", "$", "@", "...", "\"", "\"\"\"", "!", "=",
                "me", "id", "query", "mutation", "fragment", "on", "#", "\n", "1e999", "-0",
            ];
            let soup: String = (0..rng.random_range(1..200))
                .map(|_| *pick(rng, &pieces))
                .collect::<Vec<_>>()
                .join(" ");
            plan.json(gql(&soup, json!({})))
        }
        4 => plan.json(gql(
            pick::<&str>(
                rng,
                &[
                    "{ nope }",
                    "query Q($a: Int!) { me { id } }",
                    "subscription { me { id } }",
                    "{ me { id ...Missing } }",
                    "fragment F on Identity { id } { me { id } }",
                    "{ me(id: 1) { id } }",
                    "{ __schema { types { name } } }",
                    "{ __typename }",
                    "query { me { id } } query { me { id } }",
                    "{ identity(id: null) { id } }",
                    "{ apiKeys(first: \"five\") { edges { node { id } } } }",
                ],
            ),
            json!({}),
        )),
        5 => {
            let mut request = json!({ "query": ME });
            request["operationName"] = json!(pick(rng, &["Missing", "", "me"]));
            plan.json(request.to_string())
        }
        6 => plan.json(gql(
            "query($n: Int) { apiKeys(first: $n) { edges { node { id } } } }",
            json!({ "n": pick(rng, &[json!(1e300), json!(-1), json!("x"), json!(4294967296u64), json!([1])]) }),
        )),
        _ => plan.urlencoded(
            *pick(
                rng,
                &["query", "query=", "=%%%", "variables={}", "query=%7B+me&variables=%7B", "&&&&"],
            ),
        ),
    }
}

fn content_type(rng: &mut StdRng, plan: Plan) -> Plan {
    let body = if rng.random_bool(0.7) {
        gql(ME, json!({}))
    } else {
        b"query=%7B+me+%7B+id+%7D+%7D".to_vec()
    };
    let kind: &[u8] = pick::<&[u8]>(
        rng,
        &[
            b"text/plain".as_slice(),
            b"application/xml",
            b"text/html; charset=utf-8",
            b"application/graphql",
            b"application/octet-stream",
            b"multipart/form-data",
            b"multipart/form-data; boundary=",
            b"multipart/form-data; boundary=xyz",
            b"multipart/mixed; boundary=xyz",
            b"application/x-www-form-urlencoded",
            b"application/json; charset=utf-16",
            b"APPLICATION/JSON",
            b"image/png",
            b";;;==",
            b"application/\xffjson",
            b"",
        ],
    );
    if rng.random_bool(0.1) {
        Plan {
            content_type: None,
            body,
            ..plan
        }
    } else {
        plan.typed(kind, body)
    }
}

fn deep_nesting(rng: &mut StdRng, plan: Plan) -> Plan {
    let depth = hostile_depth(rng);
    match rng.random_range(0..8) {
        0 => plan.json(gql(
            &format!(
                "{{ apiKeys(filter: {}) {{ pageInfo {{ hasNextPage }} }} }}",
                nested("[", "1", "]", depth)
            ),
            json!({}),
        )),
        1 => plan.json(gql(
            &format!("{{ me(a: {}) {{ id }} }}", nested("{a: ", "1", "}", depth)),
            json!({}),
        )),
        2 => {
            // Selection sets: past the depth limit (16), then past the nesting limit.
            let depth = *pick(rng, &[17, 40, 64, depth]);
            plan.json(gql(&nested("{ me ", "id", " }", depth), json!({})))
        }
        3 => {
            let variables = format!("{{\"v\":{}}}", nested("[", "1", "]", depth));
            let body = format!(
                "{{\"query\":\"query($v: [String]) {{ me {{ id }} }}\",\"variables\":{variables}}}"
            );
            plan.json(body)
        }
        4 => {
            let body = format!(
                "{{\"query\":\"{{ me {{ id }} }}\",\"extensions\":{}}}",
                nested("{\"a\":", "1", "}", depth)
            );
            plan.json(body)
        }
        5 => plan.urlencoded(format!(
            "query=%7B+me+%7B+id+%7D+%7D&variables={}",
            nested("%5B", "1", "%5D", depth)
        )),
        6 => plan.json(gql(
            &format!("{{ me{} {{ id }} }}", nested("(", "", ")", depth)),
            json!({}),
        )),
        _ => plan.multipart(&[
            ("query", ME.as_bytes()),
            ("variables", nested("{\"a\":", "1", "}", depth).as_bytes()),
        ]),
    }
}

fn alias_bomb(rng: &mut StdRng, plan: Plan) -> Plan {
    let n = *pick(rng, &[20, 100, 300, 1_000, 11_000]);
    let query = match rng.random_range(0..6) {
        0 => format!(
            "{{ {} }}",
            (0..n)
                .map(|i| format!("a{i}: me {{ id }}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        1 => {
            // Each fragment spreads the one before twice: 2^k fields once expanded.
            let k = rng.random_range(10..40);
            let mut doc = "fragment F0 on Identity { id roles }".to_owned();
            for i in 1..=k {
                doc.push_str(&format!(
                    " fragment F{i} on Identity {{ ...F{p} ...F{p} }}",
                    p = i - 1
                ));
            }
            format!("{{ me {{ ...F{k} }} }} {doc}")
        }
        2 => {
            // A chain: each fragment spreads the one before once, thousands deep.
            let mut doc = "fragment F0 on Identity { id }".to_owned();
            for i in 1..=n {
                doc.push_str(&format!(
                    " fragment F{i} on Identity {{ ...F{p} }}",
                    p = i - 1
                ));
            }
            format!("{{ me {{ ...F{n} }} }} {doc}")
        }
        3 => format!("{{ me {{ {} }} }}", "id ".repeat(n)),
        4 => format!(
            "{{ me {} {{ id }} }}",
            "@include(if: true) ".repeat(n.min(5_000))
        ),
        _ => format!(
            "{{ {} }}",
            (0..n.min(2_000))
                .map(|i| format!("k{i}: apiKeys(first: 500) {{ edges {{ node {{ id }} }} }}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    plan.json(gql(&query, json!({})))
}

fn list_bomb(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    let n = *pick(rng, &[100, 1_000, 10_000]);
    match rng.random_range(0..5) {
        0 => plan.json(gql(
            "{ apiKeys(first: 500) { edges { node { id identity { id roles } } } } }",
            json!({}),
        )),
        1 => {
            // A mutation the writer may not run, with a huge list of roles.
            let roles: Vec<String> = (0..n).map(|i| format!("role{i}")).collect();
            Plan {
                auth: bearer(&tokens.writer),
                ..plan
            }
            .json(gql(
                "mutation($id: String!, $roles: [String!]!) { \
                 addGlobalIdentityRoles(identityId: $id, roles: $roles) { ok error { code } } }",
                json!({ "id": "nobody", "roles": roles }),
            ))
        }
        2 => plan.json(gql(
            &format!("{{ me(x: [{}]) {{ id }} }}", vec!["1"; n].join(",")),
            json!({}),
        )),
        3 => plan.json(gql(
            &format!(
                "{{ apiKeys(first: {}) {{ edges {{ node {{ id }} }} }} }}",
                pick(
                    rng,
                    &[
                        "1000000000",
                        "-1",
                        "2147483648",
                        "99999999999999999999",
                        "0"
                    ]
                )
            ),
            json!({}),
        )),
        _ => plan.json(gql(
            "query($v: [String!]) { me { id } }",
            json!({ "v": vec!["x"; n] }),
        )),
    }
}

fn batch(rng: &mut StdRng, plan: Plan) -> Plan {
    let n = *pick(rng, &[0, 1, 2, 10, 1_000]);
    match rng.random_range(0..4) {
        0 => {
            let requests = vec![json!({ "query": ME }); n];
            plan.json(Value::Array(requests).to_string())
        }
        1 => {
            let doc: String = (0..n.max(2))
                .map(|i| format!("query Q{i} {{ me {{ id }} }} "))
                .collect();
            let name = pick(rng, &[None, Some("Q1"), Some("Q999999")]);
            let mut request = json!({ "query": doc });
            if let Some(name) = name {
                request["operationName"] = json!(name);
            }
            plan.json(request.to_string())
        }
        2 => plan.urlencoded("query=%7B+me+%7B+id+%7D+%7D&".repeat(n.max(2))),
        _ => plan.multipart(&[
            (
                "operations",
                br#"[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]"#,
            ),
            ("map", b"{}"),
            ("query", ME.as_bytes()),
            ("query", b"{ roles { name } }"),
        ]),
    }
}

fn bad_utf8(rng: &mut StdRng, plan: Plan) -> Plan {
    let bad: &[u8] = pick::<&[u8]>(
        rng,
        &[
            b"\xff\xfe".as_slice(),
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xe2\x82",
            b"\x80",
        ],
    );
    let mut query = b"{ me { id } } # ".to_vec();
    query.extend_from_slice(bad);
    match rng.random_range(0..6) {
        0 => {
            let mut body = br#"{"query":"{ me { id } }"#.to_vec();
            body.extend_from_slice(bad);
            body.extend_from_slice(br#""}"#);
            plan.json(body)
        }
        1 => plan.json(br#"{"query":"{ me { id } }","variables":{"x":"\ud800"}}"#.to_vec()),
        2 => {
            let mut body = b"query=".to_vec();
            body.extend_from_slice(bad);
            body.extend_from_slice(b"&variables=%ff%fe");
            plan.urlencoded(body)
        }
        3 => plan.multipart(&[("query", &query)]),
        4 => plan.multipart(&[("query", ME.as_bytes()), ("variables", bad)]),
        _ => {
            let mut body = gql(ME, json!({}));
            body.splice(0..0, bad.iter().copied());
            plan.json(body)
        }
    }
}

fn control_chars(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    let control: String = (0..rng.random_range(1..50))
        .map(|_| char::from(rng.random_range(0u8..0x20)))
        .chain("\u{7f}\u{9b}\u{202e}\u{200b}".chars())
        .collect();
    match rng.random_range(0..5) {
        0 => plan.json(gql(&format!("{{ me {{ id }} }}{control}"), json!({}))),
        1 => plan.json(gql(&format!("{{ me{control}{{ id }} }}"), json!({}))),
        2 => Plan {
            auth: bearer(&tokens.writer),
            ..plan
        }
        .json(gql(
            "mutation($slug: String!, $name: String!) { \
             createProject(slug: $slug, name: $name, roles: []) { ok error { code } } }",
            json!({ "slug": format!("p{control}"), "name": format!("n{control}") }),
        )),
        3 => {
            let mut request = json!({ "query": "query A { me { id } }" });
            request["operationName"] = json!(format!("A{control}"));
            plan.json(request.to_string())
        }
        _ => {
            let mut raw = gql(ME, json!({}));
            // Raw control bytes inside a JSON string are not JSON.
            raw.splice(12..12, control.bytes());
            plan.json(raw)
        }
    }
}

fn wrong_token(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    let base62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let random_token = |rng: &mut StdRng| -> String {
        let tail: String = (0..38).map(|_| char::from(*pick(rng, base62))).collect();
        format!("kd_{tail}")
    };
    let auth: Option<Vec<u8>> = match rng.random_range(0..9) {
        0 => Some(format!("Bearer {}", random_token(rng)).into_bytes()),
        1 => Some(
            format!(
                "Token {}",
                keydeck::token::generate().expect("the OS random source")
            )
            .into_bytes(),
        ),
        2 => {
            // The admin token with one character changed.
            let mut token = tokens.admin.clone().into_bytes();
            let at = rng.random_range(3..token.len());
            token[at] = if token[at] == b'a' { b'b' } else { b'a' };
            Some([b"Bearer ".as_slice(), &token].concat())
        }
        3 => Some(
            pick(
                rng,
                &[
                    b"Bearer".as_slice(),
                    b"Bearer ",
                    b"Basic YWRtaW46YWRtaW4=",
                    b"Token",
                    b"kd_",
                ],
            )
            .to_vec(),
        ),
        4 => Some(format!("Bearer {}", "A".repeat(*pick(rng, &[100, 4_000, 7_000]))).into_bytes()),
        5 => Some([b"Bearer kd_".as_slice(), b"\xff\xfe\x80abc"].concat()),
        6 => None,
        7 => Some(format!("Bearer {} {}", tokens.admin, tokens.admin).into_bytes()),
        _ => Some(format!("Bearer {}", keydeck::token::hash(&tokens.admin)).into_bytes()),
    };
    Plan { auth, ..plan }.json(gql(ME, json!({})))
}

fn mutation_flood(rng: &mut StdRng, plan: Plan, tokens: &Tokens) -> Plan {
    // Up to the cap, and sometimes over it (refused whole by the request gate).
    let fields = if rng.random_bool(0.1) {
        rng.random_range(21..200)
    } else {
        *pick(rng, &[1, 2, 5, MAX_MUTATION_FIELDS as usize])
    };
    let huge = |rng: &mut StdRng| "x".repeat(*pick(rng, &[40, 300, 2_000, 10_000]));
    let selection = "{ ok error { code } }";
    let document: String = (0..fields)
        .map(|i| {
            let id = huge(rng);
            match rng.random_range(0..5) {
                0 => format!("m{i}: disableApiKey(id: \"{id}\") {selection}"),
                1 => format!("m{i}: enableApiKey(id: \"{id}\") {selection}"),
                2 => format!(
                    "m{i}: addGlobalIdentityRoles(identityId: \"{id}\", roles: [\"super_admin\", \"{id}\"]) {selection}"
                ),
                3 => format!(
                    "m{i}: createProject(slug: \"{id}\", name: \"{id}\", roles: [{{name: \"{id}\", variables: []}}]) {selection}"
                ),
                _ => format!(
                    "m{i}: removeProjectMember(projectSlug: \"{id}\", identityId: \"{id}\") {selection}"
                ),
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    Plan {
        auth: bearer(&tokens.writer),
        ..plan
    }
    .json(gql(&format!("mutation {{ {document} }}"), json!({})))
}

// ---- the wire ------------------------------------------------------------------------------

/// Sends `plan` on a new connection and reads the reply until the server closes.
async fn exchange(addr: SocketAddr, plan: Plan) -> Outcome {
    let connected = if plan.comes_from_guest() {
        connect_from(GUEST_SOURCE, addr).await
    } else {
        TcpStream::connect(addr).await
    };
    let stream = match connected {
        Ok(stream) => stream,
        Err(e) => return Outcome::NoReply(format!("connect: {e}")),
    };
    let (mut reader, mut writer) = stream.into_split();
    let head = request_head(addr, &plan);
    let write = async move {
        // The server may answer and close before reading everything (413): write errors are
        // expected; the reply is what counts.
        let _ = send_body(&mut writer, &head, &plan).await;
        // Kept open until the reply is read: dropping it would half-close the connection.
        writer
    };
    let read = async move {
        let mut received = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) => return Ok(received),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) => return Err((received, e)),
            }
        }
    };
    let exchanged = tokio::time::timeout(Duration::from_secs(45), async {
        let (writer, read) = tokio::join!(write, read);
        drop(writer);
        read
    })
    .await;
    match exchanged {
        Err(_) => Outcome::NoReply("no reply within 45 s".to_owned()),
        Ok(Ok(received)) => parse_reply(&received)
            .unwrap_or_else(|| Outcome::NoReply(format!("{} bytes, not a reply", received.len()))),
        // A reset after a complete reply still counts as that reply.
        Ok(Err((received, e))) => parse_reply(&received)
            .unwrap_or_else(|| Outcome::NoReply(format!("{e} after {} bytes", received.len()))),
    }
}

async fn connect_from(source: [u8; 4], addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

fn request_head(addr: SocketAddr, plan: &Plan) -> Vec<u8> {
    let mut head =
        format!("POST /graphql HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").into_bytes();
    let mut header = |name: &str, value: &[u8]| {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    };
    if let Some(auth) = &plan.auth {
        header("Authorization", auth);
    }
    if let Some(content_type) = &plan.content_type {
        header("Content-Type", content_type);
    }
    match plan.framing {
        Framing::Length => header("Content-Length", plan.body.len().to_string().as_bytes()),
        Framing::Chunked(_) => header("Transfer-Encoding", b"chunked"),
        Framing::Hangup { claimed } => header("Content-Length", claimed.to_string().as_bytes()),
    }
    head.extend_from_slice(b"\r\n");
    head
}

async fn send_body(
    writer: &mut tokio::net::tcp::OwnedWriteHalf,
    head: &[u8],
    plan: &Plan,
) -> std::io::Result<()> {
    writer.write_all(head).await?;
    match plan.framing {
        Framing::Length => writer.write_all(&plan.body).await?,
        Framing::Chunked(size) => {
            for chunk in plan.body.chunks(size) {
                writer
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                writer.write_all(chunk).await?;
                writer.write_all(b"\r\n").await?;
            }
            writer.write_all(b"0\r\n\r\n").await?;
        }
        Framing::Hangup { .. } => {
            writer.write_all(&plan.body).await?;
            writer.shutdown().await?;
        }
    }
    writer.flush().await
}

/// The final (non-1xx) response in `bytes`: its status and body.
fn parse_reply(mut bytes: &[u8]) -> Option<Outcome> {
    loop {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&bytes[..end]).ok()?;
        let rest = &bytes[end + 4..];
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
        if (100..200).contains(&status) {
            bytes = rest;
            continue;
        }
        let mut chunked = false;
        let mut length = None;
        for line in lines {
            let (name, value) = line.split_once(':')?;
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                "content-length" => length = value.parse::<usize>().ok(),
                _ => {}
            }
        }
        let body = if chunked {
            dechunk(rest)?
        } else if let Some(length) = length {
            rest.get(..length)?.to_vec()
        } else {
            rest.to_vec()
        };
        return Some(Outcome::Reply { status, body });
    }
}

fn dechunk(mut bytes: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}
