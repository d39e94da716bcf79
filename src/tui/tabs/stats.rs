//! The Query Stats tab: pick a monitored database, then its statements by share of time.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{
    Block, Borders, List, ListItem, ListState, Paragraph, StatefulWidget, Widget, Wrap,
};

use super::columns::{Column, Width, table};
use super::view::{Shared, TabView, move_cursor};
use super::{Cursor, framed, message};
use crate::api::{Database, QueryStat};
use crate::text::visible;
use crate::tui::action::{Effect, Reply};
use crate::tui::keymap::{Command, Context};
use crate::tui::overlay::Look;
use crate::tui::widgets::Load;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    #[default]
    Databases,
    Statements,
}

#[derive(Debug, Default)]
pub struct StatsTab {
    pub databases: Vec<Database>,
    pub databases_load: Load,
    pub db_cursor: Cursor,
    /// The database whose statements are shown.
    pub open_database: Option<String>,
    pub stats: Vec<QueryStat>,
    pub stats_load: Load,
    pub cursor: Cursor,
    pub pane: Pane,
}

impl StatsTab {
    pub fn selected_database(&self) -> Option<&Database> {
        self.databases.get(self.db_cursor.index)
    }

    pub fn set_stats(&mut self, mut stats: Vec<QueryStat>) {
        stats.sort_by(|a, b| b.pct_of_total.total_cmp(&a.pct_of_total));
        self.stats = stats;
        self.stats_load = Load::Loaded;
        self.cursor.clamp(self.stats.len());
    }

    pub fn set_databases(&mut self, databases: Vec<Database>) {
        self.databases = databases;
        self.databases_load = Load::Loaded;
        self.db_cursor.clamp(self.databases.len());
    }
}

impl TabView for StatsTab {
    fn context(&self) -> Context {
        Context::Stats
    }

    fn on_command(&mut self, command: Command, _shared: &Shared) -> Reply {
        let moved = match self.pane {
            Pane::Databases => move_cursor(&mut self.db_cursor, command, self.databases.len()),
            Pane::Statements => move_cursor(&mut self.cursor, command, self.stats.len()),
        };
        if moved {
            return Reply::default();
        }
        match (command, self.pane) {
            (Command::Open, Pane::Databases) => {
                let Some(db) = self.selected_database() else {
                    return Reply::default();
                };
                let id = db.id.clone();
                self.open_database = Some(id.clone());
                self.stats.clear();
                self.stats_load = Load::Loading;
                self.pane = Pane::Statements;
                Reply::effects(vec![Effect::LoadStats { database_id: id }])
            }
            (Command::Back, Pane::Statements) => {
                self.pane = Pane::Databases;
                Reply::default()
            }
            _ => Reply::default(),
        }
    }

    fn load(&self) -> &Load {
        &self.databases_load
    }

    fn reload_rows(&mut self) -> Effect {
        self.databases_load = Load::Loading;
        Effect::LoadDatabases
    }

    fn refresh(&mut self) -> Vec<Effect> {
        self.databases_load = Load::Loading;
        let mut effects = vec![Effect::LoadDatabases];
        if let Some(id) = self.open_database.clone() {
            self.stats_load = Load::Loading;
            effects.push(Effect::LoadStats { database_id: id });
        }
        effects
    }

    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, tick) = (look.theme, look.tick);
        let [left, right] =
            Layout::horizontal([Constraint::Length(28), Constraint::Min(20)]).areas(area);
        let focus = |pane: Pane| {
            if self.pane == pane {
                theme.accent
            } else {
                theme.border
            }
        };
        let db_block = Block::default()
            .borders(Borders::ALL)
            .border_style(focus(Pane::Databases))
            .title(Span::styled(
                format!(" Databases{} ", self.databases_load.badge(tick)),
                theme.accent,
            ));
        if self.databases.is_empty() {
            let text = match &self.databases_load {
                Load::Failed(e) => format!("Could not list databases: {}", visible(e)),
                Load::Loaded => {
                    "No database is monitored. Start the service with --monitor NAME=postgres://…"
                        .into()
                }
                _ => "Loading…".into(),
            };
            Paragraph::new(text)
                .style(theme.dim)
                .wrap(Wrap { trim: true })
                .block(db_block)
                .render(left, buf);
        } else {
            let items: Vec<ListItem> = self
                .databases
                .iter()
                .map(|d| ListItem::new(visible(&format!("{} · {}", d.id, d.name)).into_owned()))
                .collect();
            let mut state = ListState::default().with_selected(Some(self.db_cursor.index));
            StatefulWidget::render(
                List::new(items)
                    .block(db_block)
                    .highlight_style(theme.selected),
                left,
                buf,
                &mut state,
            );
        }
        let title = match &self.open_database {
            Some(id) => format!(
                " Statements of database {id}: {}{} ",
                self.stats.len(),
                self.stats_load.badge(tick)
            ),
            None => " Statements ".into(),
        };
        let inner = framed(title, focus(Pane::Statements), theme, right, buf);
        if self.stats.is_empty() {
            let text = match (&self.open_database, &self.stats_load) {
                (_, Load::Failed(e)) => format!("Could not load statistics: {e}"),
                (None, _) => format!(
                    "Pick a database and press {}.",
                    look.keymap.key_for(Context::Stats, Command::Open)
                ),
                (Some(_), Load::Loaded) => {
                    "No statements recorded yet (pg_stat_statements is empty).".into()
                }
                _ => "Loading…".into(),
            };
            return message(text, theme, inner, buf);
        }
        let (offset, window) = self
            .cursor
            .window(&self.stats, inner.height.saturating_sub(1) as usize);
        let rows = window.iter().map(|s| {
            // Query text and table names are whatever the monitored database's users wrote.
            vec![
                format!("{:5.1}%", s.pct_of_total),
                s.total_calls.to_string(),
                format!("{:.2}", s.avg_time),
                s.buffer_hit_ratio
                    .map_or("—".into(), |r| format!("{r:.1}%")),
                visible(&s.statement_types.join(",")).into_owned(),
                visible(&s.table_names.join(",")).into_owned(),
                visible(&s.truncated_query).into_owned(),
            ]
            .into_iter()
            .map(Span::raw)
            .collect()
        });
        // The query and its share of the time are the point; counts and ratios explain them.
        let columns = [
            Column::new("% total", Width::Fixed(7), 8),
            Column::new("Calls", Width::Fixed(9), 5),
            Column::new("Avg ms", Width::Fixed(8), 7),
            Column::new("Hit", Width::Fixed(6), 3),
            Column::new("Type", Width::Fixed(8), 4),
            Column::new("Tables", Width::Fill { min: 12, weight: 1 }, 6),
            Column::new("Query", Width::Fill { min: 20, weight: 3 }, 9),
        ];
        let selected = (self.pane == Pane::Statements).then_some(self.cursor.index - offset);
        table(&columns, rows, selected, theme, inner, buf);
    }
}
