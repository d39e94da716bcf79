//! One file per tab: its state, its verbs and its rendering.

pub mod identities;
pub mod keys;
pub mod stats;

/// The tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    #[default]
    Keys,
    Identities,
    Stats,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Keys, Tab::Identities, Tab::Stats];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Keys => "Keys",
            Tab::Identities => "Identities",
            Tab::Stats => "Query Stats",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    pub fn next(self) -> Tab {
        Tab::ALL[(self.index() + 1) % Tab::ALL.len()]
    }

    pub fn prev(self) -> Tab {
        Tab::ALL[(self.index() + Tab::ALL.len() - 1) % Tab::ALL.len()]
    }
}

/// A cursor over `len` rows that keeps itself in range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub index: usize,
}

impl Cursor {
    pub fn clamp(&mut self, len: usize) {
        self.index = self.index.min(len.saturating_sub(1));
    }

    pub fn down(&mut self, len: usize, by: usize) {
        self.index = (self.index + by).min(len.saturating_sub(1));
    }

    pub fn up(&mut self, by: usize) {
        self.index = self.index.saturating_sub(by);
    }

    /// The first row to draw so that the cursor is visible in `height` rows.
    pub fn offset(&self, height: usize) -> usize {
        (self.index + 1).saturating_sub(height.max(1))
    }
}
