//! A key's details pane: its fields a line each, and a sparkline of its requests over the
//! span `w` steps through.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget};
use time::OffsetDateTime;

use super::{expiry, live_state};
use crate::api::UsagePoint;
use crate::api::ops::Key;
use crate::api::ops::list_keys::Visibility;
use crate::api::wording::{
    authority_label, grants_label, permissions_label, scope_label, state_label,
};
use crate::text::visible;
use crate::tui::theme::Theme;
use crate::tui::widgets::time::relative;
use crate::tui::widgets::{Load, fit};

/// How far back the details' usage sparkline reaches; `w` steps through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageSpan {
    #[default]
    Day,
    Week,
    Month,
}

impl UsageSpan {
    pub fn seconds(self) -> i64 {
        match self {
            UsageSpan::Day => 86_400,
            UsageSpan::Week => 7 * 86_400,
            UsageSpan::Month => 30 * 86_400,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsageSpan::Day => "24h",
            UsageSpan::Week => "7d",
            UsageSpan::Month => "30d",
        }
    }

    pub(super) fn next(self) -> UsageSpan {
        match self {
            UsageSpan::Day => UsageSpan::Week,
            UsageSpan::Week => UsageSpan::Month,
            UsageSpan::Month => UsageSpan::Day,
        }
    }
}

/// One key's usage series, loaded when its details are open.
#[derive(Debug, Default)]
pub(super) struct KeyUsage {
    pub key_id: String,
    pub load: Load,
    pub points: Vec<UsagePoint>,
}

/// Intervals of the details' sparkline: 48 (half hours over a day).
const USAGE_POINTS: i64 = 48;

/// What the details' sparkline asks for: since `seconds` ago, in [`USAGE_POINTS`] intervals.
pub fn usage_window(seconds: i64) -> (i64, i64) {
    (
        OffsetDateTime::now_utc().unix_timestamp() - seconds,
        USAGE_POINTS,
    )
}

/// Rows the usage sparkline takes at the bottom of the details: a label and two of bars.
const USAGE_ROWS: u16 = 3;

pub(super) fn render_detail(
    lines: &[Line<'static>],
    usage: Option<(&[UsagePoint], UsageSpan)>,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(" Details ", theme.accent));
    let mut inner = block.inner(area);
    block.render(area, buf);
    // The sparkline, when loaded and the pane leaves room for it and a few fields.
    if let Some((points, span)) = usage.filter(|_| inner.height >= USAGE_ROWS + 4) {
        let [fields, chart] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(USAGE_ROWS)]).areas(inner);
        render_usage(points, span, chart, buf, theme);
        inner = fields;
    }
    let (width, height) = (inner.width.into(), inner.height.into());
    let wrapped = fit::wrap_all(lines, width);
    // Wrapped when every line fits; otherwise one line a field, so that a long name does
    // not push the other fields out, and the ones still missing counted.
    let lines = if wrapped.len() <= height {
        wrapped
    } else {
        lines.iter().map(|l| fit::truncate_line(l, width)).collect()
    };
    Paragraph::new(fit::clip(lines, height, theme.dim)).render(inner, buf);
}

/// `Requests    1234 in 24h (5 refused)` over a sparkline of the requests, one bar per interval;
/// the refused count is marked in the warning style when there are any.
fn render_usage(
    points: &[UsagePoint],
    span: UsageSpan,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    use ratatui::widgets::Sparkline;
    let requests: i64 = points.iter().map(|p| p.requests).sum();
    let refused: i64 = points.iter().map(|p| p.refused).sum();
    let mut label = vec![
        Span::styled(format!("{:<12}", "Requests"), theme.dim),
        Span::raw(format!("{requests} in {}", span.label())),
    ];
    if refused > 0 {
        label.push(Span::styled(format!(" ({refused} refused)"), theme.warn));
    }
    label.push(Span::styled(" · w: 24h, 7d, 30d", theme.dim));
    let [label_area, bars] =
        Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    Paragraph::new(Line::from(label)).render(label_area, buf);
    // The newest intervals when the pane is narrower than the series.
    let width = usize::from(bars.width);
    let data: Vec<u64> = points
        .iter()
        .skip(points.len().saturating_sub(width))
        .map(|p| u64::try_from(p.requests).unwrap_or(0))
        .collect();
    Sparkline::default()
        .data(&data)
        .style(theme.accent)
        .render(bars, buf);
}

/// The details of `key`, a line a field.
pub(super) fn details(key: &Key, theme: &Theme, now: OffsetDateTime) -> Vec<Line<'static>> {
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
    vec![
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
        field("State", state_label(&live_state(key, now)).into()),
        field("Created", when(&Some(key.created_at.clone()))),
        Line::from(vec![
            Span::styled(format!("{:<12}", "Expires"), theme.dim),
            expiry(key, theme, now),
            Span::raw(
                key.expires_at
                    .as_deref()
                    .map_or_else(String::new, |t| format!(" · {}", visible(t))),
            ),
        ]),
        field("Last used", when(&key.last_used_at)),
        field(
            "Disabled",
            match &key.disabled_at {
                None => "never".to_owned(),
                Some(at) => format!("{at} ({}){}", relative(at, now), disabled_by_label(key)),
            },
        ),
        field(
            "Owner",
            key.owner
                .as_ref()
                .map_or_else(|| "— (bootstrap)".into(), |o| o.description.clone()),
        ),
    ]
    .into_iter()
    // A rotated key names its successor, and the successor the key it replaced.
    .chain(
        key.rotated_to
            .as_ref()
            .map(|to| field("Rotated to", format!("{} (works until it expires)", to.id))),
    )
    .chain(
        key.rotated_from
            .as_ref()
            .map(|from| field("Replaces", from.id.clone())),
    )
    .collect()
}

/// ` by IDENTITY (as super_admin)` for a disabled key, when the service says who.
fn disabled_by_label(key: &Key) -> String {
    match (&key.disabled_by, &key.disabled_as) {
        (Some(by), Some(authority)) => format!(" by {by} (as {})", authority_label(authority)),
        (Some(by), None) => format!(" by {by}"),
        _ => String::new(),
    }
}
