//! What the logged-in caller may grant, as the forms offer it: the service refuses the rest,
//! so a form never offers it.

use crate::api::ops::projects::ProjectsProjectsRoles as ProjectRole;
use crate::api::{Me, Project};
use crate::roles;

/// What the caller may grant, from its own roles (`me`). The service refuses anything else,
/// so the form offers only this: super admins grant every global role, a project's admins
/// (super admins, `project_admin`, members in its `admin` role) every role of that project,
/// and everyone else only what they hold themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grantor {
    pub global_roles: Vec<String>,
    /// Per project slug, the roles held there.
    pub project_roles: Vec<(String, Vec<String>)>,
}

impl Grantor {
    pub fn of(me: &Me) -> Grantor {
        Grantor {
            global_roles: me.roles.clone(),
            project_roles: me
                .projects
                .iter()
                .map(|p| {
                    let roles = p.memberships.iter().map(|m| m.role.clone()).collect();
                    (p.project.slug.clone(), roles)
                })
                .collect(),
        }
    }

    fn holds(&self, role: &str) -> bool {
        self.global_roles.iter().any(|r| r == role)
    }

    pub fn may_grant_global(&self, role: &str) -> bool {
        roles::may_grant_global(|r| self.holds(r), role)
    }

    fn held_in(&self, slug: &str) -> impl Iterator<Item = &str> {
        self.project_roles
            .iter()
            .filter(move |(s, _)| s == slug)
            .flat_map(|(_, roles)| roles.iter().map(String::as_str))
    }

    pub fn may_grant_in(&self, slug: &str, role: &str) -> bool {
        roles::may_grant_in_project(
            |r| self.holds(r),
            |r| self.held_in(slug).any(|h| h == r),
            role,
        )
    }

    /// Whether the caller administers the project: it may then change its members.
    pub fn administers(&self, slug: &str) -> bool {
        roles::administers(|r| self.holds(r), |r| self.held_in(slug).any(|h| h == r))
    }
}

/// The roles of `project` that `grantor` may give (all of them while `me` is not loaded: the
/// service decides in the end). Both forms offer exactly these.
pub fn grantable<'a>(grantor: Option<&Grantor>, project: &'a Project) -> Vec<&'a ProjectRole> {
    project
        .roles
        .iter()
        .filter(|r| grantor.is_none_or(|g| g.may_grant_in(&project.slug, &r.name)))
        .collect()
}
