//! Colours, picked from what the terminal says it can show: truecolor terminals get RGB,
//! 256-colour terminals the xterm palette, every other terminal the 16 ANSI colours (whose
//! exact shades the user's terminal theme decides). `NO_COLOR` (or the `mono` theme) gets no
//! colour at all, only bold, reverse and dim.

use ratatui::style::{Color, Modifier, Style};

use crate::platform::ThemeName;

/// How many colours the terminal can show, from its environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    /// `COLORTERM=truecolor` or `24bit`: any RGB colour.
    TrueColor,
    /// A `TERM` naming `256color` (xterm-256color, tmux-256color, screen-256color…).
    Indexed256,
    /// Anything else, `TERM=xterm` and `TERM=linux` included: escape codes for 256 colours
    /// would show as the wrong colour or as garbage there.
    Ansi16,
}

impl Palette {
    /// Reads `COLORTERM` and `TERM` the way terminals advertise themselves.
    pub fn detect(env: &dyn Fn(&str) -> Option<String>) -> Palette {
        let colorterm = env("COLORTERM").unwrap_or_default();
        let term = env("TERM").unwrap_or_default();
        if colorterm == "truecolor" || colorterm == "24bit" {
            Palette::TrueColor
        } else if term.contains("256color") {
            Palette::Indexed256
        } else {
            Palette::Ansi16
        }
    }
}

/// One colour in each palette: the RGB value, its nearest xterm-256 index, and the ANSI
/// colour closest in spirit.
struct Shade {
    rgb: (u8, u8, u8),
    indexed: u8,
    ansi: Color,
}

impl Shade {
    fn in_palette(&self, palette: Palette) -> Color {
        match palette {
            Palette::TrueColor => Color::Rgb(self.rgb.0, self.rgb.1, self.rgb.2),
            Palette::Indexed256 => Color::Indexed(self.indexed),
            Palette::Ansi16 => self.ansi,
        }
    }
}

const fn shade(rgb: (u8, u8, u8), indexed: u8, ansi: Color) -> Shade {
    Shade { rgb, indexed, ansi }
}

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
        Theme::colored(*name == ThemeName::Light, Palette::detect(env))
    }

    /// The dark or light theme in `palette`.
    pub fn colored(light: bool, palette: Palette) -> Theme {
        let pick = |s: Shade| s.in_palette(palette);
        let accent = pick(if light {
            shade((0, 95, 175), 25, Color::Blue)
        } else {
            shade((95, 175, 255), 75, Color::LightBlue)
        });
        // Sixteen-colour terminals have one grey that reads on both dark and light backgrounds.
        let dim = pick(if light {
            shade((110, 110, 110), 242, Color::DarkGray)
        } else {
            shade((138, 138, 138), 245, Color::DarkGray)
        });
        Theme {
            accent: Style::new().fg(accent).add_modifier(Modifier::BOLD),
            dim: Style::new().fg(dim),
            warn: Style::new().fg(pick(shade((215, 175, 0), 178, Color::Yellow))),
            error: Style::new()
                .fg(pick(shade((215, 95, 95), 167, Color::Red)))
                .add_modifier(Modifier::BOLD),
            ok: Style::new().fg(pick(shade((95, 175, 95), 71, Color::Green))),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    fn accent(vars: &'static [(&'static str, &'static str)]) -> Option<Color> {
        Theme::detect(&ThemeName::Dark, &env(vars)).accent.fg
    }

    #[test]
    fn the_palette_follows_what_the_terminal_advertises() {
        assert_eq!(
            accent(&[("TERM", "xterm-256color"), ("COLORTERM", "truecolor")]),
            Some(Color::Rgb(95, 175, 255))
        );
        assert_eq!(
            accent(&[("TERM", "xterm"), ("COLORTERM", "24bit")]),
            Some(Color::Rgb(95, 175, 255))
        );
        assert_eq!(
            accent(&[("TERM", "tmux-256color")]),
            Some(Color::Indexed(75))
        );
        // Plain xterm and the Linux console get the 16 ANSI colours, never 256-colour codes.
        assert_eq!(accent(&[("TERM", "xterm")]), Some(Color::LightBlue));
        assert_eq!(accent(&[("TERM", "linux")]), Some(Color::LightBlue));
        assert_eq!(accent(&[]), Some(Color::LightBlue));
    }

    #[test]
    fn no_color_wins_over_any_palette() {
        let theme = Theme::detect(
            &ThemeName::Dark,
            &env(&[
                ("TERM", "xterm-256color"),
                ("COLORTERM", "truecolor"),
                ("NO_COLOR", "1"),
            ]),
        );
        assert_eq!(theme.accent.fg, None);
        assert_eq!(theme.error.fg, None);
    }

    #[test]
    fn sixteen_colour_themes_use_no_indexed_or_rgb_colour() {
        for light in [false, true] {
            let t = Theme::colored(light, Palette::Ansi16);
            for style in [t.accent, t.dim, t.warn, t.error, t.ok, t.header, t.border] {
                assert!(
                    !matches!(style.fg, Some(Color::Indexed(_) | Color::Rgb(..))),
                    "{style:?}"
                );
            }
        }
    }
}
