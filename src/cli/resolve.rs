//! Turns what a user typed where an id is asked into one id, as git does with commits: a full
//! id, a unique id prefix of at least [`MIN_PREFIX`] characters, or an exact name (a key's
//! name, an identity's description, compared as the service compares names). Typing a name is
//! how people think of keys; a prefix is what fits in a shell history. When more than one
//! thing matches, nothing is done and the error lists them, so a script never acts on a guess.

use std::fmt::Write as _;

use crate::api::{ApiClient, Candidate, Database, Lookup};
use crate::text::{name_key, visible};

/// The shortest id prefix looked up: shorter ones are too likely to match by chance.
pub const MIN_PREFIX: usize = 6;

/// How many candidates an ambiguity error names before saying how many more there are.
const LISTED: usize = 10;

/// What is being resolved: names it in messages and gives the not-found code the service
/// would have answered for a wrong id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Key,
    Identity,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Key => "key",
            Kind::Identity => "identity",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Key => "keys",
            Kind::Identity => "identities",
        }
    }

    fn not_found_code(self) -> &'static str {
        match self {
            Kind::Key => "KEY_NOT_FOUND",
            Kind::Identity => "IDENTITY_NOT_FOUND",
        }
    }

    fn name_word(self) -> &'static str {
        match self {
            Kind::Key => "name",
            Kind::Identity => "description",
        }
    }
}

/// Which candidate wins when a name matches several: the one an action can still change
/// (disabling prefers an enabled key, enabling one that is not), so that a name reused after
/// a rotation still names the key in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prefer {
    #[default]
    Nothing,
    State(&'static str),
    NotState(&'static str),
}

impl Prefer {
    fn holds(self, candidate: &Candidate) -> bool {
        match self {
            Prefer::Nothing => false,
            Prefer::State(s) => candidate.state.as_deref() == Some(s),
            Prefer::NotState(s) => candidate.state.as_deref() != Some(s),
        }
    }
}

/// The id of the key `text` stands for.
pub async fn key(client: &ApiClient, text: &str, prefer: Prefer) -> anyhow::Result<String> {
    if is_full_id(text) {
        return Ok(text.to_owned());
    }
    // What an incident starts with: the printed token prefix, or more of the token.
    if text.starts_with(crate::token::PREFIX) {
        let by_token = client.find_keys(Lookup::TokenPrefix(text)).await?;
        if !by_token.is_empty() {
            return Ok(choose(Kind::Key, text, &by_token, &[], prefer)?);
        }
    }
    let by_id = if text.chars().count() >= MIN_PREFIX {
        client.find_keys(Lookup::IdPrefix(text)).await?
    } else {
        Vec::new()
    };
    let by_name = client.find_keys(Lookup::NameContains(text)).await?;
    Ok(choose(Kind::Key, text, &by_id, &by_name, prefer)?)
}

/// The id of the identity `text` stands for.
pub async fn identity(client: &ApiClient, text: &str) -> anyhow::Result<String> {
    if is_full_id(text) {
        return Ok(text.to_owned());
    }
    let by_id = if text.chars().count() >= MIN_PREFIX {
        client.find_identities(Lookup::IdPrefix(text)).await?
    } else {
        Vec::new()
    };
    let by_name = client.find_identities(Lookup::NameContains(text)).await?;
    Ok(choose(
        Kind::Identity,
        text,
        &by_id,
        &by_name,
        Prefer::Nothing,
    )?)
}

/// The id of the monitored database `text` names, by id or by name (ids first).
pub async fn database(client: &ApiClient, text: &str) -> anyhow::Result<String> {
    let databases = client.databases().await?;
    Ok(pick_database(&databases, text)?)
}

fn pick_database(databases: &[Database], text: &str) -> Result<String, Unresolved> {
    databases
        .iter()
        .find(|d| d.id == text)
        .or_else(|| databases.iter().find(|d| d.name == text))
        .map(|d| d.id.clone())
        .ok_or_else(|| {
            let known: Vec<String> = databases
                .iter()
                .map(|d| format!("{} (id {})", d.name, d.id))
                .collect();
            Unresolved(format!(
                "DATABASE_NOT_FOUND: no monitored database has the id or name “{text}”; {}",
                if known.is_empty() {
                    "this service monitors none".to_owned()
                } else {
                    format!("monitored: {}", known.join(", "))
                }
            ))
        })
}

/// A UUID as the service makes them: the one form passed on without a lookup, so a script
/// that has ids pays nothing for the convenience.
fn is_full_id(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// Why `text` stands for no single thing; the message is one line, and names what was tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", visible(.0))]
pub struct Unresolved(pub String);

/// The one candidate `text` names: an exact id, else the union of id-prefix matches and
/// exact-name matches, narrowed by `prefer` when that leaves exactly one.
fn choose(
    kind: Kind,
    text: &str,
    by_id: &[Candidate],
    by_name: &[Candidate],
    prefer: Prefer,
) -> Result<String, Unresolved> {
    if let Some(exact) = by_id.iter().find(|c| c.id == text) {
        return Ok(exact.id.clone());
    }
    let wanted = name_key(text);
    let mut matches: Vec<&Candidate> = by_id.iter().collect();
    for c in by_name.iter().filter(|c| name_key(&c.name) == wanted) {
        if !matches.iter().any(|m| m.id == c.id) {
            matches.push(c);
        }
    }
    match matches.as_slice() {
        [] => Err(Unresolved(format!(
            "{}: no {} has the id, an id starting with, or the {} “{text}”{}",
            kind.not_found_code(),
            kind.noun(),
            kind.name_word(),
            if text.chars().count() < MIN_PREFIX {
                format!(" (an id prefix needs at least {MIN_PREFIX} characters)")
            } else {
                String::new()
            }
        ))),
        [one] => Ok(one.id.clone()),
        several => {
            let preferred: Vec<&&Candidate> = several.iter().filter(|c| prefer.holds(c)).collect();
            if let [one] = preferred.as_slice() {
                return Ok(one.id.clone());
            }
            let mut listed = String::new();
            for c in several.iter().take(LISTED) {
                let _ = write!(listed, "; {} “{}”", c.id, c.name);
                if let Some(state) = &c.state {
                    let _ = write!(listed, " ({state})");
                }
            }
            if several.len() > LISTED {
                let _ = write!(listed, "; and {} more", several.len() - LISTED);
            }
            Err(Unresolved(format!(
                "“{text}” is ambiguous: {} {} match{listed}; give more of the id",
                several.len(),
                kind.plural(),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, name: &str, state: &str) -> Candidate {
        Candidate {
            id: id.into(),
            name: name.into(),
            state: Some(state.into()),
        }
    }

    #[test]
    fn a_unique_prefix_or_an_exact_name_resolves() {
        let a = candidate("abcdef12-0000", "ci deploy", "enabled");
        let by_id = [a.clone()];
        assert_eq!(
            choose(Kind::Key, "abcdef", &by_id, &[], Prefer::Nothing),
            Ok(a.id.clone())
        );
        // A name search is a substring search: only the exact name (any case) counts.
        let by_name = [a.clone(), candidate("99", "ci deploy 2", "enabled")];
        assert_eq!(
            choose(Kind::Key, "CI Deploy", &[], &by_name, Prefer::Nothing),
            Ok(a.id.clone())
        );
    }

    #[test]
    fn several_matches_are_listed_and_nothing_is_chosen() {
        let by_id = [
            candidate("abcdef12-1", "one", "enabled"),
            candidate("abcdef12-2", "two", "disabled"),
        ];
        let err = choose(Kind::Key, "abcdef12", &by_id, &[], Prefer::Nothing).unwrap_err();
        assert!(err.0.contains("ambiguous: 2 keys match"), "{err}");
        assert!(err.0.contains("abcdef12-1 “one” (enabled)"), "{err}");
        assert!(err.0.contains("abcdef12-2 “two” (disabled)"), "{err}");
    }

    #[test]
    fn a_reused_name_names_the_key_the_action_can_change() {
        let by_name = [
            candidate("old", "ci deploy", "disabled"),
            candidate("new", "ci deploy", "enabled"),
        ];
        let disable = Prefer::State("enabled");
        assert_eq!(
            choose(Kind::Key, "ci deploy", &[], &by_name, disable),
            Ok("new".into())
        );
        let enable = Prefer::NotState("enabled");
        assert_eq!(
            choose(Kind::Key, "ci deploy", &[], &by_name, enable),
            Ok("old".into())
        );
    }

    #[test]
    fn a_rotated_name_names_the_successor() {
        // During its grace period a rotated key is still enabled: the lookup marks it
        // `rotated`, so the name means its successor, the key in use.
        let by_name = [
            candidate("old", "ci deploy", "rotated"),
            candidate("new", "ci deploy", "enabled"),
        ];
        assert_eq!(
            choose(
                Kind::Key,
                "ci deploy",
                &[],
                &by_name,
                Prefer::State("enabled")
            ),
            Ok("new".into())
        );
    }

    #[test]
    fn nothing_found_says_what_was_tried() {
        let err = choose(Kind::Identity, "abc", &[], &[], Prefer::Nothing).unwrap_err();
        assert!(err.0.starts_with("IDENTITY_NOT_FOUND"), "{err}");
        assert!(err.0.contains("at least 6 characters"), "{err}");
    }

    #[test]
    fn databases_resolve_by_id_then_name() {
        let dbs = [
            Database {
                id: "1".into(),
                name: "app".into(),
                ..Default::default()
            },
            Database {
                id: "2".into(),
                name: "1".into(),
                ..Default::default()
            },
        ];
        assert_eq!(pick_database(&dbs, "app"), Ok("1".into()));
        assert_eq!(pick_database(&dbs, "1"), Ok("1".into()));
        let err = pick_database(&dbs, "nope").unwrap_err();
        assert!(err.0.contains("monitored: app (id 1)"), "{err}");
    }
}
