//! What identities hold, read together, and the narrowing of personal keys when their owner
//! loses something ([`Grants::within`]), in the transaction that takes it away.

use sqlx::{AnyConnection, Row};

use crate::server::grants::Grants;
use crate::server::model::Timestamp;

use super::audit::insert_audit;
use super::projects::{group_memberships, insert_memberships, memberships_in};
use super::{Audit, Store, StoreResult};

/// How far up a chain of creators is followed: deeper chains are cut here (a chain is built
/// one key at a time, by the keys in it, so a real one is a handful deep).
const MAX_CHAIN: i64 = 64;

impl Store {
    /// The global roles and memberships of `identity_id`.
    pub async fn grants(&self, identity_id: &str) -> StoreResult<Grants> {
        let mut conn = self.read.acquire().await?;
        grants_in(&mut conn, identity_id).await
    }

    /// The identities above `identity_id` in its chain of creators, nearest first: the
    /// identity that created its key, the one that created that key, and so on, whatever the
    /// keys' visibility.
    pub async fn creators_of(&self, identity_id: &str) -> StoreResult<Vec<String>> {
        let rows = sqlx::query(
            "WITH RECURSIVE chain (identity_id, depth) AS ( \
                SELECT k.owner_id, 1 FROM api_keys k \
                 WHERE k.identity_id = $1 AND k.owner_id IS NOT NULL \
                UNION ALL \
                SELECT k.owner_id, c.depth + 1 FROM api_keys k \
                  JOIN chain c ON k.identity_id = c.identity_id \
                 WHERE k.owner_id IS NOT NULL AND c.depth < $2) \
             SELECT identity_id FROM chain ORDER BY depth",
        )
        .bind(identity_id)
        .bind(MAX_CHAIN)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok(row.try_get::<String, _>(0)?))
            .collect()
    }

    /// Whether every key above `identity_id`'s key through personal keys is enabled and
    /// unexpired at `now`: a personal key is good only while its owner's key is (the chain
    /// stops at an org-wide key, which belongs to the organisation).
    pub async fn creators_are_live(&self, identity_id: &str, now: Timestamp) -> StoreResult<bool> {
        let dead: i64 = sqlx::query_scalar(
            "WITH RECURSIVE chain (identity_id, owner_id, visibility, enabled, expires_at, depth) \
             AS ( \
                SELECT identity_id, owner_id, visibility, enabled, expires_at, 0 FROM api_keys \
                 WHERE identity_id = $1 \
                UNION ALL \
                SELECT k.identity_id, k.owner_id, k.visibility, k.enabled, k.expires_at, \
                       c.depth + 1 \
                  FROM api_keys k JOIN chain c ON k.identity_id = c.owner_id \
                 WHERE c.visibility = 'PERSONAL' AND c.depth < $2) \
             SELECT COUNT(*) FROM chain WHERE depth > 0 \
                AND (enabled = 0 OR (expires_at IS NOT NULL AND expires_at <= $3))",
        )
        .bind(identity_id)
        .bind(MAX_CHAIN)
        .bind(now.0)
        .fetch_one(&self.read)
        .await?;
        Ok(dead == 0)
    }
}

/// What `identity_id` holds, read on `conn` (inside a transaction: as it is there).
pub(super) async fn grants_in(conn: &mut AnyConnection, identity_id: &str) -> StoreResult<Grants> {
    let roles =
        sqlx::query_scalar("SELECT role FROM identity_roles WHERE identity_id = $1 ORDER BY role")
            .bind(identity_id)
            .fetch_all(&mut *conn)
            .await?;
    let memberships = memberships_in(conn, identity_id).await?;
    Ok(Grants {
        roles,
        memberships: group_memberships(memberships.into_iter()),
    })
}

/// Keeps every personal key within its owner after `identity_id` lost something (or, if its
/// own key is personal, was given something): `identity_id` itself is narrowed to what its
/// owner holds, then every personal key it created, at any depth, to what its owner holds
/// after that. Each key narrowed gets an audit row saying what it lost; their ids come back.
pub(super) async fn narrow_personal_keys(
    conn: &mut AnyConnection,
    identity_id: &str,
    audit: Audit<'_>,
) -> StoreResult<Vec<String>> {
    let mut narrowed = Vec::new();
    if let Some(owner) = personal_owner(conn, identity_id).await? {
        let owner_grants = grants_in(conn, &owner).await?;
        narrow_one(conn, identity_id, &owner_grants, audit, &mut narrowed).await?;
    }
    let mut owners = vec![identity_id.to_owned()];
    let mut seen = owners.clone();
    while let Some(owner) = owners.pop() {
        let owner_grants = grants_in(conn, &owner).await?;
        let children = sqlx::query(
            "SELECT identity_id FROM api_keys WHERE owner_id = $1 AND visibility = 'PERSONAL' \
             ORDER BY seq",
        )
        .bind(&owner)
        .fetch_all(&mut *conn)
        .await?;
        for row in children {
            let child: String = row.try_get(0)?;
            if seen.contains(&child) {
                continue;
            }
            narrow_one(conn, &child, &owner_grants, audit, &mut narrowed).await?;
            seen.push(child.clone());
            owners.push(child);
        }
    }
    Ok(narrowed)
}

/// The owner of `identity_id`'s key when that key is personal.
async fn personal_owner(
    conn: &mut AnyConnection,
    identity_id: &str,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT owner_id FROM api_keys \
         WHERE identity_id = $1 AND visibility = 'PERSONAL' AND owner_id IS NOT NULL",
    )
    .bind(identity_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Narrows `identity_id` to what `owner` holds; if that took anything, writes it, audits it on
/// the identity's key and notes the key's id in `narrowed`.
async fn narrow_one(
    conn: &mut AnyConnection,
    identity_id: &str,
    owner: &Grants,
    audit: Audit<'_>,
    narrowed: &mut Vec<String>,
) -> StoreResult<()> {
    let had = grants_in(conn, identity_id).await?;
    let kept = had.within(owner);
    if kept == had {
        return Ok(());
    }
    for role in had.roles.iter().filter(|r| !kept.has_role(r)) {
        sqlx::query("DELETE FROM identity_roles WHERE identity_id = $1 AND role = $2")
            .bind(identity_id)
            .bind(role)
            .execute(&mut *conn)
            .await?;
    }
    for (project, memberships) in &had.memberships {
        let still = kept.in_project(project);
        if still == memberships.as_slice() {
            continue;
        }
        sqlx::query("DELETE FROM memberships WHERE project_id = $1 AND identity_id = $2")
            .bind(project)
            .bind(identity_id)
            .execute(&mut *conn)
            .await?;
        insert_memberships(conn, project, identity_id, still).await?;
    }
    let key: Option<String> = sqlx::query_scalar("SELECT id FROM api_keys WHERE identity_id = $1")
        .bind(identity_id)
        .fetch_optional(&mut *conn)
        .await?;
    let target = key.unwrap_or_else(|| identity_id.to_owned());
    let why = format!(
        "narrowed to its owner's access: lost {}",
        had.lost_to(&kept)
    );
    insert_audit(conn, audit, Some(&target), "OK", Some(&why)).await?;
    narrowed.push(target);
    Ok(())
}
