//! Relay-style cursor connections over the store's sequence numbers, and over a listing's
//! order ([`PageRequest`]: keyset cursors, forward and backward).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::server::model::Timestamp;
use crate::server::store::{Order, OrderField, Page, Position, SortValue};

pub const DEFAULT_PAGE_SIZE: i32 = 50;
pub const MAX_PAGE_SIZE: i32 = 500;

/// Extra connection fields.
#[derive(SimpleObject)]
pub struct Totals {
    /// How many items match the filter, over all pages.
    pub total_count: i64,
}

pub type Listing<T> = Connection<String, T, Totals>;

/// Default and largest `first` of the connections (`apiKeys`, `identities`, `auditLog`).
pub const PAGES: (i32, i32) = (DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);

/// Validates `first` of a connection: 1 to 500, default 50.
pub fn page_size(first: Option<i32>) -> async_graphql::Result<i64> {
    Ok(bounded(first, PAGES)? as i64)
}

/// Validates a list's `first` against its `(default, largest)`.
pub fn bounded(first: Option<i32>, (default, max): (i32, i32)) -> async_graphql::Result<usize> {
    let n = first.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(super::coded_error(
            "BAD_USER_INPUT",
            format!("`first` must be between 1 and {max}, got {n}"),
        ));
    }
    Ok(n as usize)
}

/// What a relation resolved by one store lookup costs in the query budget, beside what it
/// selects: lookups, not fields, are what a request spends its time on.
pub const LOOKUP_COST: usize = 5;

/// What a list field costs in the query budget: one for the field, plus its page size times
/// what one item's selection costs. A `first` out of range is charged as the largest page
/// (its resolver refuses it anyway), so nobody can make a list look cheaper than it is.
pub fn list_cost(first: Option<i32>, (default, max): (i32, i32), child_complexity: usize) -> usize {
    let n = match first {
        Some(n) if (1..=max).contains(&n) => n,
        Some(_) => max,
        None => default,
    };
    (n as usize)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

pub fn encode_cursor(seq: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("kd:{seq}"))
}

pub fn decode_cursor(cursor: Option<&str>) -> async_graphql::Result<Option<i64>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|s| s.strip_prefix("kd:").and_then(|n| n.parse().ok()))
        .map(Some)
        .ok_or_else(|| {
            super::coded_error(
                "BAD_USER_INPUT",
                "`after` is not a cursor this service issued",
            )
        })
}

pub fn listing<T: OutputType>(
    page: Page<T>,
    total_count: i64,
    seq: impl Fn(&T) -> i64,
) -> Listing<T> {
    let (has_previous, has_next) = (false, page.has_next);
    listing_with(page.items, has_previous, has_next, total_count, |item| {
        encode_cursor(seq(item))
    })
}

/// A connection of `items` with each item's cursor, however the listing is ordered.
pub fn listing_with<T: OutputType>(
    items: Vec<T>,
    has_previous: bool,
    has_next: bool,
    total_count: i64,
    cursor: impl Fn(&T) -> String,
) -> Listing<T> {
    let mut connection =
        Connection::with_additional_fields(has_previous, has_next, Totals { total_count });
    connection.edges = items
        .into_iter()
        .map(|item| Edge::new(cursor(&item), item))
        .collect();
    connection
}

/// The cursor of a row's place in an ordered listing: `kd:{seq}` in creation order (the
/// cursors listings always gave), `kd:{FIELD}:{seq}:{value}` in the others.
pub fn encode_position<F: OrderField>(position: &Position<F>) -> String {
    if position.field == F::CREATED {
        return encode_cursor(position.seq);
    }
    let value = match &position.value {
        SortValue::Int(n) => format!("i{n}"),
        SortValue::Text(t) => format!("s{t}"),
    };
    let field = position.field.name();
    URL_SAFE_NO_PAD.encode(format!("kd:{field}:{}:{value}", position.seq))
}

/// The position a cursor of `field`'s order names; a cursor of another order is refused.
pub fn decode_position<F: OrderField>(
    cursor: Option<&str>,
    field: F,
) -> async_graphql::Result<Option<Position<F>>> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let refused = || {
        super::coded_error(
            "BAD_USER_INPUT",
            "the cursor is not one this service issued for this order of the listing",
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let Some(rest) = text.strip_prefix("kd:") else {
        return Err(refused());
    };
    if let Ok(seq) = rest.parse::<i64>() {
        return if field == F::CREATED {
            Ok(Some(Position::after_seq(seq)))
        } else {
            Err(refused())
        };
    }
    let mut parts = rest.splitn(3, ':');
    let (Some(name), Some(seq), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(refused());
    };
    let seq: i64 = seq.parse().map_err(|_| refused())?;
    if name != field.name() {
        return Err(refused());
    }
    let value = if let Some(n) = value.strip_prefix('i') {
        SortValue::Int(n.parse().map_err(|_| refused())?)
    } else if let Some(t) = value.strip_prefix('s') {
        SortValue::Text(t.to_owned())
    } else {
        return Err(refused());
    };
    Ok(Some(Position { field, value, seq }))
}

/// What a connection's paging arguments ask for, in an order: `first`/`after` read forward,
/// `last`/`before` backward (`last` alone: the end of the listing), never both.
pub struct PageRequest<F> {
    pub order: Order<F>,
    pub limit: i64,
    pub from: Option<Position<F>>,
    pub backward: bool,
}

impl<F: OrderField> PageRequest<F> {
    /// Checks the arguments and decodes the cursor (one of `order`'s).
    pub fn new(
        order: Order<F>,
        (first, after): (Option<i32>, Option<String>),
        (last, before): (Option<i32>, Option<String>),
    ) -> async_graphql::Result<Self> {
        let backward = last.is_some() || before.is_some();
        if backward && (first.is_some() || after.is_some()) {
            return Err(super::coded_error(
                "BAD_USER_INPUT",
                "page forward (`first`, `after`) or backward (`last`, `before`), not both",
            ));
        }
        let limit = page_size(if backward { last } else { first })?;
        let cursor = if backward { before } else { after };
        let from = decode_position(cursor.as_deref(), order.field)?;
        Ok(PageRequest {
            order,
            limit,
            from,
            backward,
        })
    }

    /// The connection of the page the store read for this request, each row with its cursor.
    pub fn listing(&self, page: Page<F::Row>, total_count: i64) -> Listing<F::Row>
    where
        F::Row: OutputType,
    {
        // Forward, a cursor means rows lie before it; backward, after it.
        let (has_previous, has_next) = if self.backward {
            (page.has_next, self.from.is_some())
        } else {
            (self.from.is_some(), page.has_next)
        };
        let now = Timestamp::now();
        let order = self.order;
        listing_with(page.items, has_previous, has_next, total_count, |row| {
            encode_position(&order.position_of(row, now))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(Some(&encode_cursor(42))).unwrap(), Some(42));
        assert_eq!(decode_cursor(None).unwrap(), None);
        assert!(decode_cursor(Some("nonsense!")).is_err());
    }

    #[test]
    fn a_list_costs_its_page_times_its_items() {
        assert_eq!(list_cost(None, PAGES, 10), 501);
        assert_eq!(list_cost(Some(500), PAGES, 10), 5001);
        assert_eq!(list_cost(Some(100_000), PAGES, 10), 5001);
        assert_eq!(list_cost(Some(-1), PAGES, 10), 5001);
    }

    #[test]
    fn page_size_is_capped() {
        assert_eq!(page_size(None).unwrap(), 50);
        assert_eq!(page_size(Some(500)).unwrap(), 500);
        assert!(page_size(Some(501)).is_err());
        assert!(page_size(Some(0)).is_err());
    }
}
