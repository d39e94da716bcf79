//! Checks project memberships against the project's role definitions.

use async_graphql::{Enum, SimpleObject};

use crate::server::model::{Membership, RoleDefinition};
use crate::server::store::{Store, StoreError};
use crate::text;

/// Longest variable value accepted.
const MAX_VALUE_LEN: usize = 200;

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipValidationErrorCode {
    /// The project defines no role of this name.
    RoleNotFound,
    /// The role has no variable of this name.
    VariableNotFound,
    /// A variable of the role got no value.
    VariableEmpty,
    /// A value is blank, too long, given twice, or holds a control, bidi or invisible character
    /// (it is shown to other users, in their terminals).
    VariableInvalid,
}

/// What is wrong with one membership, and where.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct MembershipValidationError {
    pub code: MembershipValidationErrorCode,
    pub role: String,
    pub variable: Option<String>,
}

/// Memberships that do not match the project's role definitions, with every problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("one or more memberships do not match the project's role definitions")]
pub struct Mismatch(pub Vec<MembershipValidationError>);

/// Checks `memberships` against the role definitions of the project `project_id`.
pub async fn check<E>(store: &Store, project_id: &str, memberships: &[Membership]) -> Result<(), E>
where
    E: From<Mismatch> + From<StoreError>,
{
    let problems = validate(&store.project_roles(project_id).await?, memberships);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Mismatch(problems).into())
    }
}

/// Every problem of `memberships` against `definitions`; empty when they are valid.
pub fn validate(
    definitions: &[RoleDefinition],
    memberships: &[Membership],
) -> Vec<MembershipValidationError> {
    let mut errors = Vec::new();
    let mut push = |code, role: &str, variable: Option<&str>| {
        errors.push(MembershipValidationError {
            code,
            role: role.to_owned(),
            variable: variable.map(str::to_owned),
        });
    };
    for m in memberships {
        let Some(def) = definitions.iter().find(|d| d.name == m.role) else {
            push(MembershipValidationErrorCode::RoleNotFound, &m.role, None);
            continue;
        };
        for entry in &m.variables {
            if !def.variables.iter().any(|v| v.name == entry.name) {
                push(
                    MembershipValidationErrorCode::VariableNotFound,
                    &m.role,
                    Some(&entry.name),
                );
            } else if !values_are_valid(&entry.values) {
                push(
                    MembershipValidationErrorCode::VariableInvalid,
                    &m.role,
                    Some(&entry.name),
                );
            }
        }
        for var in &def.variables {
            let given = m.variables.iter().find(|e| e.name == var.name);
            if given.is_none_or(|e| e.values.is_empty()) {
                push(
                    MembershipValidationErrorCode::VariableEmpty,
                    &m.role,
                    Some(&var.name),
                );
            }
        }
    }
    errors
}

/// Each value clean (see [`text::clean_name`]) and no two the same once cleaned, so `" cs"`
/// beside `"cs"` counts as given twice.
fn values_are_valid(values: &[String]) -> bool {
    let mut seen = Vec::with_capacity(values.len());
    values
        .iter()
        .all(|v| match text::clean_name(v, MAX_VALUE_LEN) {
            Ok(clean) if !seen.contains(&clean) => {
                seen.push(clean);
                true
            }
            _ => false,
        })
}

/// The memberships with every variable value in its stored form: trimmed and NFC, as
/// [`validate`] judged it. Values it refuses are left as they are.
pub fn cleaned(mut memberships: Vec<Membership>) -> Vec<Membership> {
    for value in memberships
        .iter_mut()
        .flat_map(|m| m.variables.iter_mut())
        .flat_map(|e| e.values.iter_mut())
    {
        if let Ok(clean) = text::clean_name(value, MAX_VALUE_LEN) {
            *value = clean;
        }
    }
    memberships
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::model::{RoleVariable, VariableEntry};
    use MembershipValidationErrorCode::*;

    fn defs() -> Vec<RoleDefinition> {
        vec![
            RoleDefinition {
                name: "editor".into(),
                variables: vec![RoleVariable {
                    name: "language".into(),
                }],
            },
            RoleDefinition {
                name: "viewer".into(),
                variables: vec![],
            },
        ]
    }

    fn member(role: &str, vars: &[(&str, &[&str])]) -> Membership {
        Membership {
            role: role.into(),
            variables: vars
                .iter()
                .map(|(n, vs)| VariableEntry {
                    name: (*n).into(),
                    values: vs.iter().map(|v| (*v).into()).collect(),
                })
                .collect(),
        }
    }

    fn codes(ms: &[Membership]) -> Vec<MembershipValidationErrorCode> {
        validate(&defs(), ms).into_iter().map(|e| e.code).collect()
    }

    #[test]
    fn valid_memberships_pass() {
        assert!(
            codes(&[
                member("editor", &[("language", &["cs"])]),
                member("viewer", &[])
            ])
            .is_empty()
        );
    }

    #[test]
    fn each_problem_has_its_code() {
        assert_eq!(codes(&[member("owner", &[])]), [RoleNotFound]);
        assert_eq!(codes(&[member("editor", &[])]), [VariableEmpty]);
        assert_eq!(
            codes(&[member("editor", &[("language", &[])])]),
            [VariableEmpty]
        );
        assert_eq!(
            codes(&[member("editor", &[("language", &["cs"]), ("site", &["x"])])]),
            [VariableNotFound]
        );
        assert_eq!(
            codes(&[member("editor", &[("language", &[" "])])]),
            [VariableInvalid]
        );
        assert_eq!(
            codes(&[member("editor", &[("language", &["cs", "cs"])])]),
            [VariableInvalid]
        );
        assert_eq!(
            codes(&[member("editor", &[("language", &["cs", " cs "])])]),
            [VariableInvalid]
        );
    }

    #[test]
    fn hidden_characters_in_values_are_refused() {
        for value in [
            "\x1b]52;c;Y3VybA==\x07",
            "a\nb",
            "cs\u{202e}",
            "c\u{200b}s",
            "\x1b[2J",
        ] {
            assert_eq!(
                codes(&[member("editor", &[("language", &[value])])]),
                [VariableInvalid],
                "{value:?}"
            );
        }
    }

    #[test]
    fn cleaned_trims_and_normalises_values() {
        let ms = cleaned(vec![member(
            "editor",
            &[("language", &[" cs ", "cafe\u{301}"])],
        )]);
        assert_eq!(ms, [member("editor", &[("language", &["cs", "café"])])]);
    }
}
