//! The rules of every write, apart from the GraphQL glue that carries them.
//!
//! Each operation takes the store, the caller and its input, and answers its result or an
//! error enum of its own, whose message is the one the client reads. The resolvers in
//! `schema/mutation.rs` only read arguments, call the operation, turn its error into the
//! reply code (`schema/refusal.rs`) and audit a refusal. Where each rule lives:
//!
//! | rule | where |
//! |---|---|
//! | who may do what: global roles, project admins, visibility, granting only what one holds | [`authz`] |
//! | what the chain of creators forbids: changing a key above one's own, a personal key beyond its owner | [`access`] (the narrowing itself: `server::grants`) |
//! | the global role catalog, and changing an identity's global roles | [`roles`] (catalog in [`authz`]) |
//! | creating keys: name, TTL and expiry, permissions, visibility, token or token hash, unique names | [`keys`] |
//! | enabling and disabling keys | [`keys::set_enabled`] |
//! | rotating keys: the successor's grants and lifetime, the grace period | [`rotation`] |
//! | memberships against a project's role definitions; their stored form | [`memberships`] |
//! | adding, changing and removing project members | [`members`] |
//! | creating projects: slug, name, role definitions; which projects a caller sees | [`projects`] |
//! | reading the audit log: filters, and which entries a caller reads (rule in [`authz`]) | [`audit_log`] |
//! | a key's usage over time: the window, its intervals, the counts in each | [`usage`] |
//!
//! What must hold across concurrent writes is enforced by the store, inside the write's
//! transaction, and reported back as a `StoreError` these operations name: unique key names
//! (`NAME_TAKEN`), the last never-expiring super admin key (`LAST_SUPER_ADMIN`), the cascade
//! that disables the personal keys a disabled key created, the narrowing of the personal keys
//! below an identity that lost access, unique project slugs.

pub mod access;
pub mod audit_log;
pub mod authz;
pub mod keys;
pub mod members;
pub mod memberships;
pub mod projects;
pub mod roles;
pub mod rotation;
pub mod usage;

use crate::server::auth::Caller;
use crate::server::store::Audit;

/// Longest key name and project name, in characters.
const MAX_NAME_LEN: usize = 200;

/// The audit entry of a write `caller` makes as `action` (the mutation's name): every change
/// commits together with it.
pub fn audit<'a>(caller: &'a Caller, action: &'a str) -> Audit<'a> {
    Audit {
        actor_id: Some(caller.identity_id()),
        action,
    }
}

/// The identity a write names does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no identity with this id")]
pub struct IdentityNotFound;

/// What the domain's unit tests share.
#[cfg(test)]
mod testing {
    use crate::server::auth::Caller;
    use crate::server::model::{
        ApiKey, ApiKeyType, Identity, Membership, Permission, Timestamp, Visibility,
    };

    /// A caller whose key (READ and WRITE) expires at `expires_at`, holding the global `roles`
    /// and, per project id, `memberships`.
    pub fn caller(
        expires_at: Option<Timestamp>,
        roles: &[&str],
        memberships: Vec<(String, Vec<Membership>)>,
    ) -> Caller {
        Caller {
            key: ApiKey {
                id: "k1".into(),
                kind: ApiKeyType::Global,
                description: "creator".into(),
                enabled: true,
                created_at: Timestamp::now(),
                last_used_at: None,
                expires_at,
                disabled_at: None,
                disabled_by: None,
                disabled_as: None,
                permissions: vec![Permission::Read, Permission::Write],
                visibility: Visibility::OrgWide,
                token_prefix: None,
                seq: 1,
                identity_id: "i1".into(),
                project_id: None,
                owner_id: None,
                rotated_from: None,
                rotated_to: None,
            },
            identity: Identity {
                id: "i1".into(),
                description: "creator".into(),
                created_at: Timestamp::now(),
                seq: 1,
            },
            global_roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            memberships,
        }
    }
}
