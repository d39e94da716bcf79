//! The orders a listing (keys, identities) can be read in, and where a page of one starts:
//! keyset paging over (sort value, seq), so a page costs the same wherever it is, and the
//! store and the service agree on every row's place ([`OrderField::value_of`] is
//! [`OrderField::sql`] in Rust).
//!
//! One machinery for every listing: a listing names its fields ([`OrderField`], over its
//! table's alias), and [`Order`] writes its pages, sorts what they bring and places cursors.

use crate::server::model::{
    ApiKey, ApiKeyOrderField, ApiKeyState, Identity, IdentityOrderField, OrderDirection, Timestamp,
};

use super::sql::Sql;
use super::{Page, StoreResult, page};

/// The value a row sorts by: a number or a text (names, lowercased).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// A field a listing can be ordered by: the same value in SQL over the listing's table and in
/// Rust over one of its rows. Ties go by `seq`, the same way.
pub trait OrderField: Copy + Eq + std::fmt::Debug {
    /// What the listing lists.
    type Row;
    /// The alias of the listing's table in its statements (`api_keys k`, `identities i`).
    const ALIAS: &'static str;
    /// Creation order, whose value is `seq` itself (and whose cursors are `kd:{seq}`).
    const CREATED: Self;
    /// The field's GraphQL name, which a cursor of its order carries.
    fn name(self) -> &'static str;
    /// The sort value as SQL over [`Self::ALIAS`] (`now` is written in: it is a number).
    fn sql(self, now: Timestamp) -> String;
    /// The sort value of `row` at `now`, as [`Self::sql`] computes it in the store.
    fn value_of(self, row: &Self::Row, now: Timestamp) -> SortValue;
    /// The row's sequence number: its place in creation order.
    fn seq(row: &Self::Row) -> i64;
}

/// An order of a listing: a field, either way; ties go by `seq` the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order<F> {
    pub field: F,
    pub descending: bool,
}

/// Where a page starts: just past the row at `(value, seq)` in the listing's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position<F> {
    pub field: F,
    pub value: SortValue,
    pub seq: i64,
}

/// The orders of key listings and their positions.
pub type KeyOrder = Order<ApiKeyOrderField>;
pub type KeyPosition = Position<ApiKeyOrderField>;

impl<F: OrderField> Default for Order<F> {
    /// Oldest first, as listings always were.
    fn default() -> Self {
        Order {
            field: F::CREATED,
            descending: false,
        }
    }
}

impl<F: OrderField> Position<F> {
    /// Just past the row with sequence number `seq`, in creation order.
    pub fn after_seq(seq: i64) -> Self {
        Position {
            field: F::CREATED,
            value: SortValue::Int(seq),
            seq,
        }
    }
}

impl<F: OrderField> Order<F> {
    /// The order a GraphQL `orderBy` asks for.
    pub fn new(field: F, direction: OrderDirection) -> Self {
        Order {
            field,
            descending: direction == OrderDirection::Desc,
        }
    }

    /// Orders `rows` as the listing shows them.
    pub fn sort(self, rows: &mut [F::Row], now: Timestamp) {
        // Each row's value computed once (a name's is an allocation), not per comparison.
        rows.sort_by_cached_key(|r| (self.field.value_of(r, now), F::seq(r)));
        if self.descending {
            rows.reverse();
        }
    }

    /// The position of `row` in this order, for a cursor.
    pub fn position_of(self, row: &F::Row, now: Timestamp) -> Position<F> {
        Position {
            field: self.field,
            value: self.field.value_of(row, now),
            seq: F::seq(row),
        }
    }

    /// ` AND` the row comes after `from` (before it, `backward`), then ` ORDER BY … LIMIT`:
    /// the inner statement of a page of `limit + 1` rows.
    pub fn push_page(
        self,
        q: &mut Sql,
        from: Option<&Position<F>>,
        backward: bool,
        limit: i64,
        now: Timestamp,
    ) {
        let expr = self.field.sql(now);
        let seq = format!("{}.seq", F::ALIAS);
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
            Some(from) if self.field == F::CREATED => {
                q.push(&format!(" AND {seq} {op} ")).bind(from.seq);
            }
            Some(from) => {
                q.push(&format!(" AND ({expr}, {seq}) {op} ("));
                match &from.value {
                    SortValue::Int(n) => q.bind(*n),
                    SortValue::Text(t) => q.bind(t.clone()),
                };
                q.push(", ").bind(from.seq).push(")");
            }
        }
        q.push(&format!(" ORDER BY {expr} {dir}, {seq} {dir} LIMIT "))
            .bind(limit + 1);
    }

    /// The page of at most `limit` rows that a statement of [`Self::push_page`] read (`rows`,
    /// handed over in creation order), in this order; `has_next` says whether more lie beyond
    /// it in the direction it was read.
    pub fn page(
        self,
        mut rows: Vec<F::Row>,
        backward: bool,
        limit: i64,
        now: Timestamp,
    ) -> StoreResult<Page<F::Row>> {
        if self != Self::default() || backward {
            // The outer statement hands rows over by seq; the page is the inner one's.
            let inner = Order {
                descending: self.descending != backward,
                ..self
            };
            inner.sort(&mut rows, now);
        }
        let mut page = page(rows, limit)?;
        if backward {
            page.items.reverse();
        }
        Ok(page)
    }
}

/// What never expiring and never used sort as: last and first, going up.
const NEVER_EXPIRES: i64 = i64::MAX;
const NEVER_USED: i64 = -1;

impl OrderField for ApiKeyOrderField {
    type Row = ApiKey;
    const ALIAS: &'static str = "k";
    const CREATED: Self = ApiKeyOrderField::CreatedAt;

    fn name(self) -> &'static str {
        match self {
            ApiKeyOrderField::Name => "NAME",
            ApiKeyOrderField::CreatedAt => "CREATED_AT",
            ApiKeyOrderField::ExpiresAt => "EXPIRES_AT",
            ApiKeyOrderField::LastUsedAt => "LAST_USED_AT",
            ApiKeyOrderField::State => "STATE",
        }
    }

    fn sql(self, now: Timestamp) -> String {
        match self {
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

    fn value_of(self, key: &ApiKey, now: Timestamp) -> SortValue {
        match self {
            ApiKeyOrderField::Name => SortValue::Text(crate::text::name_order(&key.description)),
            ApiKeyOrderField::CreatedAt => SortValue::Int(key.seq),
            ApiKeyOrderField::ExpiresAt => {
                SortValue::Int(key.expires_at.map_or(NEVER_EXPIRES, |t| t.0))
            }
            ApiKeyOrderField::LastUsedAt => {
                SortValue::Int(key.last_used_at.map_or(NEVER_USED, |t| t.0))
            }
            ApiKeyOrderField::State => SortValue::Int(match key.state_at(now) {
                ApiKeyState::Enabled => 0,
                ApiKeyState::Disabled => 1,
                ApiKeyState::Expired => 2,
            }),
        }
    }

    fn seq(key: &ApiKey) -> i64 {
        key.seq
    }
}

impl OrderField for IdentityOrderField {
    type Row = Identity;
    const ALIAS: &'static str = "i";
    const CREATED: Self = IdentityOrderField::CreatedAt;

    fn name(self) -> &'static str {
        match self {
            IdentityOrderField::Name => "NAME",
            IdentityOrderField::CreatedAt => "CREATED_AT",
        }
    }

    fn sql(self, _now: Timestamp) -> String {
        match self {
            IdentityOrderField::Name => "i.name_order".to_owned(),
            IdentityOrderField::CreatedAt => "i.seq".to_owned(),
        }
    }

    fn value_of(self, identity: &Identity, _now: Timestamp) -> SortValue {
        match self {
            IdentityOrderField::Name => {
                SortValue::Text(crate::text::name_order(&identity.description))
            }
            IdentityOrderField::CreatedAt => SortValue::Int(identity.seq),
        }
    }

    fn seq(identity: &Identity) -> i64 {
        identity.seq
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

    #[test]
    fn a_page_of_either_listing_is_a_range_of_its_alias() {
        let from = Position {
            field: IdentityOrderField::Name,
            value: SortValue::Text("bob".into()),
            seq: 7,
        };
        let mut q = Sql::new("");
        Order::new(IdentityOrderField::Name, OrderDirection::Desc).push_page(
            &mut q,
            Some(&from),
            false,
            50,
            Timestamp::now(),
        );
        assert_eq!(
            q.text(),
            " AND (i.name_order, i.seq) < ($1, $2) ORDER BY i.name_order DESC, i.seq DESC LIMIT $3"
        );
        let mut q = Sql::new("");
        KeyOrder::default().push_page(
            &mut q,
            Some(&Position::after_seq(3)),
            true,
            10,
            Timestamp::now(),
        );
        assert_eq!(
            q.text(),
            " AND k.seq < $1 ORDER BY k.seq DESC, k.seq DESC LIMIT $2"
        );
    }
}
