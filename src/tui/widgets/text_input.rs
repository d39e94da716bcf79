//! A one-line text field: typing appends, Backspace deletes, the cursor stays at the end.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextInput {
    pub value: String,
}

impl TextInput {
    pub fn new(value: &str) -> Self {
        TextInput {
            value: value.to_owned(),
        }
    }

    /// Applies an editing key; returns whether it was one.
    pub fn on_key(&mut self, event: &KeyEvent) -> bool {
        let plain = !event
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        match event.code {
            KeyCode::Char(c) if plain => {
                self.value.push(c);
                true
            }
            KeyCode::Char('u') if event.modifiers.contains(KeyModifiers::CONTROL) => {
                self.value.clear();
                true
            }
            KeyCode::Backspace => {
                self.value.pop();
                true
            }
            _ => false,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_and_deleting() {
        let mut t = TextInput::default();
        for c in "ab c".chars() {
            assert!(t.on_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
        }
        assert!(t.on_key(&KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)));
        assert_eq!(t.as_str(), "ab ");
        assert!(!t.on_key(&KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    }
}
