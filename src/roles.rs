//! The global role catalogue and who may grant what, in one place for both sides: the service
//! enforces these rules (`server::domain::authz`, `server::grants`), and the terminal offers
//! only what they allow (`tui::overlays::grantor`), so a form never offers what the service
//! would refuse. Pure functions over "does the identity hold this role" tests.

/// Everything, including granting any role.
pub const SUPER_ADMIN: &str = "super_admin";
/// Administers every project and grants the global roles it holds.
pub const PROJECT_ADMIN: &str = "project_admin";
/// Reads query statistics.
pub const MONITOR: &str = "monitor";
/// The project role whose members administer that project.
pub const PROJECT_ROLE_ADMIN: &str = "admin";

/// The global roles, with what each allows.
pub const CATALOG: [(&str, &str); 3] = [
    (SUPER_ADMIN, "Everything, including granting any role."),
    (
        PROJECT_ADMIN,
        "Creates projects; manages every project's members and keys; grants the roles it holds.",
    ),
    (
        MONITOR,
        "Reads query statistics of the monitored databases.",
    ),
];

/// Whether `name` is a global role of the catalogue.
pub fn is_known_role(name: &str) -> bool {
    CATALOG.iter().any(|(role, _)| *role == name)
}

/// Whether an identity administers a project: super admins, project admins, and the
/// project's own `admin` members. `holds` tests its global roles, `holds_here` its roles in
/// that project.
pub fn administers(holds: impl Fn(&str) -> bool, holds_here: impl Fn(&str) -> bool) -> bool {
    holds(SUPER_ADMIN) || holds(PROJECT_ADMIN) || holds_here(PROJECT_ROLE_ADMIN)
}

/// Whether an identity may give the global role `role` (to a key it creates): super admins
/// any, everyone else only what they hold.
pub fn may_grant_global(holds: impl Fn(&str) -> bool, role: &str) -> bool {
    holds(SUPER_ADMIN) || holds(role)
}

/// Whether an identity may give the project role `role`: a project's administrators any of
/// its roles, its members only the roles they hold there.
pub fn may_grant_in_project(
    holds: impl Fn(&str) -> bool,
    holds_here: impl Fn(&str) -> bool,
    role: &str,
) -> bool {
    administers(&holds, &holds_here) || holds_here(role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_grant_what() {
        let none = |_: &str| false;
        let admin_member = |r: &str| r == PROJECT_ROLE_ADMIN;
        let editor = |r: &str| r == "editor";
        let project_admin = |r: &str| r == PROJECT_ADMIN;
        assert!(administers(none, admin_member));
        assert!(administers(project_admin, none));
        assert!(!administers(none, editor));
        assert!(may_grant_in_project(none, editor, "editor"));
        assert!(!may_grant_in_project(none, editor, "viewer"));
        assert!(may_grant_in_project(none, admin_member, "viewer"));
        assert!(may_grant_global(|r| r == SUPER_ADMIN, MONITOR));
        assert!(!may_grant_global(project_admin, MONITOR));
        assert!(is_known_role(MONITOR) && !is_known_role("admin"));
    }
}
