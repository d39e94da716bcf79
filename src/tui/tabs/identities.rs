//! The Identities tab: identities with their global roles and project memberships.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::audit::History;
use super::columns::{Column, Width, table};
use super::follow::Follow;
use super::paged::{PagedList, Row, Want};
use super::search::Search;
use super::view::{Shared, TabView, move_cursor};
use super::{Tab, framed, message};
use crate::api::ops::list_keys::ApiKeyState;
use crate::api::ops::{Identity, Key};
use crate::api::wording::membership_label;
use crate::api::{
    ApiError, IdentityQuery, IdentitySort, IdentitySortField, KeyQuery, KeySort, KeySortField,
    MembershipSpec, Page,
};
use crate::text::visible;
use crate::tui::action::{About, Effect};
use crate::tui::keymap::{Command, Context};
use crate::tui::modal::Look;
use crate::tui::overlays::Overlay;
use crate::tui::overlays::membership::MembershipEditor;
use crate::tui::overlays::roles::RolesEditor;
use crate::tui::tabs::view::Reply;
use crate::tui::widgets::messages::Note;
use crate::tui::widgets::time::relative;
use crate::tui::widgets::{Load, fit};

/// Rows fetched per request.
pub const PAGE_SIZE: i64 = 200;

#[derive(Debug, Default)]
pub struct IdentitiesTab {
    /// The identities around the cursor, in the service's order.
    pub list: PagedList<Identity>,
    pub search: Search,
    /// The order the service reads them in (`s`), and which way (`S`).
    pub sort: IdentitySortField,
    pub descending: bool,
    pub detail_open: bool,
    /// The keys the selected identity created, for its details.
    created: Created,
    /// What the selected identity did, for its details.
    pub history: History,
    /// The details follow the cursor at most once a tick.
    follow: Follow,
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

impl Row for Identity {
    fn id(&self) -> &str {
        &self.id
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
        let history = self.history.want(About::Actor(id.clone()));
        if self.created.identity_id == id && self.created.load != Load::Idle {
            return history.into_iter().collect();
        }
        self.created = Created {
            identity_id: id.clone(),
            load: Load::Loading,
            ..Created::default()
        };
        let mut effects = vec![Effect::LoadCreatedKeys { identity_id: id }];
        effects.extend(history);
        effects
    }

    /// The cursor moved: the new identity's created keys and doings, now or at the next
    /// tick.
    fn follow_cursor(&mut self) -> Vec<Effect> {
        if !self.detail_open {
            return Vec::new();
        }
        if self.follow.moved() {
            self.load_created()
        } else {
            self.created = Created::default();
            self.history.forget();
            Vec::new()
        }
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

    /// Takes a page the service sent, and asks for the next one when the cursor is already
    /// near its end.
    pub fn on_page(&mut self, page: Page<Identity>, append: bool) -> Vec<Effect> {
        let filter = self.filter();
        self.list.apply(page, append, filter);
        let mut effects = self.more();
        // The details follow the selection, wherever the page put it.
        effects.extend(self.load_created());
        effects
    }

    /// A page failed: said in the title; the effect that asks for it again.
    pub fn on_failure(&mut self, why: String) -> Effect {
        let want = self.list.failed(why);
        self.effect(want)
    }

    /// The effect that reads `want` in the tab's filter and order. (Identities are not
    /// located by id: nothing creates one from this tab; the first page stands in.)
    fn effect(&self, want: Want) -> Effect {
        let append = want.appends();
        let base = self.query(None);
        Effect::LoadIdentities {
            query: want.query(base.clone(), PAGE_SIZE).unwrap_or(base),
            append,
        }
    }

    fn effects(&self, wants: impl IntoIterator<Item = Want>) -> Vec<Effect> {
        wants.into_iter().map(|w| self.effect(w)).collect()
    }

    /// The rows the filter keeps: the test the service applies to `search` (description or
    /// id), so what narrows here at once is what the service answers after the pause.
    fn filter(&self) -> impl Fn(&Identity) -> bool + use<> {
        let needle = self.search.needle();
        move |i: &Identity| {
            needle.is_empty()
                || i.description.to_lowercase().contains(&needle)
                || i.id.to_lowercase().contains(&needle)
        }
    }

    /// Re-applies the filter to the loaded rows.
    pub fn recompute(&mut self) {
        let filter = self.filter();
        self.list.refilter(filter);
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn selected(&self) -> Option<&Identity> {
        self.list.selected()
    }

    /// What to ask the service for: the page after `after`, in the tab's filter and order.
    pub fn query(&self, after: Option<String>) -> IdentityQuery {
        IdentityQuery {
            search: self.search.sent.clone(),
            sort: IdentitySort {
                field: self.sort,
                descending: self.descending,
            },
            first: PAGE_SIZE,
            after,
            ..IdentityQuery::default()
        }
    }

    /// The identity `id` alone (searched by its id), selected with its details open.
    pub fn show(&mut self, id: String) -> Effect {
        self.search.input = crate::tui::widgets::text_input::TextInput::new(&id);
        self.search.send();
        self.detail_open = true;
        self.list.select_id = Some(id);
        self.reload()
    }

    /// The first page again.
    pub fn reload(&mut self) -> Effect {
        let want = self.list.first();
        self.effect(want)
    }

    /// The next page, when the cursor is near the end of what is loaded.
    pub fn more(&mut self) -> Vec<Effect> {
        let want = self.list.following();
        self.effects(want)
    }

    /// `▲` or `▼`, the way the order goes.
    fn arrow(&self) -> &'static str {
        if self.descending { "▼" } else { "▲" }
    }

    /// The order in words, for the title.
    fn sort_label(&self) -> &'static str {
        match self.sort {
            IdentitySortField::Created => "created",
            IdentitySortField::Name => "description",
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
        let wants = match command {
            Command::Last => Some(self.list.tail().into_iter().collect()),
            Command::First => Some(self.list.head().into_iter().collect()),
            _ if move_cursor(&mut self.list.cursor, command, len) => Some(self.list.around()),
            _ => None,
        };
        if let Some(wants) = wants {
            let mut effects = self.effects(wants);
            effects.extend(self.follow_cursor());
            return Reply::effects(effects);
        }
        match command {
            Command::Filter => return self.start_filter(),
            Command::Sort | Command::ReverseSort => {
                if command == Command::Sort {
                    self.sort = match self.sort {
                        IdentitySortField::Created => IdentitySortField::Name,
                        IdentitySortField::Name => IdentitySortField::Created,
                    };
                } else {
                    self.descending = !self.descending;
                }
                self.list.cursor.index = 0;
                return Reply::effects(vec![self.reload()]);
            }
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

    fn offers(&self, command: Command) -> bool {
        command != Command::Back || self.detail_open || self.search.active()
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

    fn owed_details(&mut self) -> Vec<Effect> {
        if self.follow.tick() {
            self.load_created()
        } else {
            Vec::new()
        }
    }

    fn load(&self) -> &Load {
        &self.list.load
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
            let live = super::keys::live_state(key, look.now);
            let state = crate::api::wording::state_label(&live);
            lines.push(Line::from(vec![
                Span::raw(format!(
                    "{} ",
                    visible(key.token_prefix.as_deref().unwrap_or("(hash)"))
                )),
                Span::styled(
                    format!("{state:<8} "),
                    if live == ApiKeyState::ENABLED {
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
        lines.push(Line::default());
        lines.extend(self.history.lines("What it did", look));
        lines
    }

    fn render_table(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let theme = look.theme;
        let mut title = format!(
            " Identities: {} · sort: {} {} ",
            self.list.extent(),
            self.sort_label(),
            self.arrow()
        );
        if self.search.active() {
            title.push_str(&self.search.describe(
                "descriptions and ids containing",
                self.list.load.is_loading(),
            ));
        }
        title.push_str(&self.list.load.badge(look.tick));
        let inner = framed(title, theme.border, theme, area, buf);
        if self.list.is_empty() {
            let text = match &self.list.load {
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
        let (visible, at) = self.list.visible(inner.height.saturating_sub(1) as usize);
        let rows = visible.map(|i| identity_cells(i, look.now));
        let fill = |min, weight| Width::Fill { min, weight };
        // Who it is first; the short id and the key's state tell identities apart when
        // descriptions repeat.
        // The columns the service can order by say so; the one in use, which way.
        let sortable = |title: &str, field| {
            if self.sort == field {
                format!("{title} {}", self.arrow())
            } else {
                format!("{title} ·")
            }
        };
        let columns = [
            Column::new(
                sortable("Description", IdentitySortField::Name),
                fill(14, 3),
                9,
            ),
            Column::new("Id", Width::Fixed(8), 6),
            Column::new("Global roles", fill(10, 2), 4),
            Column::new("Project memberships", fill(12, 3), 3),
            Column::new("Key", Width::Fixed(8), 5),
            Column::new(
                sortable("Created", IdentitySortField::Created),
                Width::Fixed(9),
                2,
            ),
        ];
        table(&columns, rows, Some(at), theme, inner, buf);
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
fn identity_cells(i: &Identity, now: time::OffsetDateTime) -> Vec<Span<'static>> {
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
        relative(&i.created_at, now),
    ]
    .map(|cell| Span::raw(visible(&cell).into_owned()))
    .into()
}
