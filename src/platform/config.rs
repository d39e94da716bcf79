//! Profiles in `$XDG_CONFIG_HOME/keydeck/config.toml`.
//!
//! The file holds where to connect and how to behave, never a secret: there is no field for a
//! token, so saving a [`Config`] cannot leak one. Tokens live in a
//! [`CredentialStore`](super::CredentialStore).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde::{Deserialize, Serialize};

use crate::api::AuthScheme;

/// The profile used when neither `--profile` nor `default_profile` names one.
pub const DEFAULT_PROFILE: &str = "default";

/// How a token reaches the user's clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClipboardMode {
    /// OSC 52 over SSH or without a display server, the native clipboard otherwise.
    #[default]
    Auto,
    /// Always write OSC 52 to the terminal, which puts the text on the clipboard of the machine
    /// the user sits at (also through SSH and tmux with `set-clipboard on`).
    Osc52,
    /// Always use the local system clipboard (arboard), falling back to OSC 52 if it fails.
    Native,
    /// Never copy; the token is only shown.
    Off,
}

/// The colour theme of the TUI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    /// Light text on a dark background.
    #[default]
    Dark,
    /// Dark text on a light background.
    Light,
    /// No colours, only bold/reverse; also forced when `NO_COLOR` is set.
    Mono,
}

/// One key service the user talks to, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// The GraphQL endpoint, e.g. `https://keys.example.com/graphql`.
    pub endpoint: String,
    /// `Authorization: Bearer …` or `Token …`.
    #[serde(default)]
    pub auth_scheme: AuthScheme,
    /// How tokens are copied.
    #[serde(default)]
    pub clipboard: ClipboardMode,
    /// The colour theme.
    #[serde(default)]
    pub theme: ThemeName,
    /// Key-binding overrides: action name (as in assets/keymap.toml) -> key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
    /// Mouse support; off by default so the terminal's own text selection keeps working.
    #[serde(default)]
    pub mouse: bool,
}

impl Profile {
    /// A profile for `endpoint` with every other setting at its default.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Profile {
            endpoint: endpoint.into(),
            auth_scheme: AuthScheme::default(),
            clipboard: ClipboardMode::default(),
            theme: ThemeName::default(),
            keys: BTreeMap::new(),
            mouse: false,
        }
    }
}

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// The profile used when `--profile` is not given.
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl Config {
    /// `$XDG_CONFIG_HOME/keydeck/config.toml`, falling back to `~/.config/keydeck/config.toml`.
    pub fn path() -> anyhow::Result<PathBuf> {
        Ok(super::paths::config_dir()?.join("config.toml"))
    }

    /// Reads the config. A missing file is an empty config (first run); a malformed one is an
    /// error naming the file and the line, because silently ignoring it would send requests to
    /// the wrong place.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Self::parse(&text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            match line {
                Some(line) => anyhow!(
                    "invalid config file {} at line {line}: {}",
                    path.display(),
                    e.message()
                ),
                None => anyhow!("invalid config file {}: {}", path.display(), e.message()),
            }
        })
    }

    /// Parses config text.
    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    /// Writes the config atomically (a temp file in the same directory, then a rename), so a
    /// crash or a full disk never leaves a half-written file behind. Creates the directory.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let text = toml::to_string_pretty(self).context("cannot serialize the config")?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        tmp.write_all(text.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .with_context(|| format!("cannot write {}", tmp.path().display()))?;
        tmp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }

    /// Resolves the profile to use: `name`, else `default_profile`, else `"default"`.
    /// The error tells the user how to create the missing profile.
    pub fn profile(&self, name: Option<&str>) -> anyhow::Result<(String, Profile)> {
        let name = name
            .or(self.default_profile.as_deref())
            .unwrap_or(DEFAULT_PROFILE);
        if let Some(profile) = self.profiles.get(name) {
            return Ok((name.to_owned(), profile.clone()));
        }
        let flag = if name == DEFAULT_PROFILE {
            String::new()
        } else {
            format!(" --profile {name}")
        };
        let known = if self.profiles.is_empty() {
            "there are no profiles yet".to_owned()
        } else {
            let names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
            format!("known profiles: {}", names.join(", "))
        };
        Err(anyhow!(
            "no profile named \"{name}\" ({known}); create it with `keydeck login --endpoint URL{flag}` \
             or set KEYDECK_ENDPOINT and KEYDECK_TOKEN"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Config {
        let mut work = Profile::new("https://keys.example.com/graphql");
        work.auth_scheme = AuthScheme::Token;
        work.clipboard = ClipboardMode::Osc52;
        work.theme = ThemeName::Mono;
        work.mouse = true;
        work.keys.insert("quit".into(), "ctrl-q".into());
        let mut profiles = BTreeMap::new();
        profiles.insert("work".to_owned(), work);
        profiles.insert(
            "default".to_owned(),
            Profile::new("http://127.0.0.1:8080/graphql"),
        );
        Config {
            default_profile: Some("work".into()),
            profiles,
        }
    }

    #[test]
    fn save_then_load_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nested/dir/config.toml");
        let config = sample();
        config.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), config);
        // Saving again replaces the file in place.
        let mut changed = config.clone();
        changed.default_profile = None;
        changed.save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), changed);
        // No temp files are left next to it.
        let entries = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(entries, 1);
    }

    #[test]
    fn missing_file_is_the_default_config() {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config::load(&tmp.path().join("absent.toml")).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn minimal_profile_gets_defaults() {
        let config =
            Config::parse("[profiles.default]\nendpoint = \"http://x/graphql\"\n").unwrap();
        let (name, profile) = config.profile(None).unwrap();
        assert_eq!(name, "default");
        assert_eq!(profile, Profile::new("http://x/graphql"));
    }

    #[test]
    fn example_config_in_assets_parses() {
        let text = include_str!("../../assets/config.example.toml");
        let config = Config::parse(text).unwrap();
        assert!(config.profile(None).is_ok());
    }

    #[test]
    fn bad_toml_names_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("config.toml");
        std::fs::write(
            &path,
            "default_profile = \"a\"\n\n[profiles.a]\nendpoint = \n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("line 4"), "{err}");
    }

    #[test]
    fn unknown_clipboard_mode_is_an_error() {
        let err = Config::parse("[profiles.a]\nendpoint = \"e\"\nclipboard = \"sometimes\"\n")
            .unwrap_err();
        assert!(err.message().contains("sometimes"), "{err}");
    }

    #[test]
    fn profile_resolution_order() {
        let config = sample();
        assert_eq!(config.profile(Some("default")).unwrap().0, "default");
        assert_eq!(config.profile(None).unwrap().0, "work");
        let no_default = Config {
            default_profile: None,
            ..sample()
        };
        assert_eq!(no_default.profile(None).unwrap().0, "default");
    }

    #[test]
    fn missing_profile_errors_say_how_to_create_one() {
        let err = Config::default().profile(None).unwrap_err().to_string();
        assert!(err.contains("keydeck login --endpoint URL`"), "{err}");
        assert!(err.contains("no profiles yet"), "{err}");

        let err = sample().profile(Some("staging")).unwrap_err().to_string();
        assert!(
            err.contains("keydeck login --endpoint URL --profile staging"),
            "{err}"
        );
        assert!(err.contains("default, work"), "{err}");

        let dangling = Config {
            default_profile: Some("gone".into()),
            ..Config::default()
        };
        let err = dangling.profile(None).unwrap_err().to_string();
        assert!(err.contains("\"gone\""), "{err}");
    }
}
