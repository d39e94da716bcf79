//! Global roles: only names from the catalog (`authz::role_catalog`), and changes to an
//! identity's roles within what the caller may grant.

use super::access;
use super::authz::Denied;
use super::{IdentityNotFound, audit};
use crate::server::auth::Caller;
use crate::server::model::Identity;
use crate::server::store::{Store, StoreError};

/// A role name that is not in the global catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a global role; see the `roles` query")]
pub struct UnknownRole(pub String);

/// Every role of `roles` is in the catalog; otherwise the first that is not.
pub fn known(roles: &[String]) -> Result<(), UnknownRole> {
    match roles.iter().find(|r| !crate::roles::is_known_role(r)) {
        Some(bad) => Err(UnknownRole(bad.clone())),
        None => Ok(()),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeRolesError {
    #[error(transparent)]
    UnknownRole(#[from] UnknownRole),
    #[error(transparent)]
    Forbidden(#[from] Denied),
    #[error(transparent)]
    IdentityNotFound(#[from] IdentityNotFound),
    /// Revoking `super_admin` from the identity of the last enabled key that never expires.
    #[error("this would leave no enabled super_admin key that never expires")]
    LastSuperAdmin,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An identity after its roles changed.
pub struct ChangedRoles {
    pub identity: Identity,
    /// The personal keys below it (at any depth) that lost what it lost.
    pub narrowed: Vec<String>,
}

/// Grants (`grant`) or revokes `roles` of the identity `identity_id`, with its audit entry
/// named `action`. Answers the identity as it is afterwards, and the personal keys narrowed.
pub async fn change_global_roles(
    store: &Store,
    caller: &Caller,
    action: &str,
    identity_id: &str,
    roles: &[String],
    grant: bool,
) -> Result<ChangedRoles, ChangeRolesError> {
    known(roles)?;
    caller.may_change_global_roles(roles)?;
    let identity = store.identity(identity_id).await?.ok_or(IdentityNotFound)?;
    caller.may_change_identity(&store.global_roles(identity_id).await?)?;
    access::check_change::<ChangeRolesError>(store, caller, identity_id, |grants| {
        if grant {
            grants.roles.extend(roles.iter().cloned());
            grants.roles.sort();
            grants.roles.dedup();
        } else {
            grants.roles.retain(|r| !roles.contains(r));
        }
    })
    .await?;
    let changed = store
        .change_global_roles(identity_id, roles, grant, audit(caller, action))
        .await
        .map_err(|e| match e {
            StoreError::LastSuperAdmin => ChangeRolesError::LastSuperAdmin,
            e => e.into(),
        })?;
    match changed {
        Some(narrowed) => Ok(ChangedRoles { identity, narrowed }),
        None => Err(IdentityNotFound.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_catalog_roles_are_known() {
        let roles = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        assert_eq!(known(&roles(&["super_admin", "monitor"])), Ok(()));
        assert_eq!(
            known(&roles(&["monitor", "Super_Admin", "root"])),
            Err(UnknownRole("Super_Admin".into()))
        );
    }
}
