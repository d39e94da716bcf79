//! Reading the audit log: a filter as the client gives it, turned into the store's criteria,
//! within what the caller may read ([`crate::server::auth::Caller::audit_scope`]).

use crate::server::auth::Caller;
use crate::server::model::{AuditEntry, AuditFilter};
use crate::server::store::{AuditCriteria, Page, Store, StoreResult};

/// A page of the entries `caller` may read that match `filter`, newest first, before the
/// entry `before`; with how many match over all pages when `count` (else 0).
pub async fn read(
    store: &Store,
    caller: &Caller,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
    count: bool,
) -> StoreResult<(Page<AuditEntry>, i64)> {
    let scope = caller.audit_scope();
    let criteria = criteria(store, filter).await?;
    let total = async {
        if count {
            store.count_audit_page(&scope, &criteria).await
        } else {
            Ok(0)
        }
    };
    futures::try_join!(store.audit_page(&scope, &criteria, before, limit), total)
}

/// The store's criteria for `filter`: a target naming a key or its identity means the
/// entries about that key (`keyId`), any other target the entries recorded with it.
async fn criteria(store: &Store, filter: &AuditFilter) -> StoreResult<AuditCriteria> {
    let (target, key_id) = match &filter.target {
        Some(target) => match store.audit_target_key(target).await? {
            Some(key) => (None, Some(key)),
            None => (Some(target.clone()), None),
        },
        None => (None, None),
    };
    Ok(AuditCriteria {
        target,
        key_id,
        actor_id: filter.actor_id.clone(),
        action: filter.action.clone(),
        outcome: filter.outcome.clone(),
        since: filter.since,
        until: filter.until,
    })
}
