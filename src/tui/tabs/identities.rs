//! The Identities tab: identities with their global roles and project memberships.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{
    Block, Borders, Paragraph, Row, StatefulWidget, Table, TableState, Widget, Wrap,
};

use super::Cursor;
use crate::api::ops::Identity;
use crate::tui::theme::Theme;
use crate::tui::widgets::Load;

pub const PAGE_SIZE: i64 = 200;

#[derive(Debug, Default)]
pub struct IdentitiesTab {
    pub rows: Vec<Identity>,
    pub cursor: Cursor,
    pub load: Load,
    pub next_cursor: Option<String>,
    pub has_next: bool,
    pub total: i64,
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
        self.has_next = has_next;
        self.next_cursor = next;
        self.total = total;
        self.load = Load::Loaded;
        self.cursor.clamp(self.rows.len());
    }

    pub fn selected(&self) -> Option<&Identity> {
        self.rows.get(self.cursor.index)
    }

    pub fn wants_more(&self) -> bool {
        self.has_next && !self.load.is_loading() && self.cursor.index + 20 >= self.rows.len()
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer, theme: &Theme, tick: u64) {
        let title = format!(
            " Identities: {} of {}{} ",
            self.rows.len(),
            self.total,
            self.load.badge(tick)
        );
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border)
            .title(Span::styled(title, theme.accent));
        let inner = block.inner(area);
        block.render(area, buf);
        if self.rows.is_empty() {
            let message = match &self.load {
                Load::Failed(e) => format!("Could not load identities: {e}"),
                Load::Loaded => "No identities.".into(),
                _ => "Loading identities…".into(),
            };
            Paragraph::new(message)
                .style(theme.dim)
                .wrap(Wrap { trim: true })
                .render(inner, buf);
            return;
        }
        let height = inner.height.saturating_sub(1) as usize;
        let offset = self.cursor.offset(height);
        let rows = self.rows[offset..(offset + height).min(self.rows.len())]
            .iter()
            .map(|i| {
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
                Row::new(vec![
                    i.description.clone(),
                    i.id.chars().take(8).collect(),
                    if i.roles.is_empty() {
                        "—".into()
                    } else {
                        i.roles.join(", ")
                    },
                    if memberships.is_empty() {
                        "—".into()
                    } else {
                        memberships.join(", ")
                    },
                    key_state,
                ])
            });
        let header = Row::new([
            "Description",
            "Id",
            "Global roles",
            "Project memberships",
            "Key",
        ])
        .style(theme.header);
        let widths = [
            Constraint::Fill(3),
            Constraint::Length(8),
            Constraint::Fill(2),
            Constraint::Fill(3),
            Constraint::Length(8),
        ];
        let mut state = TableState::default().with_selected(Some(self.cursor.index - offset));
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(theme.selected);
        StatefulWidget::render(table, inner, buf, &mut state);
    }
}
