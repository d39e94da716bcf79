//! A listing read from the service a page at a time, in the service's order, and kept as a
//! window of a few pages around the cursor: pages far from it are dropped and read again by
//! cursor when the user comes back, so memory does not grow with the store. The Keys and the
//! Identities tab each hold one; the tab says what a page query is and which rows its filter
//! keeps, the list does the rest.

use std::collections::VecDeque;

use super::Cursor;
use crate::api::Page;
use crate::tui::widgets::Load;
use crate::tui::widgets::numbers::thousands;

/// Fetch the next (or previous) page when the cursor gets this close to the last (or first)
/// loaded row.
pub const PREFETCH_MARGIN: usize = 20;

/// Pages kept at most: the one under the cursor and those nearest to it.
pub const WINDOW_PAGES: usize = 5;

/// A row that can be found again after its page was read anew.
pub trait Row {
    fn id(&self) -> &str;
}

/// A page to ask the service for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The first page, replacing what is loaded.
    First,
    /// The page after the loaded rows (the cursor that reads it).
    Next(Option<String>),
    /// The page before the loaded rows.
    Previous(Option<String>),
    /// The last page, replacing what is loaded.
    Tail,
    /// The row with this id wherever it falls in the order: the page that ends just before
    /// it, replacing what is loaded, then (as the cursor sits at its end) the page that
    /// starts with it.
    Around(String),
}

impl Want {
    /// Whether the answer goes after what is loaded.
    pub fn appends(&self) -> bool {
        matches!(self, Want::Next(_))
    }

    /// `base` (a listing's filter and order, first page) turned into the request for this
    /// page; `None` for [`Want::Around`], which a tab asks for its own way.
    pub fn query<Q: PageQuery>(self, base: Q, size: i64) -> Option<Q> {
        Some(match self {
            Want::First => base,
            Want::Next(after) => base.after(after),
            Want::Previous(before) => base.backward(size, before),
            Want::Tail => base.backward(size, None),
            Want::Around(_) => return None,
        })
    }
}

/// A listing's request that pages both ways (`first`/`after`, `last`/`before`).
pub trait PageQuery: Sized {
    /// The page after `after`.
    fn after(self, after: Option<String>) -> Self;
    /// The `last` rows before `before` (the end without it).
    fn backward(self, last: i64, before: Option<String>) -> Self;
}

impl PageQuery for crate::api::KeyQuery {
    fn after(self, after: Option<String>) -> Self {
        Self { after, ..self }
    }

    fn backward(self, last: i64, before: Option<String>) -> Self {
        Self {
            last: Some(last),
            before,
            ..self
        }
    }
}

impl PageQuery for crate::api::IdentityQuery {
    fn after(self, after: Option<String>) -> Self {
        Self { after, ..self }
    }

    fn backward(self, last: i64, before: Option<String>) -> Self {
        Self {
            last: Some(last),
            before,
            ..self
        }
    }
}

/// One loaded page: how many rows it holds and the cursors of its first and last.
#[derive(Debug)]
struct Span {
    len: usize,
    start: Option<String>,
    end: Option<String>,
}

#[derive(Debug)]
pub struct PagedList<T> {
    /// The loaded rows, in the service's order: the pages of `spans`, one after the other.
    rows: Vec<T>,
    spans: VecDeque<Span>,
    /// Indices into `rows` that the filter keeps: what the table shows.
    view: Vec<usize>,
    pub cursor: Cursor,
    pub load: Load,
    /// Rows in the whole listing, as the service counted them.
    pub total: i64,
    has_next: bool,
    has_previous: bool,
    /// The place of `rows[0]` in the whole listing, when known.
    offset: Option<usize>,
    /// The page under way, where its answer goes; asked again after a failure.
    pending: Option<Want>,
    /// The end was asked for while a page was under way: asked for when it arrives.
    end_wanted: bool,
    /// A row to put the cursor on once it is loaded (a key just created).
    pub select_id: Option<String>,
}

impl<T> Default for PagedList<T> {
    fn default() -> Self {
        PagedList {
            rows: Vec::new(),
            spans: VecDeque::new(),
            view: Vec::new(),
            cursor: Cursor::default(),
            load: Load::Idle,
            total: 0,
            has_next: false,
            has_previous: false,
            offset: Some(0),
            pending: None,
            end_wanted: false,
            select_id: None,
        }
    }
}

impl<T: Row> PagedList<T> {
    /// Marks `want` as under way and hands it back for the tab to ask for.
    fn begin(&mut self, want: Want) -> Want {
        self.load = Load::Loading;
        self.pending = Some(want.clone());
        want
    }

    /// The first page again (a reload, a new filter or order).
    pub fn first(&mut self) -> Want {
        self.end_wanted = false;
        self.begin(Want::First)
    }

    /// A page failed: the failure stays in the title until the retry; the page to ask for
    /// again (the first page when none was under way), still pending.
    pub fn failed(&mut self, why: String) -> Want {
        self.load = Load::Failed(why);
        self.pending.get_or_insert(Want::First).clone()
    }

    /// The next page when the cursor is near the last loaded row (or the end, when it was
    /// asked for while a page was under way).
    pub fn following(&mut self) -> Option<Want> {
        if std::mem::take(&mut self.end_wanted) {
            return self.tail();
        }
        if self.has_next
            && !self.load.is_loading()
            && self.cursor.index + PREFETCH_MARGIN >= self.view.len()
        {
            let after = self.spans.back().and_then(|s| s.end.clone());
            return Some(self.begin(Want::Next(after)));
        }
        None
    }

    /// The page before the loaded rows when the cursor is near the first one.
    pub fn previous(&mut self) -> Option<Want> {
        if self.has_previous && !self.load.is_loading() && self.cursor.index <= PREFETCH_MARGIN {
            let before = self.spans.front().and_then(|s| s.start.clone());
            return Some(self.begin(Want::Previous(before)));
        }
        None
    }

    /// Both neighbours, whichever the cursor is near.
    pub fn around(&mut self) -> Vec<Want> {
        self.following()
            .into_iter()
            .chain(self.previous())
            .collect()
    }

    /// The end of the listing in one request (`G`, End).
    pub fn tail(&mut self) -> Option<Want> {
        self.cursor.index = self.view.len().saturating_sub(1);
        if self.load.is_loading() {
            self.end_wanted = true;
            return None;
        }
        self.has_next.then(|| self.begin(Want::Tail))
    }

    /// The listing around the row `id` (a key just created), which is then selected.
    pub fn around_row(&mut self, id: String) -> Want {
        self.end_wanted = false;
        self.select_id = Some(id.clone());
        self.begin(Want::Around(id))
    }

    /// The start of the listing (`gg`, Home): the first page again when it is not loaded.
    pub fn head(&mut self) -> Option<Want> {
        self.cursor.index = 0;
        self.has_previous.then(|| self.first())
    }

    /// Puts `page` where the request it answers said, keeps the cursor on its row, drops
    /// the pages farthest from the cursor beyond [`WINDOW_PAGES`], and re-applies the filter
    /// `keep`. A page nobody asked for (`pending` empty) is the first, or the next when
    /// `append`.
    pub fn apply(&mut self, page: Page<T>, append: bool, keep: impl Fn(&T) -> bool) {
        let selected = self
            .select_id
            .clone()
            .or_else(|| self.selected().map(|r| r.id().to_owned()));
        let want = self.pending.take().unwrap_or(if append {
            Want::Next(None)
        } else {
            Want::First
        });
        let span = Span {
            len: page.items.len(),
            start: page.start_cursor,
            end: page.end_cursor,
        };
        self.total = page.total;
        self.load = Load::Loaded;
        let count = span.len;
        match want {
            Want::Around(_) => {
                self.rows = page.items;
                self.spans.clear();
                self.spans.push_back(span);
                // The row itself comes next.
                self.has_next = true;
                self.has_previous = page.has_previous;
                self.offset = (!page.has_previous).then_some(0);
            }
            Want::First | Want::Tail => {
                self.rows = page.items;
                self.spans.clear();
                self.spans.push_back(span);
                self.has_next = page.has_next;
                self.has_previous = page.has_previous;
                self.offset = if want == Want::First {
                    Some(0)
                } else {
                    usize::try_from(page.total)
                        .ok()
                        .map(|t| t.saturating_sub(count))
                };
            }
            Want::Next(_) => {
                self.rows.extend(page.items);
                self.spans.push_back(span);
                self.has_next = page.has_next;
            }
            Want::Previous(_) => {
                let after = std::mem::replace(&mut self.rows, page.items);
                self.rows.extend(after);
                self.spans.push_front(span);
                self.has_previous = page.has_previous;
                self.offset = self.offset.and_then(|o| o.checked_sub(count));
            }
        }
        self.trim(selected.as_deref());
        self.refilter(keep);
        let found = selected.and_then(|id| self.position(&id));
        if found.is_some() || !matches!(want, Want::Around(_)) {
            self.select_id = None;
        }
        match (want, found) {
            // The end: the cursor on the last row, whatever was selected before; around a
            // row not loaded yet, at the end too, so that the page holding it is asked for.
            (Want::Tail | Want::Around(_), None) | (Want::Tail, _) => {
                self.cursor.index = self.view.len().saturating_sub(1);
            }
            (_, Some(at)) => self.cursor.index = at,
            _ => {}
        }
        self.cursor.clamp(self.view.len());
    }

    /// Drops whole pages from the end farther from the row `selected` until at most
    /// [`WINDOW_PAGES`] remain; what is dropped is read again by cursor.
    fn trim(&mut self, selected: Option<&str>) {
        if self.spans.len() <= WINDOW_PAGES {
            return;
        }
        let at = selected
            .and_then(|id| self.rows.iter().position(|r| r.id() == id))
            .unwrap_or(0);
        // The page holding the selected row.
        let mut page = 0;
        let mut start = 0;
        for (i, span) in self.spans.iter().enumerate() {
            if at < start + span.len {
                page = i;
                break;
            }
            start += span.len;
            page = i;
        }
        let mut front = 0;
        let mut back = 0;
        let mut kept = self.spans.len();
        while kept > WINDOW_PAGES {
            // Farther from the front or from the back: drop that end's page.
            if page - front >= (self.spans.len() - 1 - back) - page {
                front += 1;
            } else {
                back += 1;
            }
            kept -= 1;
        }
        if back > 0 {
            let dropped: usize = self.spans.iter().rev().take(back).map(|s| s.len).sum();
            self.rows.truncate(self.rows.len() - dropped);
            self.spans.truncate(self.spans.len() - back);
            self.has_next = true;
        }
        if front > 0 {
            let dropped: usize = self.spans.drain(..front).map(|s| s.len).sum();
            self.rows.drain(..dropped);
            self.offset = self.offset.map(|o| o + dropped);
            self.has_previous = true;
        }
    }

    /// Re-applies the filter to the loaded rows: O(rows), run only when it or they change.
    pub fn refilter(&mut self, keep: impl Fn(&T) -> bool) {
        self.view = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| keep(r))
            .map(|(i, _)| i)
            .collect();
        self.cursor.clamp(self.view.len());
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.view.iter().position(|&i| self.rows[i].id() == id)
    }

    pub fn selected(&self) -> Option<&T> {
        self.view.get(self.cursor.index).map(|&i| &self.rows[i])
    }

    /// The rows the filter keeps, in order.
    pub fn shown(&self) -> impl Iterator<Item = &T> {
        self.view.iter().map(|&i| &self.rows[i])
    }

    /// The rows to draw in `height` lines with the cursor visible, and the cursor's line.
    pub fn visible(&self, height: usize) -> (impl Iterator<Item = &T>, usize) {
        let (offset, shown) = self.cursor.window(&self.view, height);
        (
            shown.iter().map(|&i| &self.rows[i]),
            self.cursor.index - offset,
        )
    }

    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.rows.iter_mut()
    }

    /// Every loaded row, shown or not.
    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    /// Rows the filter keeps.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// Rows held, shown or not.
    pub fn loaded(&self) -> usize {
        self.rows.len()
    }

    pub fn has_next(&self) -> bool {
        self.has_next
    }

    /// How much of the listing the title counts: `200 of 3,129` while the rows held start the
    /// listing, `5,001–6,000 of 100,000` once the window has moved on.
    pub fn extent(&self) -> String {
        let total = thousands(usize::try_from(self.total).unwrap_or(0));
        match self.offset {
            Some(0) if !self.has_previous => format!("{} of {total}", thousands(self.view.len())),
            Some(first) if !self.rows.is_empty() => format!(
                "{}–{} of {total}",
                thousands(first + 1),
                thousands(first + self.rows.len())
            ),
            _ => format!("{} loaded of {total}", thousands(self.rows.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct R(String);

    impl Row for R {
        fn id(&self) -> &str {
            &self.0
        }
    }

    fn page(from: usize, len: usize, total: usize) -> Page<R> {
        Page {
            items: (from..from + len).map(|i| R(i.to_string())).collect(),
            has_next: from + len < total,
            end_cursor: Some(format!("c{}", from + len - 1)),
            has_previous: from > 0,
            start_cursor: Some(format!("c{from}")),
            total: total as i64,
        }
    }

    #[test]
    fn scrolling_keeps_a_window_of_pages_and_reads_dropped_ones_again() {
        let mut list = PagedList::<R>::default();
        assert_eq!(list.first(), Want::First);
        list.apply(page(0, 10, 100), false, |_| true);
        for n in 1..10 {
            list.cursor.index = list.len() - 1;
            let Some(Want::Next(after)) = list.following() else {
                panic!("no next page asked for at page {n}");
            };
            assert_eq!(after, Some(format!("c{}", n * 10 - 1)));
            list.apply(page(n * 10, 10, 100), true, |_| true);
            assert!(list.loaded() <= WINDOW_PAGES * 10);
        }
        // The cursor stayed on its row: the last of page 9 minus nothing.
        assert_eq!(list.selected().map(|r| r.0.as_str()), Some("89"));
        assert_eq!(list.extent(), "51–100 of 100");
        // Back to the top of the window: the dropped page before it is asked for by cursor.
        list.cursor.index = 0;
        assert_eq!(list.previous(), Some(Want::Previous(Some("c50".into()))));
        list.apply(page(40, 10, 100), false, |_| true);
        assert_eq!(list.selected().map(|r| r.0.as_str()), Some("50"));
        assert_eq!(list.rows()[0].0, "40");
        assert!(list.loaded() <= WINDOW_PAGES * 10);
        assert!(list.has_next());
    }

    #[test]
    fn the_end_replaces_the_window_and_the_start_reads_the_first_page_again() {
        let mut list = PagedList::<R>::default();
        list.first();
        list.apply(page(0, 10, 100), false, |_| true);
        assert_eq!(list.tail(), Some(Want::Tail));
        list.apply(page(90, 10, 100), false, |_| true);
        assert_eq!(list.selected().map(|r| r.0.as_str()), Some("99"));
        assert_eq!(list.extent(), "91–100 of 100");
        assert_eq!(list.head(), Some(Want::First));
    }
}
