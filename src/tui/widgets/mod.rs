//! Small reusable pieces of the screen.

pub mod fit;
pub mod help;
pub mod messages;
pub mod numbers;
pub mod status_bar;
pub mod text_input;
pub mod time;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

/// A centred rectangle of at most `width` × `height` inside `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// Explicit per-view loading state, shown in the view's title.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    Idle,
    Loading,
    Loaded,
    Failed(String),
}

impl Load {
    /// A short suffix for a title: a spinner frame while loading, a mark on failure.
    pub fn badge(&self, tick: u64) -> String {
        const FRAMES: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];
        match self {
            Load::Loading => format!(" {} loading", FRAMES[(tick % 8) as usize]),
            Load::Failed(_) => " ✗ failed".into(),
            Load::Idle | Load::Loaded => String::new(),
        }
    }

    pub fn is_loading(&self) -> bool {
        *self == Load::Loading
    }
}

/// A modal box: clears `area`, then draws `lines` in a bordered, titled block.
pub fn popup<'a>(
    lines: Vec<ratatui::text::Line<'a>>,
    title: impl Into<ratatui::text::Line<'a>>,
    border: ratatui::style::Style,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};
    Clear.render(area, buf);
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(border)
                .title(title),
        )
        .render(area, buf);
}
