//! Project members: who may add, change and remove them, and what a member's memberships must
//! be (at least one, each matching the project's role definitions).

use super::access;
use super::authz::Denied;
use super::memberships::{self, Mismatch};
use super::projects::{self, ProjectNotFound};
use super::{IdentityNotFound, audit};
use crate::server::auth::Caller;
use crate::server::model::{Identity, Membership};
use crate::server::store::{Store, StoreError};

/// What happens to an identity's membership of a project.
pub enum MemberChange {
    /// Makes a non-member a member with these memberships.
    Add(Vec<Membership>),
    /// Replaces a member's memberships.
    Update(Vec<Membership>),
    /// Ends a member's membership of the project.
    Remove,
}

/// A member after the change.
pub struct Member {
    pub identity: Identity,
    /// Its memberships in the project, in stored form; empty after removal.
    pub memberships: Vec<Membership>,
    /// The personal keys below it (at any depth) that lost what it lost.
    pub narrowed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    #[error(transparent)]
    ProjectNotFound(#[from] ProjectNotFound),
    #[error(transparent)]
    Forbidden(#[from] Denied),
    #[error(transparent)]
    IdentityNotFound(#[from] IdentityNotFound),
    #[error("the identity is already a member; use updateProjectMember")]
    AlreadyMember,
    #[error("the identity is not a member of this project")]
    NotMember,
    /// Adding or updating with no membership at all: removal has its own operation.
    #[error("give at least one membership; removeProjectMember removes a member")]
    NoMemberships,
    #[error(transparent)]
    InvalidMemberships(#[from] Mismatch),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies `change` to the membership of `identity_id` in the project `project_slug`, with
/// its audit entry named `action`.
pub async fn change_member(
    store: &Store,
    caller: &Caller,
    action: &str,
    project_slug: &str,
    identity_id: &str,
    change: MemberChange,
) -> Result<Member, MemberError> {
    let project = projects::visible::<MemberError>(store, caller, project_slug).await?;
    caller.may_manage_members(&project.id)?;
    let identity = store.identity(identity_id).await?.ok_or(IdentityNotFound)?;
    let is_member = store
        .memberships_of(identity_id)
        .await?
        .iter()
        .any(|(p, _)| *p == project.id);
    let memberships = match change {
        MemberChange::Add(_) if is_member => return Err(MemberError::AlreadyMember),
        MemberChange::Update(_) | MemberChange::Remove if !is_member => {
            return Err(MemberError::NotMember);
        }
        MemberChange::Add(ms) | MemberChange::Update(ms) => {
            let ms = memberships::cleaned(ms);
            if ms.is_empty() {
                return Err(MemberError::NoMemberships);
            }
            memberships::check::<MemberError>(store, &project.id, &ms).await?;
            ms
        }
        MemberChange::Remove => Vec::new(),
    };
    access::check_change::<MemberError>(store, caller, identity_id, |grants| {
        grants.memberships.retain(|(p, _)| *p != project.id);
        if !memberships.is_empty() {
            grants
                .memberships
                .push((project.id.clone(), memberships.clone()));
        }
    })
    .await?;
    let narrowed = store
        .set_memberships(
            &project.id,
            identity_id,
            &memberships,
            audit(caller, action),
        )
        .await?;
    Ok(Member {
        identity,
        memberships,
        narrowed,
    })
}
