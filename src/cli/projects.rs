//! `keydeck projects list` and `keydeck projects create`: a fresh service has no project, and
//! project keys need one.

use serde::Serialize;

use super::output;
use crate::api::ApiClient;
use crate::text::visible;

/// A role a new project defines, from `--role NAME[:VAR,…]` (`editor:language,site`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDefinition {
    pub name: String,
    pub variables: Vec<String>,
}

impl RoleDefinition {
    /// Parses `NAME` or `NAME:VAR1,VAR2`; clap calls it, so a mistake is a usage error.
    pub fn parse(text: &str) -> Result<RoleDefinition, String> {
        let (name, vars) = text.split_once(':').unwrap_or((text, ""));
        let name = name.trim();
        if name.is_empty() {
            return Err(format!(
                "`{text}`: a role starts with its name, NAME[:VAR,…]"
            ));
        }
        let variables: Vec<String> = vars
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        if vars.contains('=') || vars.contains(';') {
            return Err(format!(
                "`{text}`: a project role names its variables, NAME:VAR1,VAR2 (their values are \
                 given per membership)"
            ));
        }
        Ok(RoleDefinition {
            name: name.to_owned(),
            variables,
        })
    }

    /// `editor(language,site)`, or just `admin`.
    fn label(&self) -> String {
        if self.variables.is_empty() {
            self.name.clone()
        } else {
            format!("{}({})", self.name, self.variables.join(","))
        }
    }
}

#[derive(Serialize)]
struct ProjectJson {
    slug: String,
    name: String,
    roles: Vec<RoleJson>,
}

#[derive(Serialize)]
struct RoleJson {
    name: String,
    variables: Vec<String>,
}

pub async fn list(client: &ApiClient, as_json: bool) -> anyhow::Result<()> {
    let projects: Vec<ProjectJson> = client
        .projects()
        .await?
        .into_iter()
        .map(|p| ProjectJson {
            slug: p.slug,
            name: p.name,
            roles: p
                .roles
                .into_iter()
                .map(|r| RoleJson {
                    name: r.name,
                    variables: r.variables.into_iter().map(|v| v.name).collect(),
                })
                .collect(),
        })
        .collect();
    if as_json {
        return output::json(&projects);
    }
    let rows: Vec<Vec<String>> = projects
        .iter()
        .map(|p| {
            let roles: Vec<String> = p
                .roles
                .iter()
                .map(|r| {
                    RoleDefinition {
                        name: r.name.clone(),
                        variables: r.variables.clone(),
                    }
                    .label()
                })
                .collect();
            vec![p.slug.clone(), p.name.clone(), roles.join(", ")]
        })
        .collect();
    output::table(&["SLUG", "NAME", "ROLES"], &rows)
}

pub async fn create(
    client: &ApiClient,
    slug: &str,
    name: &str,
    roles: &[RoleDefinition],
) -> anyhow::Result<()> {
    let variables: Vec<Vec<&str>> = roles
        .iter()
        .map(|r| r.variables.iter().map(String::as_str).collect())
        .collect();
    let definitions: Vec<(&str, &[&str])> = roles
        .iter()
        .zip(&variables)
        .map(|(r, v)| (r.name.as_str(), v.as_slice()))
        .collect();
    client.create_project(slug, name, &definitions).await?;
    let labels: Vec<String> = roles.iter().map(RoleDefinition::label).collect();
    output::line(format_args!(
        "Created project “{}” ({}){}.",
        visible(name),
        visible(slug),
        if labels.is_empty() {
            " with no roles".to_owned()
        } else {
            format!(" with roles {}", visible(&labels.join(", ")))
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_cli_text() {
        assert_eq!(
            RoleDefinition::parse("editor:language, site").unwrap(),
            RoleDefinition {
                name: "editor".into(),
                variables: vec!["language".into(), "site".into()],
            }
        );
        assert_eq!(
            RoleDefinition::parse("admin").unwrap().variables,
            Vec::<String>::new()
        );
        assert!(RoleDefinition::parse(":x").is_err());
        assert!(RoleDefinition::parse("editor:language=cs").is_err());
    }
}
