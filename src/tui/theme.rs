//! Colours. Truecolor terminals get RGB; others the 256-colour palette; `NO_COLOR` (or the
//! `mono` theme) gets no colour at all, only bold, reverse and dim.

use ratatui::style::{Color, Modifier, Style};

use crate::platform::ThemeName;

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub accent: Style,
    pub dim: Style,
    pub warn: Style,
    pub error: Style,
    pub ok: Style,
    pub selected: Style,
    pub header: Style,
    pub border: Style,
}

impl Theme {
    /// Picks the palette from the profile's theme and the environment.
    pub fn detect(name: &ThemeName, env: &dyn Fn(&str) -> Option<String>) -> Theme {
        let no_color = env("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color || *name == ThemeName::Mono {
            return Theme::mono();
        }
        let truecolor = env("COLORTERM").is_some_and(|v| v == "truecolor" || v == "24bit");
        let light = *name == ThemeName::Light;
        let pick = |rgb: (u8, u8, u8), indexed: u8| {
            if truecolor {
                Color::Rgb(rgb.0, rgb.1, rgb.2)
            } else {
                Color::Indexed(indexed)
            }
        };
        let accent = if light {
            pick((0, 95, 175), 25)
        } else {
            pick((95, 175, 255), 75)
        };
        let dim = if light {
            pick((110, 110, 110), 242)
        } else {
            pick((138, 138, 138), 245)
        };
        Theme {
            accent: Style::new().fg(accent).add_modifier(Modifier::BOLD),
            dim: Style::new().fg(dim),
            warn: Style::new().fg(pick((215, 175, 0), 178)),
            error: Style::new()
                .fg(pick((215, 95, 95), 167))
                .add_modifier(Modifier::BOLD),
            ok: Style::new().fg(pick((95, 175, 95), 71)),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new()
                .fg(accent)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            border: Style::new().fg(dim),
        }
    }

    pub fn mono() -> Theme {
        Theme {
            accent: Style::new().add_modifier(Modifier::BOLD),
            dim: Style::new().add_modifier(Modifier::DIM),
            warn: Style::new().add_modifier(Modifier::BOLD),
            error: Style::new().add_modifier(Modifier::BOLD),
            ok: Style::new(),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            header: Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            border: Style::new(),
        }
    }
}
