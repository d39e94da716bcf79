//! Projects: which ones a caller reaches by slug, and what a new project's slug, name and role
//! definitions must be.

use super::authz::Denied;
use super::{MAX_NAME_LEN, audit};
use crate::server::auth::Caller;
use crate::server::model::{Project, RoleDefinitionInput};
use crate::server::store::{Store, StoreError};
use crate::text::{self, NameError};

/// No project has this slug, or none the caller can see: the two answer alike, so a refusal
/// does not reveal which projects exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no project with slug `{0}`")]
pub struct ProjectNotFound(pub String);

/// The project with `slug`, if the caller can see it.
pub async fn visible<E>(store: &Store, caller: &Caller, slug: &str) -> Result<Project, E>
where
    E: From<ProjectNotFound> + From<StoreError>,
{
    let project = store.project_by_slug(slug).await?;
    match project.filter(|p| caller.can_see_project(&p.id)) {
        Some(project) => Ok(project),
        None => Err(ProjectNotFound(slug.to_owned()).into()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateProjectError {
    #[error(transparent)]
    Forbidden(#[from] Denied),
    #[error("a slug has 1 to 64 characters of a-z, 0-9 and `-`, not starting with `-`")]
    InvalidSlug,
    #[error("the project name {0}")]
    InvalidName(NameError),
    #[error(
        "role `{0}`: role and variable names are unique identifiers of a-z, A-Z, 0-9, `_`, `-`"
    )]
    InvalidRoleDefinition(String),
    #[error("a project with slug `{0}` exists")]
    AlreadyExists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates the project `slug` with its role definitions, with its audit entry named `action`.
pub async fn create_project(
    store: &Store,
    caller: &Caller,
    action: &str,
    slug: &str,
    name: &str,
    roles: &[RoleDefinitionInput],
) -> Result<Project, CreateProjectError> {
    caller.may_create_project()?;
    let name = validate(slug, name, roles)?;
    store
        .create_project(slug, &name, roles, audit(caller, action))
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists => CreateProjectError::AlreadyExists(slug.to_owned()),
            e => e.into(),
        })
}

/// Checks a new project's slug, name and role definitions; returns the name as it is stored
/// (trimmed, NFC).
fn validate(
    slug: &str,
    name: &str,
    roles: &[RoleDefinitionInput],
) -> Result<String, CreateProjectError> {
    let slug_ok = (1..=64).contains(&slug.len())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-');
    if !slug_ok {
        return Err(CreateProjectError::InvalidSlug);
    }
    let name = text::clean_name(name, MAX_NAME_LEN).map_err(CreateProjectError::InvalidName)?;
    let identifier = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    // Names that differ only in case would look like one role or variable to a reader.
    let same = |a: &str, b: &str| text::name_key(a) == text::name_key(b);
    for (i, role) in roles.iter().enumerate() {
        let duplicate = roles[..i].iter().any(|r| same(&r.name, &role.name));
        let bad_variable = role
            .variables
            .iter()
            .enumerate()
            .any(|(j, v)| !identifier(v) || role.variables[..j].iter().any(|w| same(w, v)));
        if !identifier(&role.name) || duplicate || bad_variable {
            return Err(CreateProjectError::InvalidRoleDefinition(role.name.clone()));
        }
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(name: &str, variables: &[&str]) -> RoleDefinitionInput {
        RoleDefinitionInput {
            name: name.into(),
            variables: variables.iter().map(|v| (*v).into()).collect(),
        }
    }

    fn refusal(slug: &str, name: &str, roles: &[RoleDefinitionInput]) -> Option<String> {
        validate(slug, name, roles).err().map(|e| e.to_string())
    }

    #[test]
    fn a_valid_project_keeps_its_name_in_stored_form() {
        let roles = [role("admin", &[]), role("editor", &["language", "site_id"])];
        assert_eq!(
            validate("web-2", " Cafe\u{301} ", &roles).ok().as_deref(),
            Some("Café")
        );
    }

    #[test]
    fn slugs_are_lowercase_identifiers_not_starting_with_a_dash() {
        for slug in ["", "-web", "Web", "web site", "web_site", &"a".repeat(65)] {
            assert!(
                matches!(
                    validate(slug, "Web", &[]),
                    Err(CreateProjectError::InvalidSlug)
                ),
                "{slug:?}"
            );
        }
        assert!(validate(&"a".repeat(64), "Web", &[]).is_ok());
    }

    #[test]
    fn role_and_variable_names_are_unique_ignoring_case() {
        let message = |r: &str| {
            format!(
                "role `{r}`: role and variable names are unique identifiers of a-z, A-Z, 0-9, `_`, `-`"
            )
        };
        let editor = || role("editor", &["language"]);
        assert_eq!(
            refusal("web", "Web", &[editor(), role("Editor", &[])]),
            Some(message("Editor"))
        );
        assert_eq!(
            refusal("web", "Web", &[role("editor", &["lang", "LANG"])]),
            Some(message("editor"))
        );
        assert_eq!(
            refusal("web", "Web", &[role("editor", &["la nguage"])]),
            Some(message("editor"))
        );
        assert_eq!(refusal("web", "Web", &[role("", &[])]), Some(message("")));
    }

    #[test]
    fn the_name_is_refused_with_its_reason() {
        assert_eq!(
            refusal("web", " ", &[]).as_deref(),
            Some("the project name must not be empty")
        );
    }
}
