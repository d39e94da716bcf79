//! The Keys tab: every key the caller can see, with filter, sort, details and paging.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Widget, Wrap};
use time::OffsetDateTime;

use super::{Cursor, Paging, framed, message, table};
use crate::api::ops::Key;
use crate::api::ops::list_keys::{ApiKeyState, ApiKeyType, Permission, Visibility};
use crate::text::visible;
use crate::tui::theme::Theme;
use crate::tui::widgets::Load;
use crate::tui::widgets::text_input::TextInput;
use crate::tui::widgets::time::{SOON_SECS, relative, seconds_until};

/// Rows fetched per request.
pub const PAGE_SIZE: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Created,
    Name,
    Expires,
    LastUsed,
}

impl SortBy {
    fn next(self) -> SortBy {
        match self {
            SortBy::Created => SortBy::Name,
            SortBy::Name => SortBy::Expires,
            SortBy::Expires => SortBy::LastUsed,
            SortBy::LastUsed => SortBy::Created,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortBy::Created => "created",
            SortBy::Name => "name",
            SortBy::Expires => "expires",
            SortBy::LastUsed => "last used",
        }
    }
}

#[derive(Debug, Default)]
pub struct KeysTab {
    rows: Vec<Key>,
    /// Indices into `rows` after filter and sort: what the table shows.
    view: Vec<usize>,
    pub cursor: Cursor,
    pub filter: TextInput,
    pub filtering: bool,
    pub sort: SortBy,
    /// Show disabled and expired keys too.
    pub show_inactive: bool,
    pub paging: Paging,
    pub detail_open: bool,
}

impl KeysTab {
    /// Replaces (or extends, when `append`) the loaded rows.
    pub fn apply_page(
        &mut self,
        rows: Vec<Key>,
        append: bool,
        has_next: bool,
        next: Option<String>,
        total: i64,
    ) {
        let selected_id = self.selected().map(|k| k.id.clone());
        if append {
            self.rows.extend(rows);
        } else {
            self.rows = rows;
        }
        self.paging.loaded(has_next, next, total);
        self.recompute();
        if let Some(id) = selected_id
            && let Some(pos) = self.view.iter().position(|&i| self.rows[i].id == id)
        {
            self.cursor.index = pos;
        }
        self.cursor.clamp(self.view.len());
    }

    /// Re-applies filter and sort; O(n log n), run only when they or the rows change.
    pub fn recompute(&mut self) {
        let needle = self.filter.as_str().to_lowercase();
        let mut view: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                needle.is_empty()
                    || k.description.to_lowercase().contains(&needle)
                    || k.token_prefix
                        .as_deref()
                        .is_some_and(|p| p.to_lowercase().contains(&needle))
                    || k.project.as_ref().is_some_and(|p| p.slug.contains(&needle))
                    || k.identity
                        .as_ref()
                        .is_some_and(|i| i.roles.iter().any(|r| r.contains(&needle)))
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.rows;
        match self.sort {
            SortBy::Created => {}
            SortBy::Name => view.sort_by_key(|&i| rows[i].description.to_lowercase()),
            // RFC 3339 UTC strings sort chronologically; "never" sorts last.
            SortBy::Expires => {
                view.sort_by(|&a, &b| cmp_optional(&rows[a].expires_at, &rows[b].expires_at))
            }
            // Most recently used first; never-used keys last.
            SortBy::LastUsed => {
                view.sort_by(
                    |&a, &b| match (&rows[a].last_used_at, &rows[b].last_used_at) {
                        (Some(x), Some(y)) => y.cmp(x),
                        (x, y) => y.is_none().cmp(&x.is_none()).reverse(),
                    },
                )
            }
        }
        self.view = view;
        self.cursor.clamp(self.view.len());
    }

    pub fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
        self.recompute();
    }

    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    /// How many enabled personal keys among those loaded `identity_id` created.
    pub fn created_personal(&self, identity_id: &str) -> usize {
        self.rows
            .iter()
            .filter(|k| {
                k.enabled
                    && k.visibility == Visibility::PERSONAL
                    && k.owner.as_ref().is_some_and(|o| o.id == identity_id)
            })
            .count()
    }

    pub fn selected(&self) -> Option<&Key> {
        self.view.get(self.cursor.index).map(|&i| &self.rows[i])
    }

    /// Whether the cursor is near the end of what is loaded and more pages exist.
    pub fn wants_more(&self) -> bool {
        self.paging.wants_more(&self.cursor, self.view.len())
    }

    pub fn loaded(&self) -> usize {
        self.rows.len()
    }

    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        now: OffsetDateTime,
        tick: u64,
    ) {
        let (table_area, detail_area) = if self.detail_open && area.width >= 90 {
            let [t, d] =
                Layout::horizontal([Constraint::Min(40), Constraint::Length(56)]).areas(area);
            (t, Some(d))
        } else if self.detail_open {
            let [t, d] = Layout::vertical([Constraint::Min(5), Constraint::Length(12)]).areas(area);
            (t, Some(d))
        } else {
            (area, None)
        };
        self.render_table(table_area, buf, theme, now, tick);
        if let (Some(area), Some(key)) = (detail_area, self.selected()) {
            render_detail(key, area, buf, theme, now);
        }
    }

    fn render_table(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        now: OffsetDateTime,
        tick: u64,
    ) {
        let shown = if self.show_inactive {
            "all keys"
        } else {
            "enabled keys"
        };
        let more = if self.paging.has_next { "+" } else { "" };
        let mut title = format!(
            " Keys: {} of {}{more} {shown} · sort: {} ",
            self.view.len(),
            self.paging.total,
            self.sort.label()
        );
        if self.filtering || !self.filter.as_str().is_empty() {
            let caret = if self.filtering { "▏" } else { "" };
            title.push_str(&format!("· filter: {}{caret} ", self.filter.as_str()));
        }
        title.push_str(&self.paging.load.badge(tick));
        let inner = framed(title, theme.border, theme, area, buf);
        if self.view.is_empty() {
            let text = match &self.paging.load {
                Load::Failed(e) => format!("Could not load keys: {e}"),
                Load::Loading | Load::Idle => "Loading keys…".to_owned(),
                Load::Loaded if !self.filter.as_str().is_empty() => {
                    "No key matches the filter (esc clears it).".to_owned()
                }
                Load::Loaded => "No keys yet. Press n to create one.".to_owned(),
            };
            return message(text, theme, inner, buf);
        }
        // Only the visible rows are built: drawing costs O(height), not O(keys).
        let (offset, visible) = self
            .cursor
            .window(&self.view, inner.height.saturating_sub(1) as usize);
        let compact = inner.width < 110;
        let rows = visible
            .iter()
            .map(|&i| key_row(&self.rows[i], theme, now, compact));
        let (header, widths): (Vec<&str>, Vec<Constraint>) = if compact {
            (
                vec!["Name", "Scope", "Perm.", "State", "Expires"],
                vec![
                    Constraint::Fill(1),
                    Constraint::Length(10),
                    Constraint::Length(5),
                    Constraint::Length(8),
                    Constraint::Length(9),
                ],
            )
        } else {
            (
                vec![
                    "Name",
                    "Prefix",
                    "Scope",
                    "Vis.",
                    "Perm.",
                    "Roles / memberships",
                    "State",
                    "Created",
                    "Expires",
                    "Last used",
                ],
                vec![
                    Constraint::Fill(3),
                    Constraint::Length(10),
                    Constraint::Length(10),
                    Constraint::Length(5),
                    Constraint::Length(5),
                    Constraint::Fill(2),
                    Constraint::Length(8),
                    Constraint::Length(8),
                    Constraint::Length(9),
                    Constraint::Length(9),
                ],
            )
        };
        table(
            rows,
            Row::new(header),
            widths,
            Some(self.cursor.index - offset),
            theme,
            inner,
            buf,
        );
    }
}

fn cmp_optional(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

pub fn state_label(state: &ApiKeyState) -> &'static str {
    match state {
        ApiKeyState::ENABLED => "enabled",
        ApiKeyState::DISABLED => "disabled",
        ApiKeyState::EXPIRED => "expired",
        ApiKeyState::Other(_) => "unknown",
    }
}

pub fn scope_label(key: &Key) -> String {
    match (&key.type_, &key.project) {
        (ApiKeyType::PROJECT, Some(p)) => p.slug.clone(),
        _ => "global".into(),
    }
}

pub fn visibility_label(v: &Visibility) -> &'static str {
    match v {
        Visibility::PERSONAL => "pers.",
        _ => "org",
    }
}

pub fn permissions_label(perms: &[Permission]) -> String {
    let r = perms.contains(&Permission::READ);
    let w = perms.contains(&Permission::WRITE);
    match (r, w) {
        (true, true) => "RW".into(),
        (true, false) => "R".into(),
        (false, true) => "W".into(),
        _ => "-".into(),
    }
}

/// Global roles, or `role(var=v,…)` per project membership; `hidden` when the service does
/// not show this caller the key's identity.
pub fn grants_label(key: &Key) -> String {
    let Some(identity) = &key.identity else {
        return "hidden".into();
    };
    let mut parts: Vec<String> = identity.roles.clone();
    for relation in &identity.projects {
        for m in &relation.memberships {
            let vars: Vec<String> = m
                .variables
                .iter()
                .map(|v| format!("{}={}", v.name, v.values.join(",")))
                .collect();
            if vars.is_empty() {
                parts.push(m.role.clone());
            } else {
                parts.push(format!("{}({})", m.role, vars.join(";")));
            }
        }
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join(", ")
    }
}

fn expires_cell(key: &Key, theme: &Theme, now: OffsetDateTime) -> Cell<'static> {
    match &key.expires_at {
        None => Cell::from("never"),
        Some(at) => {
            let text = relative(at, now);
            let soon = seconds_until(at, now).is_some_and(|s| s < SOON_SECS);
            if soon {
                Cell::from(Span::styled(format!("{text}!"), theme.warn))
            } else {
                Cell::from(text)
            }
        }
    }
}

/// One table row; `compact` keeps only name, scope, permissions, state and expiry.
fn key_row(key: &Key, theme: &Theme, now: OffsetDateTime, compact: bool) -> Row<'static> {
    let state_style = match key.state {
        ApiKeyState::ENABLED => theme.ok,
        _ => theme.dim,
    };
    // Names, slugs, roles and variable values come from other users: shown, never obeyed.
    let name = Cell::from(visible(&key.description).into_owned());
    let scope = Cell::from(visible(&scope_label(key)).into_owned());
    let permissions = Cell::from(permissions_label(&key.permissions));
    let state = Cell::from(Span::styled(state_label(&key.state), state_style));
    let expires = expires_cell(key, theme, now);
    if compact {
        return Row::new(vec![name, scope, permissions, state, expires]);
    }
    Row::new(vec![
        name,
        Cell::from(visible(key.token_prefix.as_deref().unwrap_or("(hash)")).into_owned()),
        scope,
        Cell::from(visibility_label(&key.visibility)),
        permissions,
        Cell::from(visible(&grants_label(key)).into_owned()),
        state,
        Cell::from(relative(&key.created_at, now)),
        expires,
        Cell::from(
            key.last_used_at
                .as_deref()
                .map_or_else(|| "never".into(), |t| relative(t, now)),
        ),
    ])
}

fn render_detail(key: &Key, area: Rect, buf: &mut Buffer, theme: &Theme, now: OffsetDateTime) {
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name:<12}"), theme.dim),
            Span::raw(visible(&value).into_owned()),
        ])
    };
    let when = |t: &Option<String>| {
        t.as_deref().map_or_else(
            || "never".to_owned(),
            |t| format!("{t} ({})", relative(t, now)),
        )
    };
    let lines = vec![
        field("Name", key.description.clone()),
        field("Id", key.id.clone()),
        field(
            "Identity",
            key.identity
                .as_ref()
                .map_or_else(|| "hidden".into(), |i| i.id.clone()),
        ),
        field(
            "Prefix",
            key.token_prefix
                .clone()
                .unwrap_or_else(|| "— (made from a tokenHash)".into()),
        ),
        field("Scope", scope_label(key)),
        field(
            "Visibility",
            if key.visibility == Visibility::PERSONAL {
                "personal".into()
            } else {
                "org-wide".into()
            },
        ),
        field("Permissions", permissions_label(&key.permissions)),
        field("Grants", grants_label(key)),
        field("State", state_label(&key.state).into()),
        field("Created", when(&Some(key.created_at.clone()))),
        field("Expires", when(&key.expires_at)),
        field("Last used", when(&key.last_used_at)),
        field("Disabled", when(&key.disabled_at)),
        field(
            "Owner",
            key.owner
                .as_ref()
                .map_or_else(|| "— (bootstrap)".into(), |o| o.description.clone()),
        ),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border)
                .title(Span::styled(" Details ", theme.accent)),
        )
        .render(area, buf);
}
