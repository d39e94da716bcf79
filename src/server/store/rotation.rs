//! Rotation: a key replaced by a new one that holds everything it held, the old one working
//! out a grace period. One transaction makes the successor (its identity with the old
//! identity's global roles and memberships, copied as they are at that moment), shortens the
//! old key's life, links the two both ways, hands the personal keys the old key created to the
//! new one (they live only as long as their creator's key), and writes one audit entry naming
//! both keys.

use sqlx::Row;

use crate::server::model::{ApiKey, Timestamp};

use super::audit::insert_audit;
use super::grants::grants_in;
use super::keys::{insert_key_in, key_in, lasting_super_admins};
use super::projects::insert_memberships;
use super::{Audit, NewKey, Store, StoreError, StoreResult};

/// What a rotation is asked to do.
pub struct Rotation<'a> {
    /// The key being replaced.
    pub old_id: &'a str,
    /// The successor. Its roles and memberships are not read from here: the old identity's
    /// are copied, inside the transaction.
    pub new: NewKey<'a>,
    /// When the old key stops working (never later than it would have anyway).
    pub old_expires_at: Timestamp,
}

/// A rotation done: the successor and the old key as they are now.
pub struct Rotated {
    pub key: ApiKey,
    pub previous: ApiKey,
    /// The personal keys the old key created, now the successor's.
    pub handed_over: Vec<String>,
}

/// How a rotation ended in the store.
pub enum RotateOutcome {
    Rotated(Box<Rotated>),
    /// No key has this id.
    NotFound,
    /// The key is no longer one that can be rotated (disabled, expired or rotated already,
    /// meanwhile): the key as it is, for the caller to say why.
    NotRotatable(Box<ApiKey>),
}

impl Store {
    /// Rotates a key in one transaction (see the module's documentation). Refused with
    /// [`StoreError::LastSuperAdmin`] if it would leave no enabled super admin key that never
    /// expires.
    pub async fn rotate_key(
        &self,
        rotation: Rotation<'_>,
        audit: Audit<'_>,
    ) -> StoreResult<RotateOutcome> {
        let now = Timestamp::now();
        let mut tx = self.begin().await?;
        let Some(old) = key_in(&mut tx, self.backend, rotation.old_id).await? else {
            return Ok(RotateOutcome::NotFound);
        };
        if !old.enabled || old.is_expired_at(now) || old.rotated_to.is_some() {
            return Ok(RotateOutcome::NotRotatable(Box::new(old)));
        }
        let held = grants_in(&mut tx, &old.identity_id).await?;
        let new_id = insert_key_in(&mut tx, &rotation.new, now).await?;
        let new = key_in(&mut tx, self.backend, &new_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new key vanished".into()))?;
        for role in &held.roles {
            sqlx::query(
                "INSERT INTO identity_roles (identity_id, role) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(&new.identity_id)
            .bind(role)
            .execute(&mut *tx)
            .await?;
        }
        for (project_id, memberships) in &held.memberships {
            insert_memberships(&mut tx, project_id, &new.identity_id, memberships).await?;
        }
        sqlx::query("UPDATE api_keys SET rotated_from = $1 WHERE id = $2")
            .bind(&old.id)
            .bind(&new.id)
            .execute(&mut *tx)
            .await?;
        let old_expires_at = match old.expires_at {
            Some(at) if at < rotation.old_expires_at => at,
            _ => rotation.old_expires_at,
        };
        sqlx::query("UPDATE api_keys SET rotated_to = $1, expires_at = $2 WHERE id = $3")
            .bind(&new.id)
            .bind(old_expires_at.0)
            .bind(&old.id)
            .execute(&mut *tx)
            .await?;
        let handed = sqlx::query(
            "UPDATE api_keys SET owner_id = $1 \
             WHERE owner_id = $2 AND visibility = 'PERSONAL' RETURNING id",
        )
        .bind(&new.identity_id)
        .bind(&old.identity_id)
        .fetch_all(&mut *tx)
        .await?;
        let handed_over = handed
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        if lasting_super_admins(&mut tx).await? == 0 {
            return Err(StoreError::LastSuperAdmin);
        }
        let mut detail = format!(
            "rotated {} to {}; {} stops working at {}",
            old.id,
            new.id,
            old.id,
            old_expires_at.rfc3339()
        );
        if !handed_over.is_empty() {
            detail.push_str(&format!(
                "; the {} personal key(s) it created now belong to {}: {}",
                handed_over.len(),
                new.id,
                handed_over.join(", ")
            ));
        }
        insert_audit(&mut tx, audit, Some(&old.id), "OK", Some(&detail)).await?;
        let key = key_in(&mut tx, self.backend, &new.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the new key vanished".into()))?;
        let previous = key_in(&mut tx, self.backend, &old.id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the rotated key vanished".into()))?;
        self.commit_change(tx).await?;
        Ok(RotateOutcome::Rotated(Box::new(Rotated {
            key,
            previous,
            handed_over,
        })))
    }
}
