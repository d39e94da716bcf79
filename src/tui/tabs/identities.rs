//! The Identities tab: identities with their global roles and project memberships.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::Row;

use super::{Cursor, Paging, framed, message, table};
use crate::api::ops::Identity;
use crate::text::visible;
use crate::tui::theme::Theme;
use crate::tui::widgets::Load;

pub const PAGE_SIZE: i64 = 200;

#[derive(Debug, Default)]
pub struct IdentitiesTab {
    pub rows: Vec<Identity>,
    pub cursor: Cursor,
    pub paging: Paging,
}

impl IdentitiesTab {
    pub fn apply_page(
        &mut self,
        rows: Vec<Identity>,
        append: bool,
        has_next: bool,
        next: Option<String>,
        total: i64,
    ) {
        if append {
            self.rows.extend(rows);
        } else {
            self.rows = rows;
        }
        self.paging.loaded(has_next, next, total);
        self.cursor.clamp(self.rows.len());
    }

    pub fn selected(&self) -> Option<&Identity> {
        self.rows.get(self.cursor.index)
    }

    pub fn wants_more(&self) -> bool {
        self.paging.wants_more(&self.cursor, self.rows.len())
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, tick: u64) {
        let title = format!(
            " Identities: {} of {}{} ",
            self.rows.len(),
            self.paging.total,
            self.paging.load.badge(tick)
        );
        let inner = framed(title, theme.border, theme, area, buf);
        if self.rows.is_empty() {
            let text = match &self.paging.load {
                Load::Failed(e) => format!("Could not load identities: {e}"),
                Load::Loaded => "No identities.".into(),
                _ => "Loading identities…".into(),
            };
            return message(text, theme, inner, buf);
        }
        let (offset, visible) = self
            .cursor
            .window(&self.rows, inner.height.saturating_sub(1) as usize);
        let rows = visible.iter().map(identity_row);
        let header = Row::new([
            "Description",
            "Id",
            "Global roles",
            "Project memberships",
            "Key",
        ]);
        let widths = vec![
            Constraint::Fill(3),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(8),
        ];
        table(
            rows,
            header,
            widths,
            Some(self.cursor.index - offset),
            theme,
            inner,
            buf,
        );
    }
}

fn identity_row(i: &Identity) -> Row<'static> {
    let memberships: Vec<String> = i
        .projects
        .iter()
        .flat_map(|p| {
            p.memberships.iter().map(move |m| {
                let vars: Vec<String> = m
                    .variables
                    .iter()
                    .map(|v| format!("{}={}", v.name, v.values.join(",")))
                    .collect();
                if vars.is_empty() {
                    format!("{}:{}", p.project.slug, m.role)
                } else {
                    format!("{}:{}({})", p.project.slug, m.role, vars.join(";"))
                }
            })
        })
        .collect();
    let key_state = i.api_key.as_ref().map_or("—".to_owned(), |k| {
        format!("{:?}", k.state).to_lowercase()
    });
    let or_dash = |parts: Vec<String>| {
        if parts.is_empty() {
            "—".into()
        } else {
            parts.join(", ")
        }
    };
    // Everything here was typed by someone else: shown, never obeyed.
    Row::new(
        [
            i.description.clone(),
            i.id.chars().take(8).collect(),
            or_dash(i.roles.clone()),
            or_dash(memberships),
            key_state,
        ]
        .map(|cell| visible(&cell).into_owned()),
    )
}
