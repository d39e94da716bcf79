//! The tables every tab draws: columns that give way in a chosen order when the area is too
//! narrow, and cells cut with a visible `…` rather than silently at the column's edge.
//!
//! Ratatui's `Table` shrinks columns to fit and clips what no longer fits, so a narrow
//! terminal loses the end of every value (and whole columns on the right) without a sign.
//! Here each column says how much it matters; the least important go first, and what stays
//! is cut with [`fit::truncate`].

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, StatefulWidget, Table, TableState};

use crate::tui::theme::Theme;
use crate::tui::widgets::fit;

/// Cells between two columns.
const SPACING: u16 = 1;

/// How a column takes width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// This many cells, or its title's width when that is more: a header is never cut.
    Fixed(u16),
    /// At least `min` cells, then a `weight` share of the width no other column takes.
    Fill { min: u16, weight: u16 },
}

/// A column of a [`table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: String,
    pub width: Width,
    /// When the area is too narrow for every column, the lowest priority is dropped first
    /// (the rightmost among equals), until the rest fit or one is left.
    pub priority: u8,
}

impl Column {
    pub fn new(title: impl Into<String>, width: Width, priority: u8) -> Column {
        Column {
            title: title.into(),
            width,
            priority,
        }
    }

    /// The fewest cells the column can be drawn in.
    fn min(&self) -> u16 {
        match self.width {
            Width::Fixed(n) => n.max(fit::width(&self.title) as u16),
            Width::Fill { min, .. } => min,
        }
    }
}

/// The fewest cells that show every column of at least `priority`, spaced.
pub fn min_width(columns: &[Column], priority: u8) -> u16 {
    let kept: Vec<u16> = columns
        .iter()
        .filter(|c| c.priority >= priority)
        .map(Column::min)
        .collect();
    kept.iter().sum::<u16>() + SPACING * kept.len().saturating_sub(1) as u16
}

/// The width of each column in `width` cells, `None` for those dropped to make room.
pub fn layout(columns: &[Column], width: u16) -> Vec<Option<u16>> {
    let mut kept: Vec<usize> = (0..columns.len()).collect();
    let need = |kept: &[usize]| -> u16 {
        let cells: u16 = kept.iter().map(|&i| columns[i].min()).sum();
        cells + SPACING * kept.len().saturating_sub(1) as u16
    };
    while kept.len() > 1 && need(&kept) > width {
        // The last of the lowest priority: `min_by_key` keeps the first of equals, so look
        // from the right.
        if let Some(pos) = (0..kept.len())
            .rev()
            .min_by_key(|&pos| columns[kept[pos]].priority)
        {
            kept.remove(pos);
        }
    }
    let mut widths: Vec<Option<u16>> = vec![None; columns.len()];
    for &i in &kept {
        widths[i] = Some(columns[i].min().min(width));
    }
    // What is left goes to the fill columns by weight; rounding leftovers to the first.
    let spare = width.saturating_sub(need(&kept));
    let weights: u32 = kept
        .iter()
        .map(|&i| match columns[i].width {
            Width::Fill { weight, .. } => u32::from(weight),
            Width::Fixed(_) => 0,
        })
        .sum();
    let mut given = 0;
    for &i in &kept {
        if let Width::Fill { weight, .. } = columns[i].width {
            let share = (u32::from(spare) * u32::from(weight))
                .checked_div(weights)
                .map_or(0, |share| share as u16);
            given += share;
            widths[i] = widths[i].map(|w| w + share);
        }
    }
    if let Some(first) = kept
        .iter()
        .find(|&&i| matches!(columns[i].width, Width::Fill { .. }))
    {
        widths[*first] = widths[*first].map(|w| w + spare - given);
    }
    widths
}

/// A table of `rows` (one span per column, in the columns' order) under the columns'
/// titles, with the row `selected` (relative to the rows) marked. Columns give way as
/// [`layout`] decides; every cell that does not fit its column ends in `…`.
pub fn table(
    columns: &[Column],
    rows: impl IntoIterator<Item = Vec<Span<'static>>>,
    selected: Option<usize>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let widths = layout(columns, area.width);
    let shown = |cells: Vec<Span<'static>>| -> Row<'static> {
        Row::new(
            cells
                .into_iter()
                .zip(&widths)
                .filter_map(|(cell, w)| w.map(|w| Cell::from(fit::truncate_span(cell, w.into())))),
        )
    };
    let header = shown(columns.iter().map(|c| Span::raw(c.title.clone())).collect());
    let rows: Vec<Row> = rows.into_iter().map(shown).collect();
    let constraints: Vec<Constraint> = widths
        .iter()
        .flatten()
        .map(|&w| Constraint::Length(w))
        .collect();
    let mut state = TableState::default().with_selected(selected);
    let table = Table::new(rows, constraints)
        .header(header.style(theme.header))
        .row_highlight_style(theme.selected)
        .column_spacing(SPACING);
    StatefulWidget::render(table, area, buf, &mut state);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<Column> {
        vec![
            Column::new("Name", Width::Fill { min: 10, weight: 1 }, 9),
            Column::new("Prefix", Width::Fixed(10), 5),
            Column::new("Roles", Width::Fill { min: 8, weight: 1 }, 1),
            Column::new("State", Width::Fixed(8), 5),
            Column::new("Created", Width::Fixed(8), 1),
        ]
    }

    #[test]
    fn everything_fits_and_the_rest_goes_to_fill_columns() {
        // 10 + 10 + 8 + 8 + 8 + 4 spaces = 48.
        assert_eq!(
            layout(&columns(), 52),
            [Some(12), Some(10), Some(10), Some(8), Some(8)]
        );
    }

    #[test]
    fn the_lowest_priority_goes_first_rightmost_among_equals() {
        // Created (priority 1, rightmost) goes before Roles (priority 1).
        assert_eq!(
            layout(&columns(), 47),
            [Some(14), Some(10), Some(12), Some(8), None]
        );
        assert_eq!(
            layout(&columns(), 30),
            [Some(10), Some(10), None, Some(8), None]
        );
        // One column is always left, cut to the width.
        assert_eq!(layout(&columns(), 6), [Some(6), None, None, None, None]);
    }

    #[test]
    fn the_width_that_keeps_a_priority() {
        assert_eq!(min_width(&columns(), 5), 10 + 10 + 8 + 2);
        assert_eq!(min_width(&columns(), 9), 10);
    }

    #[test]
    fn a_fixed_column_is_as_wide_as_its_title() {
        let columns = [Column::new("Last used ▲", Width::Fixed(9), 1)];
        assert_eq!(layout(&columns, 40), [Some(11)]);
    }
}
