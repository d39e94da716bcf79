//! What an identity holds (global roles and project memberships), and the one rule that keeps
//! a personal key within its owner: **a personal key can never do more than its owner can do
//! now**. Plain data and pure functions, below both the domain rules (`domain::authz`) and the
//! store, which applies [`Grants::within`] in the transaction that takes access away.

use crate::roles::{self, SUPER_ADMIN};
use crate::server::model::{Membership, VariableEntry};

/// An identity's global roles and, per project id, its memberships there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub roles: Vec<String>,
    /// (project id, memberships in that project), one entry per project.
    pub memberships: Vec<(String, Vec<Membership>)>,
}

impl Grants {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    pub fn is_super_admin(&self) -> bool {
        self.has_role(SUPER_ADMIN)
    }

    /// The memberships held in `project_id`.
    pub fn in_project(&self, project_id: &str) -> &[Membership] {
        self.memberships
            .iter()
            .find(|(p, _)| p == project_id)
            .map_or(&[], |(_, ms)| ms.as_slice())
    }

    /// Whether these grants administer `project_id`: super admins, project admins, and the
    /// project's own `admin` members. An administrator may grant any of the project's roles.
    pub fn administers(&self, project_id: &str) -> bool {
        roles::administers(
            |r| self.has_role(r),
            |r| self.in_project(project_id).iter().any(|m| m.role == r),
        )
    }

    /// What of `self` a personal key may keep while its owner holds `owner`: the global roles
    /// the owner holds (all of them under a super admin owner); in each project, everything
    /// where the owner administers it, otherwise the roles the owner holds there, each
    /// variable keeping only the values the owner holds. A membership left without a value
    /// for some variable is dropped: a role with an empty variable grants nothing.
    pub fn within(&self, owner: &Grants) -> Grants {
        let roles = if owner.is_super_admin() {
            self.roles.clone()
        } else {
            let mut kept = self.roles.clone();
            kept.retain(|r| owner.has_role(r));
            kept
        };
        let memberships = self
            .memberships
            .iter()
            .filter_map(|(project, ms)| {
                let kept: Vec<Membership> = if owner.administers(project) {
                    ms.clone()
                } else {
                    let held = owner.in_project(project);
                    ms.iter().filter_map(|m| narrowed(m, held)).collect()
                };
                (!kept.is_empty()).then(|| (project.clone(), kept))
            })
            .collect();
        Grants { roles, memberships }
    }

    /// What `self` holds that `narrower` does not, in words for the audit log:
    /// `roles project_admin; p1: editor(language=en)`.
    pub fn lost_to(&self, narrower: &Grants) -> String {
        let mut parts = Vec::new();
        let roles: Vec<&str> = self
            .roles
            .iter()
            .filter(|r| !narrower.has_role(r))
            .map(String::as_str)
            .collect();
        if !roles.is_empty() {
            parts.push(format!("roles {}", roles.join(", ")));
        }
        for (project, ms) in &self.memberships {
            let kept = narrower.in_project(project);
            let lost: Vec<String> = ms
                .iter()
                .filter_map(|m| lost_part(m, kept.iter().find(|k| k.role == m.role)))
                .collect();
            if !lost.is_empty() {
                parts.push(format!("{project}: {}", lost.join(", ")));
            }
        }
        parts.join("; ")
    }
}

/// `wanted` narrowed to the values of the same role in `held`; `None` when nothing is left.
fn narrowed(wanted: &Membership, held: &[Membership]) -> Option<Membership> {
    let own = held.iter().find(|h| h.role == wanted.role)?;
    let variables = wanted
        .variables
        .iter()
        .map(|entry| {
            let allowed = own
                .variables
                .iter()
                .find(|v| v.name == entry.name)
                .map_or(&[][..], |v| v.values.as_slice());
            let values: Vec<String> = entry
                .values
                .iter()
                .filter(|value| allowed.contains(value))
                .cloned()
                .collect();
            (!values.is_empty() || entry.values.is_empty()).then(|| VariableEntry {
                name: entry.name.clone(),
                values,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Membership {
        role: wanted.role.clone(),
        variables,
    })
}

/// What of `had` is missing from `kept` (the same role after narrowing), as
/// `editor(language=en)`, or the role alone when all of it went.
fn lost_part(had: &Membership, kept: Option<&Membership>) -> Option<String> {
    let Some(kept) = kept else {
        return Some(had.role.clone());
    };
    let lost: Vec<String> = had
        .variables
        .iter()
        .filter_map(|entry| {
            let still = kept.variables.iter().find(|v| v.name == entry.name);
            let gone: Vec<&str> = entry
                .values
                .iter()
                .filter(|value| still.is_none_or(|s| !s.values.contains(value)))
                .map(String::as_str)
                .collect();
            (!gone.is_empty()).then(|| format!("{}={}", entry.name, gone.join(",")))
        })
        .collect();
    (!lost.is_empty()).then(|| format!("{}({})", had.role, lost.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::{MONITOR, PROJECT_ADMIN, PROJECT_ROLE_ADMIN};

    fn member(role: &str, variable: &str, values: &[&str]) -> Membership {
        Membership {
            role: role.into(),
            variables: if variable.is_empty() {
                Vec::new()
            } else {
                vec![VariableEntry {
                    name: variable.into(),
                    values: values.iter().map(|v| (*v).into()).collect(),
                }]
            },
        }
    }

    fn grants(roles: &[&str], memberships: Vec<(&str, Vec<Membership>)>) -> Grants {
        Grants {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            memberships: memberships
                .into_iter()
                .map(|(p, ms)| (p.to_owned(), ms))
                .collect(),
        }
    }

    #[test]
    fn roles_the_owner_lost_are_lost_below_it() {
        let child = grants(&[PROJECT_ADMIN, MONITOR], Vec::new());
        let owner = grants(&[MONITOR], Vec::new());
        assert_eq!(child.within(&owner), grants(&[MONITOR], Vec::new()));
        assert_eq!(child.within(&owner).lost_to(&child), "");
        assert_eq!(child.lost_to(&child.within(&owner)), "roles project_admin");
        // A super admin owner vouches for every role.
        let root = grants(&[SUPER_ADMIN], Vec::new());
        assert_eq!(child.within(&root), child);
    }

    #[test]
    fn values_narrow_and_an_empty_variable_drops_the_membership() {
        let child = grants(
            &[],
            vec![("p1", vec![member("editor", "language", &["cs", "en"])])],
        );
        let narrower = grants(
            &[],
            vec![("p1", vec![member("editor", "language", &["cs"])])],
        );
        assert_eq!(child.within(&narrower), narrower);
        assert_eq!(
            child.lost_to(&child.within(&narrower)),
            "p1: editor(language=en)"
        );
        let elsewhere = grants(
            &[],
            vec![("p1", vec![member("editor", "language", &["de"])])],
        );
        assert_eq!(child.within(&elsewhere), Grants::default());
        assert_eq!(child.within(&Grants::default()), Grants::default());
    }

    #[test]
    fn an_owner_who_administers_the_project_vouches_for_all_of_it() {
        let child = grants(
            &[],
            vec![(
                "p1",
                vec![
                    member("admin", "", &[]),
                    member("editor", "language", &["cs"]),
                ],
            )],
        );
        for owner in [
            grants(&[PROJECT_ADMIN], Vec::new()),
            grants(&[], vec![("p1", vec![member(PROJECT_ROLE_ADMIN, "", &[])])]),
        ] {
            assert_eq!(child.within(&owner), child);
        }
        // The admin of another project vouches for nothing here.
        let other = grants(&[], vec![("p2", vec![member(PROJECT_ROLE_ADMIN, "", &[])])]);
        assert_eq!(child.within(&other), Grants::default());
    }
}
