//! Changes to an identity's access (global roles, memberships) that the chain of creators
//! forbids, whoever the caller is: a key cannot change the access of a key above it (the key
//! that created it, or that key's creator, …), and a personal key cannot be given more than
//! its owner holds now ([`Grants::within`]).

use super::authz::Denied;
use crate::server::auth::Caller;
use crate::server::grants::Grants;
use crate::server::model::Visibility;
use crate::server::store::{Store, StoreError};

/// Refuses changing the access of `target` (an identity id) from what it holds to what
/// `change` makes of it, when the chain of creators forbids it.
pub async fn check_change<E>(
    store: &Store,
    caller: &Caller,
    target: &str,
    change: impl FnOnce(&mut Grants),
) -> Result<(), E>
where
    E: From<Denied> + From<StoreError>,
{
    if store
        .creators_of(caller.identity_id())
        .await?
        .iter()
        .any(|creator| creator == target)
    {
        return Err(Denied(
            "a key cannot change the access of a key above it in its chain of creators \
             (the key that created it, or that key's creator)"
                .into(),
        )
        .into());
    }
    let Some(owner) = store
        .key_of_identity(target)
        .await?
        .filter(|key| key.visibility == Visibility::Personal)
        .and_then(|key| key.owner_id)
    else {
        return Ok(());
    };
    let mut after = store.grants(target).await?;
    change(&mut after);
    let allowed = after.within(&store.grants(&owner).await?);
    if allowed == after {
        Ok(())
    } else {
        Err(Denied(format!(
            "a personal key cannot hold more than its owner holds now; its owner lacks {}",
            after.lost_to(&allowed)
        ))
        .into())
    }
}
