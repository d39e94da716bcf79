//! Copying a token to the user's clipboard, wherever the user is.
//!
//! Two paths: the local system clipboard through arboard, and OSC 52, an escape sequence that
//! asks the user's terminal emulator to set *its* clipboard. OSC 52 is the only path that
//! reaches the right machine over SSH, and it passes through tmux when `set-clipboard` is on.
//! The UI reports which path was used ([`CopyPath::describe`]) so the user knows where to paste
//! from; a terminal that ignores OSC 52 cannot be detected, hence the honest wording.

use std::io::Write;

use base64::Engine as _;

use super::config::ClipboardMode;

/// Which path a copy took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPath {
    /// The local system clipboard (arboard).
    Native,
    /// An OSC 52 sequence written to the terminal.
    Osc52,
}

impl CopyPath {
    /// What to tell the user.
    pub fn describe(self) -> &'static str {
        match self {
            CopyPath::Native => "copied to the system clipboard",
            CopyPath::Osc52 => "sent to your terminal via OSC 52",
        }
    }
}

/// Why nothing was copied.
#[derive(Debug, thiserror::Error)]
pub enum ClipboardError {
    /// The profile says `clipboard = "off"`.
    #[error("copying is turned off (clipboard = \"off\" in the profile)")]
    Disabled,
    /// Writing the OSC 52 sequence to the terminal failed.
    #[error("cannot write to the terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// The OSC 52 sequence that sets the clipboard selection (`c`) to `text`:
/// `ESC ] 52 ; c ; <base64> BEL`. BEL rather than `ESC \` as terminator because more terminals
/// (and tmux) accept it.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

/// In `auto` mode: should OSC 52 be used instead of the native clipboard? Yes over SSH
/// (`SSH_TTY` or `SSH_CONNECTION`: the native clipboard would be the server's), and on X11/Wayland
/// systems without `DISPLAY` or `WAYLAND_DISPLAY` (no clipboard to talk to). macOS and Windows
/// always have a native clipboard locally.
pub fn auto_prefers_osc52(env: &dyn Fn(&str) -> Option<String>) -> bool {
    prefers_osc52(env, NEEDS_DISPLAY_SERVER)
}

/// Whether the native clipboard on this OS goes through a display server (X11 or Wayland).
const NEEDS_DISPLAY_SERVER: bool = cfg!(all(
    unix,
    not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "android"
    ))
));

fn prefers_osc52(env: &dyn Fn(&str) -> Option<String>, needs_display_server: bool) -> bool {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
    if set("SSH_TTY") || set("SSH_CONNECTION") {
        return true;
    }
    needs_display_server && !set("DISPLAY") && !set("WAYLAND_DISPLAY")
}

/// Copies text per the profile's [`ClipboardMode`]. Keep one for the whole session: on X11 the
/// clipboard content is served by the process that set it, so the arboard handle has to stay
/// alive for the copied token to remain pasteable.
pub struct Clipboard {
    mode: ClipboardMode,
    /// The decision for `auto`, taken once from the environment at creation.
    auto_osc52: bool,
    /// Created on the first native copy, then kept alive.
    native: Option<arboard::Clipboard>,
    /// Set after the native clipboard failed once, so later copies go straight to OSC 52
    /// instead of retrying a display connection each time.
    native_broken: bool,
}

impl std::fmt::Debug for Clipboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clipboard")
            .field("mode", &self.mode)
            .field("auto_osc52", &self.auto_osc52)
            .field("native", &self.native.is_some())
            .field("native_broken", &self.native_broken)
            .finish()
    }
}

impl Clipboard {
    /// A clipboard for `mode`; `auto` is resolved now from the process environment.
    pub fn new(mode: ClipboardMode) -> Self {
        Clipboard {
            mode,
            auto_osc52: auto_prefers_osc52(&|name| std::env::var(name).ok()),
            native: None,
            native_broken: false,
        }
    }

    /// The configured mode.
    pub fn mode(&self) -> ClipboardMode {
        self.mode
    }

    /// Copies `text`. Native path: arboard, marked to be excluded from clipboard history
    /// (X11 `x-kde-passwordManagerHint`, Windows `ExcludeClipboardContentFromMonitorProcessing`,
    /// macOS `org.nspasteboard.ConcealedType`), falling back to OSC 52 on any error. OSC 52
    /// path: writes [`osc52`] to `terminal` and flushes. Off: [`ClipboardError::Disabled`].
    ///
    /// Never logs `text`.
    pub fn copy(
        &mut self,
        text: &str,
        terminal: &mut dyn Write,
    ) -> Result<CopyPath, ClipboardError> {
        let native_first = match self.mode {
            ClipboardMode::Off => return Err(ClipboardError::Disabled),
            ClipboardMode::Osc52 => false,
            ClipboardMode::Native => true,
            ClipboardMode::Auto => !self.auto_osc52,
        };
        if native_first && !self.native_broken {
            match self.copy_native(text) {
                Ok(()) => return Ok(CopyPath::Native),
                Err(e) => {
                    tracing::info!(error = %e, "native clipboard failed; using OSC 52 instead");
                    self.native = None;
                    self.native_broken = true;
                }
            }
        }
        terminal.write_all(osc52(text).as_bytes())?;
        terminal.flush()?;
        Ok(CopyPath::Osc52)
    }

    fn copy_native(&mut self, text: &str) -> Result<(), arboard::Error> {
        let clipboard = match &mut self.native {
            Some(clipboard) => clipboard,
            slot => slot.insert(arboard::Clipboard::new()?),
        };
        let set = clipboard.set();
        #[cfg(all(
            unix,
            not(any(target_os = "macos", target_os = "android", target_os = "emscripten"))
        ))]
        let set = {
            use arboard::SetExtLinux;
            set.exclude_from_history()
        };
        #[cfg(windows)]
        let set = {
            use arboard::SetExtWindows;
            set.exclude_from_monitoring()
        };
        #[cfg(target_os = "macos")]
        let set = {
            use arboard::SetExtApple;
            set.exclude_from_history()
        };
        set.text(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Vars = &'static [(&'static str, &'static str)];

    fn env_of(vars: Vars) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn osc52_bytes_for_a_known_string() {
        assert_eq!(osc52("hello"), "\x1b]52;c;aGVsbG8=\x07");
        assert_eq!(osc52("kd_ä/+"), "\x1b]52;c;a2Rfw6QvKw==\x07");
        assert_eq!(osc52(""), "\x1b]52;c;\x07");
    }

    #[test]
    fn auto_decision_table() {
        // (environment, display-server platform?, expected OSC 52?)
        let cases: &[(Vars, bool, bool)] = &[
            (&[("SSH_TTY", "/dev/pts/1"), ("DISPLAY", ":0")], true, true),
            (&[("SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22")], true, true),
            (&[("SSH_CONNECTION", "1.2.3.4 5 6.7.8.9 22")], false, true),
            (&[("DISPLAY", ":0")], true, false),
            (&[("WAYLAND_DISPLAY", "wayland-0")], true, false),
            (&[], true, true),
            (&[("DISPLAY", "")], true, true),
            (&[("SSH_TTY", "")], false, false),
            // macOS / Windows: no DISPLAY and still a local clipboard.
            (&[], false, false),
        ];
        for (vars, display_platform, expected) in cases {
            let env = env_of(vars);
            assert_eq!(
                prefers_osc52(&env, *display_platform),
                *expected,
                "{vars:?} display_platform={display_platform}"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn auto_on_linux() {
        assert!(auto_prefers_osc52(&env_of(&[("SSH_TTY", "/dev/pts/0")])));
        assert!(!auto_prefers_osc52(&env_of(&[("DISPLAY", ":1")])));
        assert!(auto_prefers_osc52(&env_of(&[])));
    }

    #[test]
    fn describe_is_honest_about_the_path() {
        assert_eq!(
            CopyPath::Native.describe(),
            "copied to the system clipboard"
        );
        assert_eq!(
            CopyPath::Osc52.describe(),
            "sent to your terminal via OSC 52"
        );
    }

    #[test]
    fn osc52_mode_writes_the_sequence() {
        let mut clipboard = Clipboard::new(ClipboardMode::Osc52);
        let mut out = Vec::new();
        assert_eq!(clipboard.copy("hello", &mut out).unwrap(), CopyPath::Osc52);
        assert_eq!(out, b"\x1b]52;c;aGVsbG8=\x07");
    }

    #[test]
    fn off_mode_refuses_and_writes_nothing() {
        let mut clipboard = Clipboard::new(ClipboardMode::Off);
        let mut out = Vec::new();
        let err = clipboard.copy("hello", &mut out).unwrap_err();
        assert!(matches!(err, ClipboardError::Disabled));
        assert!(out.is_empty());
    }

    /// On a host without a display server the native clipboard cannot work; `native` must fall
    /// back to OSC 52 rather than fail. Only meaningful (and only safe: it would really copy)
    /// where no display is reachable.
    #[cfg(target_os = "linux")]
    #[test]
    fn native_falls_back_to_osc52_without_a_display() {
        let has_display = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        if has_display {
            eprintln!("SKIPPED native_falls_back_to_osc52_without_a_display: a display is set");
            return;
        }
        let mut clipboard = Clipboard::new(ClipboardMode::Native);
        for _ in 0..2 {
            let mut out = Vec::new();
            assert_eq!(clipboard.copy("tok", &mut out).unwrap(), CopyPath::Osc52);
            assert_eq!(out, osc52("tok").as_bytes());
        }
    }

    #[test]
    fn terminal_write_errors_are_reported() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("pty closed"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let err = Clipboard::new(ClipboardMode::Osc52)
            .copy("x", &mut Broken)
            .unwrap_err();
        assert!(matches!(err, ClipboardError::Io(_)), "{err}");
    }
}
