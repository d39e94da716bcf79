//! A key and its grants in words, one way for every screen: the CLI's tables and `--json`,
//! the TUI's columns and details. What the service sent is worded here, never obeyed: the
//! callers pass every string through [`crate::text::visible`] before a terminal sees it.

use super::ops::Key;
use super::ops::list_keys::{ApiKeyState, ApiKeyType, KeyAuthority, Permission, Visibility};

/// `role`, or `role(var=v1,v2;var2=v3)`: a membership as the Keys table writes it, so a grant
/// reads the same wherever it is listed.
pub fn membership_label<'a>(
    role: &str,
    variables: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> String {
    let vars: Vec<String> = variables
        .into_iter()
        .map(|(name, values)| format!("{name}={}", values.join(",")))
        .collect();
    if vars.is_empty() {
        role.to_owned()
    } else {
        format!("{role}({})", vars.join(";"))
    }
}

/// What the service did to the personal keys an identity created when it lost access, as the
/// end of a sentence (empty when it did nothing).
pub fn narrowed_note(narrowed: usize) -> String {
    match narrowed {
        0 => String::new(),
        1 => " 1 personal key it created lost the same.".to_owned(),
        n => format!(" {n} personal keys it created lost the same."),
    }
}

/// The requests the service authenticated for `key` over the last 24 hours, and of those
/// the ones it refused, as its listing brought them.
pub fn last_day(key: &Key) -> (i64, i64) {
    key.last_day
        .iter()
        .fold((0, 0), |(n, r), p| (n + p.requests, r + p.refused))
}

/// A key's state in one word.
pub fn state_label(state: &ApiKeyState) -> &'static str {
    match state {
        ApiKeyState::ENABLED => "enabled",
        ApiKeyState::DISABLED => "disabled",
        ApiKeyState::EXPIRED => "expired",
        ApiKeyState::Other(_) => "unknown",
    }
}

/// The authority a key was disabled with, in words.
pub fn authority_label(authority: &KeyAuthority) -> &'static str {
    match authority {
        KeyAuthority::OWNER => "owner",
        KeyAuthority::PROJECT_ADMIN => "project_admin",
        KeyAuthority::SUPER_ADMIN => "super_admin",
        KeyAuthority::Other(_) => "unknown",
    }
}

/// `global`, or the slug of a project key's project.
pub fn scope_label(key: &Key) -> String {
    match (&key.type_, &key.project) {
        (ApiKeyType::PROJECT, Some(p)) => p.slug.clone(),
        _ => "global".into(),
    }
}

/// `org` or `pers.`, as narrow as the Keys table's column.
pub fn visibility_label(v: &Visibility) -> &'static str {
    match v {
        Visibility::PERSONAL => "pers.",
        _ => "org",
    }
}

/// `RW`, `R`, `W` or `-`.
pub fn permissions_label(perms: &[Permission]) -> String {
    let r = perms.contains(&Permission::READ);
    let w = perms.contains(&Permission::WRITE);
    match (r, w) {
        (true, true) => "RW".into(),
        (true, false) => "R".into(),
        (false, true) => "W".into(),
        _ => "-".into(),
    }
}

/// Global roles, or `role(var=v,…)` per project membership; `hidden` when the service does
/// not show this caller the key's identity.
pub fn grants_label(key: &Key) -> String {
    let Some(identity) = &key.identity else {
        return "hidden".into();
    };
    let mut parts: Vec<String> = identity.roles.clone();
    for relation in &identity.projects {
        for m in &relation.memberships {
            // With its project, as the Identities tab writes it: `my-blog:editor(language=cs)`.
            let label = membership_label(
                &m.role,
                m.variables
                    .iter()
                    .map(|v| (v.name.as_str(), v.values.as_slice())),
            );
            parts.push(format!("{}:{label}", relation.project.slug));
        }
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}
