//! Sample keys for snapshots, benchmarks and the RSS measurement: deterministic, shaped
//! exactly like the service's answers (they go through the same deserializer).

use serde_json::json;

use crate::api::ops::Key;

/// Key `i` of a made-up fleet: a mix of global and project keys, visibilities, permissions
/// and expiries.
pub fn sample_key(i: usize) -> Result<Key, serde_json::Error> {
    let project = (i % 3 == 1).then(|| json!({"slug": "my-blog", "name": "My Blog"}));
    let projects = if project.is_some() {
        json!([{"project": {"slug": "my-blog"}, "memberships": [{"role": "editor", "variables": [{"name": "language", "values": ["cs"]}]}]}])
    } else {
        json!([])
    };
    let expires = match i % 5 {
        0 => None,
        1 => Some("2026-11-26T12:00:00Z"),
        _ => Some("2026-12-20T12:00:00Z"),
    };
    serde_json::from_value(json!({
        "id": format!("00000000-0000-0000-0000-{i:012}"),
        "type": if project.is_some() { "PROJECT" } else { "GLOBAL" },
        "description": format!("key number {i}"),
        "enabled": true,
        "state": "ENABLED",
        "createdAt": "2026-11-20T12:00:00Z",
        "lastUsedAt": if i.is_multiple_of(2) { json!("2026-11-23T11:00:00Z") } else { json!(null) },
        "expiresAt": expires,
        "disabledAt": null,
        "permissions": if i.is_multiple_of(2) { json!(["READ", "WRITE"]) } else { json!(["READ"]) },
        "visibility": if i % 4 == 3 { "PERSONAL" } else { "ORG_WIDE" },
        "tokenPrefix": format!("kd_{i:06}"),
        "project": project,
        "owner": {"id": "owner", "description": "bootstrap admin"},
        // Used keys were used a lot; one in three of them also had requests refused.
        "lastDay": if i.is_multiple_of(2) { json!([{"requests": 1234 * (i as i64 + 1), "refused": if i.is_multiple_of(3) { 5 } else { 0 }}]) } else { json!([{"requests": 0, "refused": 0}]) },
        "identity": {"id": format!("identity-{i}"), "roles": if i == 0 { json!(["super_admin"]) } else { json!([]) }, "projects": projects}
    }))
}

/// `n` sample keys.
pub fn sample_keys(n: usize) -> Result<Vec<Key>, serde_json::Error> {
    (0..n).map(sample_key).collect()
}
