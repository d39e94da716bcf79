//! An admin's jobs across the whole fleet (issue 18): trace a leaked token from what an
//! incident starts with, find and offboard what a person created, answer simple questions from
//! the CLI. Through the service and the real binary, on both stores.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_keydeck");

/// `apiKeys` ids for `filter` as the super admin sees them.
async fn ids(server: &TestServer, filter: Value) -> Vec<String> {
    let mut ids = server.visible_key_ids(&server.admin, filter).await;
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Runs the real binary as the super admin with `stdin`; (exit code, stdout, stderr).
fn keydeck(server: &TestServer, args: &[&str], stdin: &str) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new(BIN);
    command
        .env_clear()
        .args(args)
        .env("KEYDECK_ENDPOINT", server.graphql_url())
        .env("KEYDECK_TOKEN", &server.admin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    isolate(home.path(), |k, v| {
        command.env(k, v);
    });
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leaked_token_is_traced_from_its_prefix_or_itself() {
    let server = TestServer::start().await;
    let leaked = server.global_key("leaked", &[]).await;
    let other = server.global_key("other", &[]).await;
    let printed = string(&leaked.record["tokenPrefix"]);
    assert_eq!(printed.len(), 9, "{printed}");
    for given in [
        printed.clone(),
        printed[..6].to_owned(),
        leaked.token[..20].to_owned(),
        leaked.token.clone(),
    ] {
        let found = ids(&server, json!({ "tokenPrefix": given })).await;
        assert!(found.contains(&leaked.id), "{given}: {found:?}");
        assert!(!found.contains(&other.id) || given.len() < 9, "{given}");
    }
    // Tokens are case-sensitive: the prefix with every letter's case swapped finds nothing
    // (unless it has no letter to swap).
    let swapped: String = printed[3..]
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    let swapped = format!("kd_{swapped}");
    if swapped != printed {
        assert_eq!(
            ids(&server, json!({ "tokenPrefix": swapped })).await,
            Vec::<String>::new(),
            "tokens are case-sensitive"
        );
    }
    assert_eq!(
        ids(&server, json!({ "tokenHash": sha256(&leaked.token) })).await,
        vec![leaked.id.clone()]
    );
    // The search a person types into `/` finds it by its prefix too.
    assert_eq!(
        ids(&server, json!({ "search": printed })).await,
        vec![leaked.id.clone()]
    );

    // The CLI: a KEY argument may be a token prefix; `keys find` takes the whole token.
    let (code, stdout, stderr) = keydeck(
        &server,
        &["keys", "find", "--token-stdin"],
        &format!("{}\n", leaked.token),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&leaked.id) && stdout.contains("leaked"),
        "{stdout}"
    );
    assert!(!stdout.contains(&leaked.token) && !stderr.contains(&leaked.token));
    let (code, _, stderr) = keydeck(&server, &["keys", "find", "--token-stdin"], "kd_nothing\n");
    assert_eq!(code, 1);
    assert!(stderr.contains("KEY_NOT_FOUND"), "{stderr}");
    let (code, stdout, stderr) = keydeck(&server, &["keys", "disable", &printed], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&leaked.id), "{stdout}");
    assert_eq!(server.status_of(&leaked.token).await, 401);
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_person_created_is_listed_and_offboarded_at_once() {
    let server = TestServer::start().await;
    server.blog().await;
    let person = server.global_key("person", &["project_admin"]).await;
    let personal = json!({ "visibility": "PERSONAL" });
    let mine = server
        .global_key_with(&person.token, "mine", &[], personal.clone())
        .await;
    let deeper = server
        .global_key_with(&mine.token, "deeper", &[], personal)
        .await;
    let org_wide = Key::from_reply(
        &server
            .create_project_key(
                &person.token,
                json!({ "projectSlug": "my-blog", "description": "blog bot",
                        "memberships": [{ "role": "viewer", "variables": [] }] }),
            )
            .await,
    );
    let bystander = server.global_key("bystander", &[]).await;
    let direct = json!({ "createdBy": person.identity_id });
    assert_eq!(
        ids(&server, direct).await,
        sorted(vec![mine.id.clone(), org_wide.id.clone()])
    );
    let deep = json!({ "createdBy": person.identity_id, "createdByDeep": true });
    let all_three = sorted(vec![
        mine.id.clone(),
        deeper.id.clone(),
        org_wide.id.clone(),
    ]);
    assert_eq!(ids(&server, deep).await, all_three);

    // `keys list --created-by` and `--project`, then one command disables them all.
    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "keys",
            "list",
            "--created-by",
            &person.identity_id,
            "--json",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let listed: Vec<String> = serde_json::from_str::<Value>(&stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| string(&k["id"]))
        .collect();
    assert_eq!(sorted(listed), all_three);
    let (code, stdout, _) = keydeck(
        &server,
        &["keys", "list", "--project", "my-blog", "--json"],
        "",
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&org_wide.id) && !stdout.contains(&mine.id),
        "{stdout}"
    );
    let (code, stdout, _) = keydeck(&server, &["keys", "list", "--limit", "2", "--json"], "");
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "keys",
            "disable",
            "--created-by",
            &person.identity_id,
            &person.id,
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    for key in [&person, &mine, &deeper, &org_wide] {
        assert_eq!(server.status_of(&key.token).await, 401, "{}", key.id);
        assert!(stdout.contains(&key.id), "{stdout}");
    }
    assert_eq!(server.status_of(&bystander.token).await, 200);
}

/// `apiKeys(orderBy:)` pages through the whole store in every order, forward and backward,
/// each page by keyset: the pages joined are the store sorted (issue 18.1, 18.2).
/// How [`walk`] reads a listing: forward `first` at a time, or backward from the end `last`
/// at a time.
#[derive(Clone, Copy)]
enum Way {
    Forward(i64),
    Backward(i64),
}

/// Every node of the connection `listing` that `query` reads with `vars` (its filter and
/// order), page after page by cursor, in the listing's order whichever `way` it is read.
async fn walk(
    server: &TestServer,
    query: &str,
    listing: &str,
    vars: &Value,
    way: Way,
) -> Vec<Value> {
    let mut nodes: Vec<Value> = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut vars = vars.clone();
        let (more, next) = match way {
            Way::Forward(n) => {
                vars["first"] = json!(n);
                vars["after"] = cursor;
                ("hasNextPage", "endCursor")
            }
            Way::Backward(n) => {
                vars["last"] = json!(n);
                vars["before"] = cursor;
                ("hasPreviousPage", "startCursor")
            }
        };
        let page = server.data(&server.admin, query, vars).await[listing].clone();
        let got = page["nodes"].as_array().unwrap().clone();
        match way {
            Way::Forward(_) => nodes.extend(got),
            Way::Backward(_) => nodes.splice(0..0, got).for_each(drop),
        }
        if page["pageInfo"][more] != json!(true) {
            return nodes;
        }
        cursor = page["pageInfo"][next].clone();
    }
}

fn ids_of(nodes: &[Value]) -> Vec<String> {
    nodes.iter().map(|n| string(&n["id"])).collect()
}

#[tokio::test]
async fn every_order_pages_the_whole_store_forward_and_backward() {
    let server = TestServer::start().await;
    let names = [
        "backup-dev-0043",
        "Backup-dev-0004",
        "alpha",
        "Zulu",
        "mike",
        "backup-dev-0010",
        "échelle",
        "delta",
        "Charlie",
        "bravo",
        "kilo",
        "juliet",
        "India",
        "hotel",
        "golf",
    ];
    let ttls = ["1d", "2d", "3d", "5d", "8d"];
    for (i, name) in names.iter().enumerate() {
        server
            .global_key_with(
                &server.admin,
                name,
                &[],
                json!({ "expiresIn": ttls[i % ttls.len()] }),
            )
            .await;
    }
    let some = server.global_key("to disable", &[]).await;
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": some.id }))
        .await);
    const PAGE: &str = "query($f: ApiKeyFilter, $o: ApiKeyOrder, $first: Int, $after: String, \
        $last: Int, $before: String) { apiKeys(filter: $f, orderBy: $o, first: $first, \
        after: $after, last: $last, before: $before) { totalCount \
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } \
        nodes { id description state expiresAt createdAt lastUsedAt } } }";
    let filter = json!({ "includeDisabled": true });
    let all = server
        .data(&server.admin, PAGE, json!({ "f": filter, "first": 500 }))
        .await["apiKeys"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), names.len() + 2, "the bootstrap key too");
    for field in ["NAME", "CREATED_AT", "EXPIRES_AT", "LAST_USED_AT", "STATE"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let vars = json!({ "f": filter, "o": order });
            let forward = walk(&server, PAGE, "apiKeys", &vars, Way::Forward(4)).await;
            assert_eq!(forward.len(), all.len(), "{field} {direction}");
            let mut expected = forward.clone();
            expected.sort_by(|a, b| {
                let key = |k: &Value| -> (String, String) {
                    let v = match field {
                        "NAME" => string(&k["description"]).to_lowercase(),
                        "CREATED_AT" => String::new(),
                        "EXPIRES_AT" => k["expiresAt"].as_str().unwrap_or("~").to_owned(),
                        "LAST_USED_AT" => k["lastUsedAt"].as_str().unwrap_or("").to_owned(),
                        _ => match k["state"].as_str().unwrap() {
                            "ENABLED" => "0",
                            "DISABLED" => "1",
                            _ => "2",
                        }
                        .to_owned(),
                    };
                    let created = all.iter().position(|x| x["id"] == k["id"]).unwrap();
                    (v, format!("{created:05}"))
                };
                let ordering = key(a).cmp(&key(b));
                if direction == "DESC" {
                    ordering.reverse()
                } else {
                    ordering
                }
            });
            assert_eq!(ids_of(&forward), ids_of(&expected), "{field} {direction}");
            // Backward from the end, 5 at a time: the same keys, the same order.
            let backward = walk(&server, PAGE, "apiKeys", &vars, Way::Backward(5)).await;
            assert_eq!(
                ids_of(&backward),
                ids_of(&expected),
                "{field} {direction} backward"
            );
        }
    }
    // `last: 1` alone is the end of the listing, in one request.
    let vars = json!({ "f": filter, "o": { "field": "NAME" }, "last": 1 });
    let end = server.data(&server.admin, PAGE, vars).await["apiKeys"].clone();
    // Names compare lowercased, code point by code point: `é` after `z`.
    assert_eq!(end["nodes"][0]["description"], json!("échelle"));
    assert_eq!(end["totalCount"], json!(all.len()));
    // A cursor belongs to its order.
    let by_name = server
        .data(
            &server.admin,
            PAGE,
            json!({ "o": { "field": "NAME" }, "first": 1 }),
        )
        .await["apiKeys"]["pageInfo"]["endCursor"]
        .clone();
    let code = server
        .error_code(
            &server.admin,
            PAGE,
            json!({ "o": { "field": "EXPIRES_AT" }, "first": 1, "after": by_name }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}

/// `keydeck members list|add|update|remove` (issue 18.6), taking memberships as listings print
/// them; narrowing a member says what it did to the personal keys the member created.
#[tokio::test(flavor = "multi_thread")]
async fn members_are_listed_added_updated_and_removed_from_the_cli() {
    let server = TestServer::start().await;
    server.blog().await;
    let person = server.global_key("person", &[]).await;
    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "members",
            "add",
            &person.identity_id,
            "--project",
            "my-blog",
            "--membership",
            "editor(language=cs,en)",
            "--membership",
            "viewer",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Added") && stdout.contains("editor(language=cs,en), viewer"),
        "{stdout}"
    );
    let child = Key::from_reply(
        &server
            .create_project_key(
                &person.token,
                json!({ "projectSlug": "my-blog", "description": "mine",
                        "memberships": editor(&["cs", "en"]),
                        "options": { "visibility": "PERSONAL" } }),
            )
            .await,
    );
    let (code, stdout, _) = keydeck(
        &server,
        &["members", "list", "--project", "my-blog", "--json"],
        "",
    );
    assert_eq!(code, 0);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["identity_id"] == json!(person.identity_id))
        .expect("the person is listed")
        .clone();
    assert_eq!(
        row["memberships"][0]["variables"]["language"],
        json!(["cs", "en"])
    );
    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "members",
            "update",
            &person.identity_id,
            "--project",
            "my-blog",
            "--membership",
            "editor:language=cs",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("1 personal key it created lost the same"),
        "{stdout}"
    );
    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "members",
            "remove",
            &person.identity_id,
            "--project",
            "my-blog",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Removed"), "{stdout}");
    let (_, stdout, _) = keydeck(
        &server,
        &["members", "list", "--project", "my-blog", "--json"],
        "",
    );
    assert!(
        !stdout.contains(&person.identity_id) && !stdout.contains(&child.identity_id),
        "{stdout}"
    );
    let (code, _, stderr) = keydeck(&server, &["members", "list", "--project", "nope"], "");
    assert_eq!(code, 1);
    assert!(stderr.contains("PROJECT_NOT_FOUND"), "{stderr}");
}

/// `keydeck keys show` (every field, grants with their project, owner, who disabled it, the
/// keys it created) and `keydeck databases list` (issue 18.8).
#[tokio::test(flavor = "multi_thread")]
async fn keys_show_answers_everything_about_one_key() {
    let server = TestServer::start().await;
    server.blog().await;
    let owner = server
        .project_key("my-blog", "blog owner", admin_and_editor())
        .await;
    let child = Key::from_reply(
        &server
            .create_project_key(
                &owner.token,
                json!({ "projectSlug": "my-blog", "description": "owner's child",
                        "memberships": editor(&["cs"]), "options": { "visibility": "PERSONAL" } }),
            )
            .await,
    );
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": child.id }))
        .await);
    let (code, stdout, stderr) = keydeck(&server, &["keys", "show", "blog owner"], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("my-blog:admin, my-blog:editor(language=cs,en)"),
        "{stdout}"
    );
    assert!(stdout.contains("Created keys 1\n"), "{stdout}");
    assert!(
        stdout.contains(&child.id) && stdout.contains("owner's child"),
        "{stdout}"
    );
    // The chain of creators: the child's owner, then who created the owner's key.
    assert!(
        stdout.contains("Owner chain  bootstrap admin\n"),
        "{stdout}"
    );
    let (code, stdout, stderr) = keydeck(&server, &["keys", "show", &child.id], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Owner chain  blog owner ← bootstrap admin\n"),
        "{stdout}"
    );
    let (code, stdout, stderr) = keydeck(&server, &["keys", "show", &child.id, "--json"], "");
    assert_eq!(code, 0, "{stderr}");
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["ownerId"], json!(owner.identity_id));
    assert_eq!(shown["ownerChain"][0]["id"], json!(owner.identity_id));
    assert_eq!(shown["ownerChain"][0]["description"], json!("blog owner"));
    assert_eq!(shown["ownerChain"].as_array().map(Vec::len), Some(2));
    assert_eq!(shown["disabledBy"], json!(server.me(&server.admin).await));
    assert_eq!(shown["disabledAs"], json!("super_admin"));
    assert_eq!(shown["memberships"][0]["project"], json!("my-blog"));

    let (code, stdout, _) = keydeck(&server, &["databases", "list"], "");
    assert_eq!(code, 0);
    assert!(stdout.contains("monitors no database"), "{stdout}");
    let (code, stdout, _) = keydeck(&server, &["databases", "list", "--json"], "");
    assert_eq!((code, stdout.trim()), (0, "[]"));
}

/// `keydeck identities list --search S --role R` (issue 18.8).
#[tokio::test(flavor = "multi_thread")]
async fn identities_are_listed_by_search_and_role() {
    let server = TestServer::start().await;
    let watcher = server.global_key("night watcher", &["monitor"]).await;
    let other = server.global_key("day shift", &[]).await;
    let (code, stdout, stderr) = keydeck(
        &server,
        &["identities", "list", "--role", "monitor", "--json"],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&watcher.identity_id) && !stdout.contains(&other.identity_id),
        "{stdout}"
    );
    let (code, stdout, _) = keydeck(
        &server,
        &["identities", "list", "--search", "DAY", "--json"],
        "",
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains(&other.identity_id) && !stdout.contains(&watcher.identity_id),
        "{stdout}"
    );
}

/// `identities(orderBy:)` (issue 18.1–2): by name (any case, ties by creation) and by creation,
/// both ways, forward and backward across pages; old cursors still work; and the CLI's
/// `identities list --sort name --desc --limit`.
#[tokio::test(flavor = "multi_thread")]
async fn identities_page_in_either_order_both_ways() {
    let server = TestServer::start().await;
    let names = [
        "mike", "Alpha", "zulu", "échelle", "bravo", "Delta", "charlie", "twin", "kilo",
    ];
    for name in names {
        server.global_key(name, &[]).await;
    }
    // Ties: the same name in another case, three times (each disabled before the next, as an
    // enabled key's name is its own).
    for name in ["TWIN", "Twin "] {
        let twin = server
            .data(
                &server.admin,
                "query($f: ApiKeyFilter) { apiKeys(filter: $f) { nodes { id } } }",
                json!({ "f": { "search": "twin" } }),
            )
            .await["apiKeys"]["nodes"][0]["id"]
            .clone();
        ok(&server
            .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": twin }))
            .await);
        server.global_key(name, &[]).await;
    }
    const PAGE: &str = "query($o: IdentityOrder, $first: Int, $after: String, $last: Int,         $before: String) { identities(orderBy: $o, first: $first, after: $after, last: $last,         before: $before) { totalCount         pageInfo { hasNextPage hasPreviousPage startCursor endCursor }         nodes { id description createdAt } } }";
    let all = server
        .data(&server.admin, PAGE, json!({ "first": 500 }))
        .await["identities"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), names.len() + 3, "the bootstrap identity too");
    // The old arguments and cursors page in creation order as they always did.
    let old = walk(&server, PAGE, "identities", &json!({}), Way::Forward(4)).await;
    assert_eq!(ids_of(&old), ids_of(&all));
    for field in ["NAME", "CREATED_AT"] {
        for direction in ["ASC", "DESC"] {
            let mut expected = all.clone();
            // `all` is in creation order: a stable sort by name keeps ties by creation.
            if field == "NAME" {
                expected.sort_by_key(|i| string(&i["description"]).trim().to_lowercase());
            }
            if direction == "DESC" {
                expected.reverse();
            }
            let vars = json!({ "o": { "field": field, "direction": direction } });
            for way in [Way::Forward(3), Way::Backward(4)] {
                let got = walk(&server, PAGE, "identities", &vars, way).await;
                assert_eq!(ids_of(&got), ids_of(&expected), "{field} {direction}");
            }
        }
    }
    let descriptions = |nodes: &[Value]| -> Vec<String> {
        nodes.iter().map(|n| string(&n["description"])).collect()
    };
    let by_name = walk(
        &server,
        PAGE,
        "identities",
        &json!({ "o": { "field": "NAME" } }),
        Way::Forward(2),
    )
    .await;
    let twins: Vec<String> = descriptions(&by_name)
        .into_iter()
        .filter(|d| d.trim().eq_ignore_ascii_case("twin"))
        .map(|d| d.trim().to_owned())
        .collect();
    assert_eq!(twins, ["twin", "TWIN", "Twin"], "ties go by creation");
    // Names compare lowercased, code point by code point: `é` after `z`.
    assert_eq!(
        descriptions(&by_name).last().map(String::as_str),
        Some("échelle")
    );
    // `last: 1` alone is the end, with the total.
    let end = server
        .data(
            &server.admin,
            PAGE,
            json!({ "o": { "field": "NAME" }, "last": 1 }),
        )
        .await["identities"]
        .clone();
    assert_eq!(end["nodes"][0]["description"], json!("échelle"));
    assert_eq!(end["totalCount"], json!(all.len()));
    // A cursor belongs to its order.
    let name_cursor = by_name_cursor(&server, PAGE).await;
    let code = server
        .error_code(
            &server.admin,
            PAGE,
            json!({ "o": { "field": "CREATED_AT" }, "first": 1, "after": name_cursor }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    // The CLI: the last three names, going down.
    let (code, stdout, stderr) = keydeck(
        &server,
        &[
            "identities",
            "list",
            "--sort",
            "name",
            "--desc",
            "--limit",
            "3",
            "--json",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let listed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| string(&i["description"]))
        .collect();
    let mut going_down = descriptions(&by_name);
    going_down.reverse();
    assert_eq!(listed, going_down[..3]);
    assert_eq!(listed[..2], ["échelle", "zulu"]);
    let (code, stdout, stderr) = keydeck(
        &server,
        &["identities", "list", "--sort", "name", "--limit", "2"],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two rows: {stdout}");
    let first_two = descriptions(&by_name);
    assert!(
        lines[1].contains(&first_two[0]) && lines[2].contains(&first_two[1]),
        "{stdout}"
    );
    assert!(lines[1].contains("Alpha"), "{stdout}");
}

/// The end cursor of the first page of identities by name.
async fn by_name_cursor(server: &TestServer, query: &str) -> Value {
    server
        .data(
            &server.admin,
            query,
            json!({ "o": { "field": "NAME" }, "first": 1 }),
        )
        .await["identities"]["pageInfo"]["endCursor"]
        .clone()
}

/// Identities stored before `identities.name_order` existed hold `''` there: opening the store
/// computes it (once, as it does keys' name forms), and the order by name is right again.
#[tokio::test(flavor = "multi_thread")]
async fn identities_stored_before_their_name_order_are_ordered_after_a_reopen() {
    let server = TestServer::start().await;
    for name in ["Zeta", "alpha", "Mu"] {
        server.global_key(name, &[]).await;
    }
    let mut conn = server.store_connection().await;
    for statement in [
        "UPDATE identities SET name_order = ''",
        "DELETE FROM store_meta WHERE name = 'identity_name_version'",
    ] {
        sqlx::query(statement).execute(&mut conn).await.unwrap();
    }
    let reopened = keydeck::server::store::Store::open(server.database_url())
        .await
        .unwrap();
    drop(reopened);
    let by_name = walk(
        &server,
        "query($o: IdentityOrder, $first: Int, $after: String) { identities(orderBy: $o, \
         first: $first, after: $after) { pageInfo { hasNextPage endCursor } \
         nodes { id description } } }",
        "identities",
        &json!({ "o": { "field": "NAME", "direction": "DESC" } }),
        Way::Forward(2),
    )
    .await;
    let names: Vec<String> = by_name.iter().map(|n| string(&n["description"])).collect();
    assert_eq!(names, ["Zeta", "Mu", "bootstrap admin", "alpha"]);
}

/// Issue 18.8: on a terminal a table fits its width, the widest columns cut with `…`; piped,
/// every value is whole (and `--json` as it was).
#[tokio::test(flavor = "multi_thread")]
async fn tables_fit_the_terminal_and_keep_whole_values_when_piped() {
    let server = TestServer::start().await;
    let long = format!("long-{}", "n".repeat(195));
    assert_eq!(long.chars().count(), 200);
    let key = server.global_key(&long, &["monitor"]).await;
    server.global_key("short", &[]).await;
    let endpoint = server.graphql_url();
    for cols in [80, 100] {
        let admin = server.admin.clone();
        let endpoint = endpoint.clone();
        let (code, raw) = tokio::task::spawn_blocking(move || {
            common::pty::Tui::spawn(
                &["keys", "list"],
                &[("KEYDECK_ENDPOINT", &endpoint), ("KEYDECK_TOKEN", &admin)],
                (35, cols),
            )
            .finish("short")
        })
        .await
        .unwrap();
        assert_eq!(code, 0, "{raw}");
        let lines: Vec<&str> = raw.lines().map(|l| l.trim_end_matches('\r')).collect();
        let row = lines
            .iter()
            .find(|l| l.contains("long-n"))
            .unwrap_or_else(|| panic!("no row of the long key: {raw}"));
        assert!(row.contains('…'), "{row}");
        assert!(row.contains(&key.id[..5]), "the id starts the row: {row}");
        for line in &lines {
            let width: usize = line
                .chars()
                .map(|c| unicode_width::UnicodeWidthChar::width(c).unwrap_or(0))
                .sum();
            assert!(
                width <= usize::from(cols),
                "{width} cells at {cols}: {line}"
            );
        }
    }
    let (code, stdout, stderr) = keydeck(&server, &["keys", "list"], "");
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&long) && !stdout.contains('…'), "{stdout}");
    let (code, stdout, _) = keydeck(&server, &["keys", "list", "--json"], "");
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("\"{long}\"")), "{stdout}");
}

/// Issue 19.4: enabling an expired key is refused with its own code, by the service and the
/// CLI (it said "enabled" and exited 0, and the key stayed unusable).
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_key_is_not_enabled() {
    let server = TestServer::start().await;
    let short = server
        .global_key_with(&server.admin, "short", &[], json!({ "expiresIn": "1s" }))
        .await;
    ok(&server
        .mutate(&server.admin, DISABLE_API_KEY, json!({ "id": short.id }))
        .await);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let reply = server
        .mutate(&server.admin, ENABLE_API_KEY, json!({ "id": short.id }))
        .await;
    refused(&reply, "KEY_EXPIRED");
    let (code, stdout, stderr) = keydeck(&server, &["keys", "enable", &short.id], "");
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("KEY_EXPIRED") && !stdout.contains("enabled"),
        "{stderr}"
    );
}

/// The TUI at fleet size (issue 18): 3,000 keys and 300 projects, the real binary in a
/// pseudo-terminal. Sorting, the end and a token prefix act on the whole store, an identity's
/// details list the keys it created, and a membership in the 251st project is granted by
/// typing its slug.
#[tokio::test(flavor = "multi_thread")]
async fn the_tui_works_at_3000_keys_and_300_projects() {
    const KEYS: usize = 3000;
    const PROJECTS: usize = 300;
    let server = TestServer::start().await;
    for chunk in (0..PROJECTS).collect::<Vec<_>>().chunks(50) {
        futures::future::join_all(chunk.iter().map(|i| {
            let (server, slug) = (&server, format!("p-{i:03}"));
            async move { server.project(&slug, blog_roles()).await }
        }))
        .await;
    }
    // Names in another order than creation: sorting by name must read the whole store.
    let name = |i: usize| format!("fleet {:04}", (i * 1_237 + 17) % KEYS);
    let mut keys = Vec::new();
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(100) {
        keys.extend(
            futures::future::join_all(chunk.iter().map(|&i| {
                let (server, name) = (&server, name(i));
                async move { server.global_key(&name, &[]).await }
            }))
            .await,
        );
    }
    let hire = server.global_key("new hire", &[]).await;
    let total = KEYS + 2;

    let mut tui = common::pty::Tui::start(&server.graphql_url(), &server.admin);
    tui.screen.wait_for("● online");
    // The exact count at once.
    tui.screen
        .wait_for(&format!("Keys: 200 of {} ", thousands(total)));
    // Sorted by name over the whole store: `fleet 0000` was created far beyond the first
    // page, and comes first.
    tui.send("s");
    let screen = tui.screen.wait_for("sort: name ▲");
    let screen = if screen.contains("fleet 0000") {
        screen
    } else {
        tui.screen.wait_for("fleet 0000")
    };
    assert!(screen.contains("Name ▲"), "{screen}");
    // The end in one request: the last name, and the title counts from where the rows are.
    tui.send("G");
    let screen = tui.screen.wait_for("new hire");
    assert!(
        screen.contains(&format!("of {} ", thousands(total))),
        "{screen}"
    );
    // A leaked token's printed prefix finds its key on the service.
    let leaked = &keys[1_234];
    let prefix: String = leaked.token.chars().take(9).collect();
    tui.send("g");
    tui.send("g");
    tui.send("/");
    tui.send(&prefix);
    tui.send("\r");
    let screen = tui.screen.wait_for(&format!(
        "service searched for tokens starting with “{prefix}”"
    ));
    assert!(screen.contains(&name(1_234)), "{screen}");
    assert!(screen.contains("Keys: 1 of 1 "), "{screen}");
    tui.send("\x1b");

    // Identities in the service's order too: by description, the end in one request.
    tui.send("2");
    tui.screen
        .wait_for(&format!("Identities: 200 of {} ", thousands(total)));
    tui.send("s");
    tui.screen.wait_for("sort: description ▲");
    tui.send("G");
    let screen = tui.screen.wait_for(&format!(
        "Identities: {}–{} of {}",
        thousands(total - 199),
        thousands(total),
        thousands(total)
    ));
    assert!(screen.contains("new hire"), "{screen}");
    // The new hire's details, then a membership in p-250.
    tui.send("/");
    tui.send("new hire");
    tui.send("\r");
    tui.screen.wait_for("Identities: 1 of 1");
    tui.send("\r");
    tui.screen.wait_for("Keys it created (0)");
    tui.send("\x1b");
    tui.send("m");
    tui.screen.wait_for("Project membership of new hire");
    tui.send("p-250");
    tui.screen.wait_for("1 of 300 projects");
    tui.send("\r");
    tui.screen.wait_for("p-250 · ");
    // No role is chosen for the user; the listed form names one with its values.
    tui.send("\t");
    tui.send("\t");
    tui.send("editor(language=cs)");
    tui.send("\r");
    tui.screen
        .wait_for("saved the identity’s roles and memberships");
    tui.send("q");
    let status = tui.child.wait().unwrap();
    assert!(status.success(), "keydeck exited with {status:?}");

    let (code, stdout, stderr) = keydeck(
        &server,
        &["members", "list", "--project", "p-250", "--json"],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&hire.identity_id) && stdout.contains("\"cs\""),
        "{stdout}"
    );
}

/// `3129` as `3,129`.
fn thousands(n: usize) -> String {
    keydeck::tui::widgets::numbers::thousands(n)
}
