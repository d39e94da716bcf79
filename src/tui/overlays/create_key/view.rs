//! Drawing the new-key form: its fields as labelled, wrapped lines (the picker's in place of
//! the scope while it is open), scrolled so that the focused field is in view, in a frame as
//! tall as they are.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use time::OffsetDateTime;

use super::{CreateKeyForm, Field, Permissions};
use crate::text::visible;
use crate::tui::modal::Look;
use crate::tui::overlays::form::{choices, labelled, text_value, variables_hint};
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::wrap;
use crate::tui::widgets::time::absolute;
use crate::tui::widgets::{centered, popup};

impl CreateKeyForm {
    /// The form's fields as lines `width` cells wide, each with the field it belongs to.
    fn field_lines(
        &self,
        width: usize,
        theme: &Theme,
        now: OffsetDateTime,
    ) -> Vec<(Field, Line<'static>)> {
        let f = |field: Field| self.focus == field;
        let mut out = Vec::new();
        let field = |field: Field, label: &str, value: Vec<Span<'static>>| {
            let lines = labelled(label, value, f(field), self.error(field), width, theme);
            lines.into_iter().map(move |l| (field, l))
        };
        out.extend(field(
            Field::Name,
            "Name",
            text_value(
                self.name.as_str(),
                f(Field::Name),
                "what is this key for?",
                theme,
            ),
        ));
        match &self.picker {
            Some(picker) => {
                let lines = picker.lines(
                    "Scope",
                    Some(self.scope),
                    |scope| self.scope_name(scope),
                    self.projects.len(),
                    (self.error(Field::Scope), width),
                    theme,
                );
                out.extend(lines.into_iter().map(|l| (Field::Scope, l)));
            }
            None => out.extend(field(
                Field::Scope,
                "Scope",
                self.scope_value(f(Field::Scope), theme),
            )),
        }
        match self.project() {
            None => out.extend(field(
                Field::Grants,
                "Roles",
                choices(
                    &self.catalog,
                    &self.roles_on,
                    f(Field::Grants).then_some(self.grant_cursor),
                    theme,
                ),
            )),
            Some(_) => {
                let offered = self.offered_roles();
                let names: Vec<String> = offered.iter().map(|r| r.name.clone()).collect();
                let on: Vec<bool> = (0..names.len())
                    .map(|i| Some(i) == self.project_role)
                    .collect();
                let value = if names.is_empty() {
                    vec![Span::styled("(no role you may grant here)", theme.dim)]
                } else {
                    choices(
                        &names,
                        &on,
                        self.project_role.filter(|_| f(Field::Grants)),
                        theme,
                    )
                };
                let hint = variables_hint(self.project_role.and_then(|r| offered.get(r).copied()));
                out.extend(field(Field::Grants, "Role", value));
                out.extend(field(
                    Field::Variables,
                    "Variables",
                    text_value(self.variables.as_str(), f(Field::Variables), &hint, theme),
                ));
            }
        }
        let perm_names = [
            Permissions::Read,
            Permissions::Write,
            Permissions::ReadWrite,
        ];
        out.extend(field(
            Field::Permissions,
            "Permissions",
            choices(
                &perm_names.map(|p| p.label().to_owned()),
                &perm_names.map(|p| p == self.permissions),
                None,
                theme,
            ),
        ));
        out.extend(field(
            Field::Visibility,
            "Visibility",
            choices(
                &["Personal".into(), "Org-wide".into()],
                &[self.personal, !self.personal],
                None,
                theme,
            ),
        ));
        let mut ttl_spans = text_value(self.ttl.as_str(), f(Field::Ttl), "30d", theme);
        match self.typed_ttl() {
            Ok(ttl) => ttl_spans.push(Span::styled(
                format!(
                    "   → expires {}",
                    absolute(now + time::Duration::seconds(ttl.seconds()))
                ),
                theme.dim,
            )),
            Err(e) if self.error(Field::Ttl).is_none() => {
                ttl_spans.push(Span::styled(format!("   {}", visible(&e)), theme.warn))
            }
            Err(_) => {}
        }
        out.extend(field(Field::Ttl, "TTL", ttl_spans));
        out.extend(field(
            Field::TokenSource,
            "Token",
            choices(
                &[
                    "generated by the service".into(),
                    "generated here, only its hash is sent".into(),
                ],
                &[!self.local_token, self.local_token],
                None,
                theme,
            ),
        ));
        out
    }

    fn scope_name(&self, scope: usize) -> String {
        match scope.checked_sub(1).and_then(|i| self.projects.get(i)) {
            None => "global".into(),
            Some(p) => format!("project {} · {}", p.slug, p.name),
        }
    }

    fn scope_value(&self, focused: bool, theme: &Theme) -> Vec<Span<'static>> {
        let mut value = vec![Span::raw(
            visible(&self.scope_name(self.scope)).into_owned(),
        )];
        if focused && !self.projects.is_empty() {
            value.push(Span::raw("  "));
            value.push(Span::styled(
                format!(
                    "space or type to search {} project{}",
                    self.projects.len(),
                    if self.projects.len() == 1 { "" } else { "s" }
                ),
                theme.dim,
            ));
        }
        value
    }

    /// Draws the form centred in `area`, as tall as its fields when they fit; otherwise the
    /// fields scroll so that the focused one is in view, and the footer stays put.
    pub fn render(&self, area: Rect, buf: &mut Buffer, look: &Look) {
        let (theme, now) = (look.theme, look.now);
        const MAX_WIDTH: u16 = 96;
        let outer_width = MAX_WIDTH.min(area.width);
        let inner = (outer_width as usize).saturating_sub(2).max(1);
        let fields = self.field_lines(inner, theme, now);
        let mut footer = vec![Line::default()];
        if let Some(e) = &self.form_error {
            footer.extend(wrap(
                &Line::from(Span::styled(format!("✗ {}", visible(e)), theme.error)),
                inner,
            ));
        }
        let status = match self.submitting {
            true => "Creating…",
            false => look.hints.as_str(),
        };
        footer.extend(wrap(&Line::from(Span::styled(status, theme.dim)), inner));
        let height = (fields.len() + footer.len() + 2).min(area.height as usize);
        let room = height.saturating_sub(footer.len() + 2);
        let offset = scroll_offset(&fields, self.focus, room);
        let below = fields.len().saturating_sub(offset + room);
        let mut title = " New API key ".to_owned();
        match (offset > 0, below > 0) {
            (true, true) => title.push_str("· ↑↓ more "),
            (true, false) => title.push_str("· ↑ more "),
            (false, true) => title.push_str("· ↓ more "),
            (false, false) => {}
        }
        let mut lines: Vec<Line<'static>> = fields
            .into_iter()
            .skip(offset)
            .take(room)
            .map(|(_, l)| l)
            .collect();
        lines.extend(footer);
        let area = centered(area, outer_width, height as u16);
        popup(
            lines,
            Span::styled(title, theme.accent),
            theme.accent,
            area,
            buf,
        );
    }
}

/// The first field line to show in `room` lines so that all of `focus`'s lines are in view
/// (its first ones, if it is taller than `room`), scrolling no further than needed.
pub(super) fn scroll_offset(fields: &[(Field, Line<'_>)], focus: Field, room: usize) -> usize {
    let first = fields.iter().position(|(f, _)| *f == focus).unwrap_or(0);
    let last = fields
        .iter()
        .rposition(|(f, _)| *f == focus)
        .unwrap_or(first);
    (last + 1).saturating_sub(room).min(first)
}
