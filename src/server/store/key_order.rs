//! The orders a key listing can be read in, and where a page of one starts: keyset paging
//! over (sort value, seq), so a page costs the same wherever it is, and the store and the
//! service agree on every key's place ([`KeyOrder::value_of`] is [`KeyOrder::sql`] in Rust).

use crate::server::model::{ApiKey, ApiKeyOrderField, Timestamp};

use super::sql::Sql;

/// The value a key sorts by: a number or a text (names, lowercased).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// An order of a key listing: a field, either way; ties go by `seq` the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyOrder {
    pub field: ApiKeyOrderField,
    pub descending: bool,
}

impl Default for KeyOrder {
    /// Oldest first, as listings always were.
    fn default() -> Self {
        KeyOrder {
            field: ApiKeyOrderField::CreatedAt,
            descending: false,
        }
    }
}

/// Where a page starts: just past the key at `(value, seq)` in the listing's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPosition {
    pub field: ApiKeyOrderField,
    pub value: SortValue,
    pub seq: i64,
}

/// What never expiring and never used sort as: last and first, going up.
const NEVER_EXPIRES: i64 = i64::MAX;
const NEVER_USED: i64 = -1;

impl KeyOrder {
    /// The sort value of `key` at `now`, as [`Self::sql`] computes it in the store.
    pub fn value_of(self, key: &ApiKey, now: Timestamp) -> SortValue {
        match self.field {
            ApiKeyOrderField::Name => SortValue::Text(crate::text::name_order(&key.description)),
            ApiKeyOrderField::CreatedAt => SortValue::Int(key.seq),
            ApiKeyOrderField::ExpiresAt => {
                SortValue::Int(key.expires_at.map_or(NEVER_EXPIRES, |t| t.0))
            }
            ApiKeyOrderField::LastUsedAt => {
                SortValue::Int(key.last_used_at.map_or(NEVER_USED, |t| t.0))
            }
            ApiKeyOrderField::State => SortValue::Int(match key.state_at(now) {
                crate::server::model::ApiKeyState::Enabled => 0,
                crate::server::model::ApiKeyState::Disabled => 1,
                crate::server::model::ApiKeyState::Expired => 2,
            }),
        }
    }

    /// The sort value as SQL over `api_keys k` (`now` is written in: it is a number).
    pub fn sql(self, now: Timestamp) -> String {
        match self.field {
            ApiKeyOrderField::Name => "k.name_order".to_owned(),
            ApiKeyOrderField::CreatedAt => "k.seq".to_owned(),
            ApiKeyOrderField::ExpiresAt => format!("COALESCE(k.expires_at, {NEVER_EXPIRES})"),
            ApiKeyOrderField::LastUsedAt => format!("COALESCE(k.last_used_at, {NEVER_USED})"),
            ApiKeyOrderField::State => format!(
                "(CASE WHEN k.enabled = 0 THEN 1 WHEN k.expires_at IS NOT NULL \
                 AND k.expires_at <= {} THEN 2 ELSE 0 END)",
                now.0
            ),
        }
    }

    /// Orders `keys` as the listing shows them.
    pub fn sort(self, keys: &mut [ApiKey], now: Timestamp) {
        // Each key's value computed once (a name's is an allocation), not per comparison.
        keys.sort_by_cached_key(|k| (self.value_of(k, now), k.seq));
        if self.descending {
            keys.reverse();
        }
    }

    /// The position of `key` in this order, for a cursor.
    pub fn position_of(self, key: &ApiKey, now: Timestamp) -> KeyPosition {
        KeyPosition {
            field: self.field,
            value: self.value_of(key, now),
            seq: key.seq,
        }
    }

    /// ` AND` the key comes after `from` (before it, `backward`), then ` ORDER BY … LIMIT`:
    /// the inner statement of a page of `limit + 1` keys.
    pub fn push_page(
        self,
        q: &mut Sql,
        from: Option<&KeyPosition>,
        backward: bool,
        limit: i64,
        now: Timestamp,
    ) {
        let expr = self.sql(now);
        let descending = self.descending != backward;
        let (op, dir) = if descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        // A row-value comparison, which both stores read as a range of the order's index
        // (an `OR` of two comparisons is read as a scan); creation order is `seq` alone.
        match from {
            None => {}
            Some(from) if self.field == ApiKeyOrderField::CreatedAt => {
                q.push(&format!(" AND k.seq {op} ")).bind(from.seq);
            }
            Some(from) => {
                q.push(&format!(" AND ({expr}, k.seq) {op} ("));
                match &from.value {
                    SortValue::Int(n) => q.bind(*n),
                    SortValue::Text(t) => q.bind(t.clone()),
                };
                q.push(", ").bind(from.seq).push(")");
            }
        }
        q.push(&format!(" ORDER BY {expr} {dir}, k.seq {dir} LIMIT "))
            .bind(limit + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_values_order_numbers_and_texts() {
        assert!(SortValue::Int(-1) < SortValue::Int(0));
        assert!(SortValue::Text("a".into()) < SortValue::Text("b".into()));
        assert!(NEVER_USED < 0 && NEVER_EXPIRES > Timestamp::now().0);
    }
}
