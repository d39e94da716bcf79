//! Authorization: every "may this caller do that" decision lives here, nowhere else.
//!
//! Global roles: `super_admin` may do everything; `project_admin` administers every project
//! (creates projects, manages members and project keys) and identities' roles it holds
//! itself; `monitor` reads query statistics. Inside a project, a membership in the role
//! `admin` makes an identity that project's admin. Nobody grants a role they do not hold,
//! except super admins, and no key creates a key with permissions it lacks itself.

use crate::server::auth::Caller;
use crate::server::model::{
    ApiKey, KeyAuthority, Membership, Permission, Role, VariableEntry, Visibility,
};
use crate::server::store::KeyScope;

use crate::roles::{self, MONITOR, PROJECT_ADMIN, SUPER_ADMIN};

/// The global role catalog, as the API answers it.
pub fn role_catalog() -> Vec<Role> {
    roles::CATALOG
        .into_iter()
        .map(|(name, description)| Role {
            name: name.to_owned(),
            description: description.to_owned(),
        })
        .collect()
}

/// A refusal; the message says what was missing, for the developer reading it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

type Decision = Result<(), Denied>;

fn deny(message: impl Into<String>) -> Decision {
    Err(Denied(message.into()))
}

/// Whether every value of `wanted` is one `held` has for the same variable.
fn holds_values(held: &Membership, wanted: &VariableEntry) -> bool {
    let Some(own) = held.variables.iter().find(|v| v.name == wanted.name) else {
        return false;
    };
    wanted.values.iter().all(|value| own.values.contains(value))
}

impl Caller {
    pub fn has_role(&self, role: &str) -> bool {
        self.global_roles.iter().any(|r| r == role)
    }

    pub fn is_super_admin(&self) -> bool {
        self.has_role(SUPER_ADMIN)
    }

    fn project_roles(&self, project_id: &str) -> impl Iterator<Item = &str> {
        self.memberships
            .iter()
            .filter(move |(p, _)| p == project_id)
            .flat_map(|(_, ms)| ms.iter().map(|m| m.role.as_str()))
    }

    /// The caller's membership in `role` of the project, if it holds one.
    fn membership(&self, project_id: &str, role: &str) -> Option<&Membership> {
        self.memberships
            .iter()
            .filter(|(p, _)| p == project_id)
            .flat_map(|(_, ms)| ms.iter())
            .find(|m| m.role == role)
    }

    pub fn is_project_admin(&self, project_id: &str) -> bool {
        roles::administers(
            |r| self.has_role(r),
            |r| self.project_roles(project_id).any(|held| held == r),
        )
    }

    pub fn is_member_of(&self, project_id: &str) -> bool {
        self.project_roles(project_id).next().is_some()
    }

    // ---- keys -------------------------------------------------------------------------

    /// Which keys listings show this caller.
    pub fn key_scope(&self) -> KeyScope {
        if self.is_super_admin() {
            KeyScope::All
        } else {
            KeyScope::VisibleTo(self.identity_id().to_owned())
        }
    }

    pub fn can_see_key(&self, key: &ApiKey) -> bool {
        self.is_super_admin()
            || key.visibility == Visibility::OrgWide
            || key.owner_id.as_deref() == Some(self.identity_id())
    }

    /// Disable, enable: owners and super admins for personal keys; for org-wide keys super
    /// admins, and a project's admins for that project's keys.
    pub fn may_manage_key(&self, key: &ApiKey) -> Decision {
        let allowed = match key.visibility {
            _ if self.is_super_admin() => true,
            Visibility::Personal => key.owner_id.as_deref() == Some(self.identity_id()),
            Visibility::OrgWide => key
                .project_id
                .as_deref()
                .is_some_and(|p| self.is_project_admin(p)),
        };
        if allowed {
            Ok(())
        } else {
            deny(
                "only the key's owner, a super admin or (for org-wide project keys) the project's admins may change this key",
            )
        }
    }

    /// The authority this caller has over `key` (which it may manage): what a disable is
    /// recorded with, and what an enable must match.
    pub fn authority_over(&self, key: &ApiKey) -> KeyAuthority {
        if self.is_super_admin() {
            KeyAuthority::SuperAdmin
        } else if key
            .project_id
            .as_deref()
            .is_some_and(|p| self.is_project_admin(p))
        {
            KeyAuthority::ProjectAdmin
        } else {
            KeyAuthority::Owner
        }
    }

    fn may_give_permissions(&self, permissions: &[Permission]) -> Decision {
        if self.is_super_admin() || permissions.iter().all(|p| self.key.allows(*p)) {
            Ok(())
        } else {
            deny("a key cannot create a key with permissions it lacks itself")
        }
    }

    pub fn may_create_global_key(
        &self,
        roles: &[String],
        visibility: Visibility,
        permissions: &[Permission],
    ) -> Decision {
        if self.is_super_admin() {
            return Ok(());
        }
        if visibility == Visibility::OrgWide {
            return deny("only super admins create org-wide global keys; ask for a PERSONAL key");
        }
        if let Some(role) = roles.iter().find(|r| !self.has_role(r)) {
            return deny(format!(
                "you cannot grant the role `{role}`: you do not hold it"
            ));
        }
        self.may_give_permissions(permissions)
    }

    /// A project key: its admins grant any of the project's roles; a member creates only
    /// personal keys, with roles it holds there and, for each variable, only values it holds
    /// itself (so `editor` with `language=[cs]` cannot mint `language=[cs, en]`).
    pub fn may_create_project_key(
        &self,
        project_id: &str,
        memberships: &[Membership],
        visibility: Visibility,
        permissions: &[Permission],
    ) -> Decision {
        if !self.is_project_admin(project_id) {
            if visibility == Visibility::OrgWide {
                return deny(
                    "only the project's admins create org-wide keys for it; ask for a PERSONAL key",
                );
            }
            for wanted in memberships {
                let Some(held) = self.membership(project_id, &wanted.role) else {
                    return deny(format!(
                        "you cannot grant the project role `{}`: you do not hold it in this project",
                        wanted.role
                    ));
                };
                if let Some(variable) = wanted.variables.iter().find(|v| !holds_values(held, v)) {
                    return deny(format!(
                        "you cannot grant `{}` values of `{}` you do not hold yourself",
                        variable.name, wanted.role
                    ));
                }
            }
        }
        self.may_give_permissions(permissions)
    }

    // ---- identities and projects -------------------------------------------------------

    pub fn may_change_global_roles(&self, roles: &[String]) -> Decision {
        if self.is_super_admin() {
            return Ok(());
        }
        if !self.has_role(PROJECT_ADMIN) {
            return deny("changing global roles needs the super_admin or project_admin role");
        }
        match roles.iter().find(|r| !self.has_role(r)) {
            Some(role) => deny(format!(
                "you cannot grant or revoke `{role}`: you do not hold it"
            )),
            None => Ok(()),
        }
    }

    /// Whether the caller may change a target identity's roles at all: only super admins
    /// touch a super admin.
    pub fn may_change_identity(&self, target_roles: &[String]) -> Decision {
        if !self.is_super_admin() && target_roles.iter().any(|r| r == SUPER_ADMIN) {
            return deny("only super admins change a super admin's roles");
        }
        Ok(())
    }

    pub fn may_manage_members(&self, project_id: &str) -> Decision {
        if self.is_project_admin(project_id) {
            Ok(())
        } else {
            deny("managing members needs the project's admin role, project_admin or super_admin")
        }
    }

    pub fn may_create_project(&self) -> Decision {
        if self.is_super_admin() || self.has_role(PROJECT_ADMIN) {
            Ok(())
        } else {
            deny("creating projects needs the super_admin or project_admin role")
        }
    }

    pub fn can_see_project(&self, project_id: &str) -> bool {
        self.is_project_admin(project_id) || self.is_member_of(project_id)
    }

    pub fn may_list_identities(&self) -> Decision {
        if self.is_super_admin() || self.has_role(PROJECT_ADMIN) {
            Ok(())
        } else {
            deny("listing identities needs the super_admin or project_admin role")
        }
    }

    /// The same rule as `identity(id)` and `identities`: one's own, or any for those who may
    /// list identities.
    pub fn can_see_identity(&self, identity_id: &str) -> bool {
        identity_id == self.identity_id() || self.may_list_identities().is_ok()
    }

    /// A key's identity (its roles, its memberships): visible where the identity is, and to
    /// whoever created the key, who chose what it holds.
    pub fn can_see_key_identity(&self, key: &ApiKey) -> bool {
        self.can_see_identity(&key.identity_id)
            || key.owner_id.as_deref() == Some(self.identity_id())
    }

    /// An identity's memberships in a project: one's own; any, for the project's admins;
    /// and those of a key the caller created, in a project it can see. Being a member does not
    /// show who else is one (`Project.members` says the same).
    pub fn can_see_memberships(
        &self,
        identity_id: &str,
        project_id: &str,
        key_created_by_caller: bool,
    ) -> bool {
        identity_id == self.identity_id()
            || self.is_project_admin(project_id)
            || (key_created_by_caller && self.can_see_project(project_id))
    }

    pub fn may_read_audit_log(&self) -> Decision {
        if self.is_super_admin() {
            Ok(())
        } else {
            deny("the audit log needs the super_admin role")
        }
    }

    pub fn may_read_query_stats(&self) -> Decision {
        if self.is_super_admin() || self.has_role(MONITOR) {
            Ok(())
        } else {
            deny("query statistics need the monitor or super_admin role")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::domain::testing;

    fn membership(role: &str, variable: &str, values: &[&str]) -> Membership {
        Membership {
            role: role.into(),
            variables: vec![VariableEntry {
                name: variable.into(),
                values: values.iter().map(|v| (*v).into()).collect(),
            }],
        }
    }

    /// An editor of project `p1` for the language `cs` only.
    fn czech_editor() -> crate::server::auth::Caller {
        let held = membership("editor", "language", &["cs"]);
        testing::caller(None, &[], vec![("p1".into(), vec![held])])
    }

    #[test]
    fn a_member_grants_only_roles_and_values_it_holds() {
        let editor = czech_editor();
        let rw = [Permission::Read, Permission::Write];
        let personal = Visibility::Personal;
        let grant = |m: Membership| editor.may_create_project_key("p1", &[m], personal, &rw);
        assert_eq!(grant(membership("editor", "language", &["cs"])), Ok(()));
        assert!(grant(membership("editor", "language", &["cs", "en"])).is_err());
        assert!(grant(membership("admin", "language", &["cs"])).is_err());
        // Nothing held in another project.
        let elsewhere = [membership("editor", "language", &["cs"])];
        assert!(
            editor
                .may_create_project_key("p2", &elsewhere, personal, &rw)
                .is_err()
        );
    }

    #[test]
    fn only_a_projects_admins_create_its_org_wide_keys() {
        let rw = [Permission::Read, Permission::Write];
        assert!(
            czech_editor()
                .may_create_project_key("p1", &[], Visibility::OrgWide, &rw)
                .is_err()
        );
        let admin = testing::caller(None, &[PROJECT_ADMIN], Vec::new());
        let any = [membership("editor", "language", &["cs", "en"])];
        assert_eq!(
            admin.may_create_project_key("p1", &any, Visibility::OrgWide, &rw),
            Ok(())
        );
    }

    #[test]
    fn only_super_admins_change_a_super_admins_roles() {
        let super_admin = [SUPER_ADMIN.to_owned()];
        let project_admin = testing::caller(None, &[PROJECT_ADMIN], Vec::new());
        assert!(project_admin.may_change_identity(&super_admin).is_err());
        assert!(project_admin.may_change_global_roles(&super_admin).is_err());
        assert_eq!(
            project_admin.may_change_global_roles(&[PROJECT_ADMIN.to_owned()]),
            Ok(())
        );
        let root = testing::caller(None, &[SUPER_ADMIN], Vec::new());
        assert_eq!(root.may_change_identity(&super_admin), Ok(()));
    }
}
