//! Checks project memberships against the project's role definitions.

use async_graphql::{Enum, SimpleObject};

use crate::server::model::{Membership, RoleDefinition};

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
    /// A value is blank, too long or given twice.
    VariableInvalid,
}

/// What is wrong with one membership, and where.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct MembershipValidationError {
    pub code: MembershipValidationErrorCode,
    pub role: String,
    pub variable: Option<String>,
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
        })
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
            } else if entry.values.iter().enumerate().any(|(i, v)| {
                v.trim().is_empty() || v.len() > MAX_VALUE_LEN || entry.values[..i].contains(v)
            }) {
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
    }
}
