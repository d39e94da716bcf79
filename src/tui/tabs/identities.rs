//! The Identities tab: identities with their global roles and project memberships.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::columns::{Column, Width, table};
use super::search::Search;
use super::view::{Shared, TabView, move_cursor};
use super::{Cursor, Paging, Tab, framed, message};
use crate::api::ops::list_keys::ApiKeyState;
use crate::api::ops::{Identity, Key};
use crate::api::{ApiError, IdentityQuery, KeyQuery, KeySort, KeySortField, MembershipSpec, Page};
use crate::cli::output::membership_label;
use crate::text::visible;
use crate::tui::action::{Effect, Reply};
use crate::tui::forms::membership::MembershipEditor;
use crate::tui::forms::roles::RolesEditor;
use crate::tui::keymap::{Command, Context};
use crate::tui::overlay::{Look, Overlay};
use crate::tui::widgets::messages::Note;
use crate::tui::widgets::{Load, fit};

/// Rows fetched per request.
pub const PAGE_SIZE: i64 = 200;

#[derive(Debug, Default)]
pub struct IdentitiesTab {
    rows: Vec<Identity>,
    /// Indices into `rows` after the filter: what the table shows.
    view: Vec<usize>,
    pub cursor: Cursor,
    pub search: Search,
    pub paging: Paging,
    pub detail_open: bool,
    /// The keys the selected identity created, for its details.
    created: Created,
}

/// The keys one identity created (at any depth), as far as the first page reaches.
#[derive(Debug, Default)]
struct Created {
    identity_id: String,
    load: Load,
    keys: Vec<Key>,
    total: i64,
}

/// Keys listed in an identity's details at most; the count says how many there are.
const CREATED_SHOWN: i64 = 50;

/// What the details ask for: the keys `identity_id` created, personal or org-wide, at any
/// depth, disabled and expired ones too, newest first.
pub fn created_keys_query(identity_id: &str) -> KeyQuery {
    KeyQuery {
        all: true,
        created_by: Some(identity_id.to_owned()),
        created_by_deep: true,
        sort: KeySort {
            field: KeySortField::Created,
            descending: true,
        },
        first: CREATED_SHOWN,
        ..KeyQuery::default()
    }
}

impl IdentitiesTab {
    /// The keys the selected identity created, when its details are open and they are not
    /// loaded (or loading) already.
    fn load_created(&mut self) -> Vec<Effect> {
        let Some(id) = self
            .selected()
            .map(|i| i.id.clone())
            .filter(|_| self.detail_open)
        else {
            return Vec::new();
        };
        if self.created.identity_id == id && self.created.load != Load::Idle {
            return Vec::new();
        }
        self.created = Created {
            identity_id: id.clone(),
            load: Load::Loading,
            ..Created::default()
        };
        vec![Effect::LoadCreatedKeys { identity_id: id }]
    }

    /// The keys an identity created arrived; an answer for another identity than the one
    /// selected now is dropped.
    pub fn created_loaded(&mut self, identity_id: &str, result: Result<Page<Key>, ApiError>) {
        if self.created.identity_id != identity_id {
            return;
        }
        match result {
            Ok(page) => {
                self.created.keys = page.items;
                self.created.total = page.total;
                self.created.load = Load::Loaded;
            }
            Err(e) => self.created.load = Load::Failed(e.to_string()),
        }
    }

    /// Replaces (or extends, when `append`) the loaded rows.
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
        self.recompute();
    }

    /// Re-applies the filter: the test the service applies to `search` (description or id).
    pub fn recompute(&mut self) {
        let needle = self.search.needle();
        self.view = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                needle.is_empty()
                    || i.description.to_lowercase().contains(&needle)
                    || i.id.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
        self.cursor.clamp(self.view.len());
    }

    pub fn len(&self) -> usize {
        self.view.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.is_empty()
    }

    pub fn selected(&self) -> Option<&Identity> {
        self.view.get(self.cursor.index).map(|&i| &self.rows[i])
    }

    /// Whether the cursor is near the end of what is loaded and more pages exist.
    pub fn wants_more(&self) -> bool {
        self.paging.wants_more(&self.cursor, self.view.len())
    }

    /// What to ask the service for: the page after `after`, with the filter as sent.
    pub fn query(&self, after: Option<String>) -> IdentityQuery {
        IdentityQuery {
            search: self.search.sent.clone(),
            first: PAGE_SIZE,
            after,
            ..IdentityQuery::default()
        }
    }

    /// The first page again.
    pub fn reload(&mut self) -> Effect {
        self.paging.load = Load::Loading;
        Effect::LoadIdentities {
            query: self.query(None),
            append: false,
        }
    }

    /// The next page, when the cursor is near the end of what is loaded.
    pub fn more(&mut self) -> Vec<Effect> {
        if self.wants_more() {
            self.paging.load = Load::Loading;
            vec![Effect::LoadIdentities {
                query: self.query(self.paging.next_cursor.clone()),
                append: true,
            }]
        } else {
            Vec::new()
        }
    }

    fn membership_editor(identity: &Identity, shared: &Shared) -> Reply {
        if shared.projects.is_empty() {
            return Reply::note(Note::info(
                "there are no projects you administer",
                Some(Tab::Identities),
            ));
        }
        let current = identity
            .projects
            .iter()
            .map(|p| {
                let specs = p
                    .memberships
                    .iter()
                    .map(|m| MembershipSpec {
                        role: m.role.clone(),
                        variables: m
                            .variables
                            .iter()
                            .map(|v| (v.name.clone(), v.values.clone()))
                            .collect(),
                    })
                    .collect();
                (p.project.slug.clone(), specs)
            })
            .collect();
        let editor = MembershipEditor::new(
            identity.id.clone(),
            identity.description.clone(),
            shared.projects.to_vec(),
            current,
            shared.me,
        );
        if !editor.has_projects() {
            return Reply::note(Note::info(
                "there are no projects you administer",
                Some(Tab::Identities),
            ));
        }
        Reply::open(Overlay::Membership(Box::new(editor)))
    }
}

impl TabView for IdentitiesTab {
    fn context(&self) -> Context {
        Context::Identities
    }

    fn on_command(&mut self, command: Command, shared: &Shared) -> Reply {
        let len = self.len();
        if move_cursor(&mut self.cursor, command, len) {
            let mut effects = self.more();
            effects.extend(self.load_created());
            return Reply::effects(effects);
        }
        match command {
            Command::Filter => return self.start_filter(),
            Command::Open => {
                self.detail_open = !self.detail_open;
                return Reply::effects(self.load_created());
            }
            Command::Back if self.detail_open => {
                self.detail_open = false;
                return Reply::default();
            }
            Command::Back => return self.clear_filter(),
            _ => {}
        }
        let Some(identity) = self.selected() else {
            return Reply::default();
        };
        match command {
            Command::EditRoles => Reply::open(Overlay::Roles(RolesEditor::new(
                identity.id.clone(),
                identity.description.clone(),
                shared.catalog.to_vec(),
                &identity.roles,
            ))),
            Command::EditMembership => Self::membership_editor(identity, shared),
            Command::CopyId => Reply {
                effects: vec![Effect::Copy(identity.id.clone())],
                copying: Some(format!("the id of “{}”", visible(&identity.description))),
                ..Reply::default()
            },
            _ => Reply::default(),
        }
    }

    fn search(&self) -> Option<&Search> {
        Some(&self.search)
    }

    fn search_mut(&mut self) -> Option<&mut Search> {
        Some(&mut self.search)
    }

    fn narrow(&mut self) {
        self.recompute();
    }

    fn reload_rows(&mut self) -> Effect {
        self.reload()
    }

    fn load(&self) -> &Load {
        &self.paging.load
    }

    /// The details give way first: beside the table when the terminal is wide, below it
    /// otherwise, left out when no line would fit.
    fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let Some(identity) = self.selected().filter(|_| self.detail_open) else {
            return self.render_table(area, buf, look);
        };
        let (table_area, detail_area) = if area.width >= DETAIL_BESIDE {
            let [t, d] =
                Layout::horizontal([Constraint::Fill(1), Constraint::Length(DETAIL_WIDTH)])
                    .areas(area);
            (t, d)
        } else if area.height >= 12 {
            let [t, d] = Layout::vertical([Constraint::Fill(1), Constraint::Fill(1)]).areas(area);
            (t, d)
        } else {
            return self.render_table(area, buf, look);
        };
        self.render_table(table_area, buf, look);
        let lines = self.details(identity, look);
        let inner = framed(
            " Details ".into(),
            look.theme.border,
            look.theme,
            detail_area,
            buf,
        );
        let width = inner.width.into();
        let lines = fit::wrap_all(&lines, width);
        Paragraph::new(fit::clip(lines, inner.height.into(), look.theme.dim)).render(inner, buf);
    }
}

/// Cells the details pane takes beside the table, and the width from which it goes there.
const DETAIL_WIDTH: u16 = 56;
const DETAIL_BESIDE: u16 = 130;

impl IdentitiesTab {
    /// The details of `identity`: who it is, what it holds, and the keys it created.
    fn details(&self, identity: &Identity, look: &Look) -> Vec<Line<'static>> {
        let theme = look.theme;
        let field = |name: &str, value: String| {
            Line::from(vec![
                Span::styled(format!("{name:<12}"), theme.dim),
                Span::raw(visible(&value).into_owned()),
            ])
        };
        let mut lines = vec![
            field("Description", identity.description.clone()),
            field("Id", identity.id.clone()),
            field(
                "Roles",
                if identity.roles.is_empty() {
                    "—".into()
                } else {
                    identity.roles.join(", ")
                },
            ),
        ];
        for membership in memberships(identity) {
            lines.push(field("Member", membership));
        }
        let created = &self.created;
        let heading = match &created.load {
            Load::Loaded => format!("Keys it created ({})", created.total),
            Load::Failed(e) => format!("Keys it created: could not load: {e}"),
            Load::Idle | Load::Loading => "Keys it created: loading…".into(),
        };
        lines.push(Line::default());
        lines.push(Line::from(Span::styled(
            visible(&heading).into_owned(),
            theme.accent,
        )));
        if created.load == Load::Loaded && created.keys.is_empty() {
            lines.push(Line::from(Span::styled("none", theme.dim)));
        }
        for key in &created.keys {
            let state = super::keys::state_label(&key.state);
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "{} ",
                    visible(key.token_prefix.as_deref().unwrap_or("(hash)"))
                )),
                Span::styled(
                    format!("{state:<8} "),
                    if key.state == ApiKeyState::ENABLED {
                        theme.ok
                    } else {
                        theme.dim
                    },
                ),
                Span::raw(visible(&key.description).into_owned()),
            ]));
        }
        if created.total > created.keys.len() as i64 {
            lines.push(Line::from(Span::styled(
                format!(
                    "… and {} more (keydeck keys list --created-by {})",
                    created.total - created.keys.len() as i64,
                    identity.id
                ),
                theme.dim,
            )));
        }
        lines
    }

    fn render_table(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let more = if self.paging.has_next { "+" } else { "" };
        let mut title = format!(
            " Identities: {} of {}{more} ",
            self.view.len(),
            self.paging.total,
        );
        if self.search.active() {
            title.push_str(
                &self
                    .search
                    .describe("descriptions and ids", self.paging.load.is_loading()),
            );
        }
        title.push_str(&self.paging.load.badge(look.tick));
        let inner = framed(title, theme.border, theme, area, buf);
        if self.view.is_empty() {
            let text = match &self.paging.load {
                Load::Failed(e) => format!("Could not load identities: {e}"),
                Load::Loaded if self.search.active() => format!(
                    "No identity’s description or id contains “{}”{} ({} clears the filter).",
                    self.search.input.as_str().trim(),
                    if self.search.changed() {
                        " among the loaded ones; the service is asked when you pause"
                    } else {
                        ", on the service"
                    },
                    look.keymap.key_for(Context::Identities, Command::Back)
                ),
                Load::Loaded => "No identities.".into(),
                _ => "Loading identities…".into(),
            };
            return message(text, theme, inner, buf);
        }
        let (offset, visible) = self
            .cursor
            .window(&self.view, inner.height.saturating_sub(1) as usize);
        let rows = visible.iter().map(|&i| identity_cells(&self.rows[i]));
        let fill = |min, weight| Width::Fill { min, weight };
        // Who it is first; the short id and the key's state tell identities apart when
        // descriptions repeat.
        let columns = [
            Column::new("Description", fill(14, 3), 9),
            Column::new("Id", Width::Fixed(8), 6),
            Column::new("Global roles", fill(10, 2), 4),
            Column::new("Project memberships", fill(12, 3), 3),
            Column::new("Key", Width::Fixed(8), 5),
        ];
        table(
            &columns,
            rows,
            Some(self.cursor.index - offset),
            theme,
            inner,
            buf,
        );
    }
}

/// Each membership as `slug:role(var=v,…)`, as the Keys tab and `members list` write it.
fn memberships(i: &Identity) -> Vec<String> {
    i.projects
        .iter()
        .flat_map(|p| {
            p.memberships.iter().map(move |m| {
                let label = membership_label(
                    &m.role,
                    m.variables
                        .iter()
                        .map(|v| (v.name.as_str(), v.values.as_slice())),
                );
                format!("{}:{label}", p.project.slug)
            })
        })
        .collect()
}

/// One table row, a span per column.
fn identity_cells(i: &Identity) -> Vec<Span<'static>> {
    let memberships = memberships(i);
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
    [
        i.description.clone(),
        i.id.chars().take(8).collect(),
        or_dash(i.roles.clone()),
        or_dash(memberships),
        key_state,
    ]
    .map(|cell| Span::raw(visible(&cell).into_owned()))
    .into()
}
