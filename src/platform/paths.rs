//! Where keydeck keeps its files: the XDG base directories on every Unix (including macOS,
//! where terminal tools conventionally use `~/.config` rather than `~/Library`), and the
//! platform's own folders on Windows.
//!
//! The resolution is a pure function of an environment lookup and a home directory so that it
//! can be tested without touching the process environment (which is `unsafe` to mutate in
//! edition 2024 and racy across test threads).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};

/// The folder name under the config and state directories.
pub const APP_DIR: &str = "keydeck";

/// Looks up an environment variable; `None` when unset. Tests pass a closure over a table.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The real process environment, ignoring variables that are not valid Unicode.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// `$XDG_CONFIG_HOME/keydeck`, else `~/.config/keydeck` (Windows: `%APPDATA%\keydeck`).
pub fn config_dir() -> anyhow::Result<PathBuf> {
    base_dir(
        &process_env,
        dirs::home_dir(),
        "XDG_CONFIG_HOME",
        ".config",
        dirs::config_dir,
    )
    .map(|dir| dir.join(APP_DIR))
}

/// `$XDG_STATE_HOME/keydeck`, else `~/.local/state/keydeck` (Windows: `%LOCALAPPDATA%\keydeck`),
/// created if missing (mode 0700 on Unix: the log may name endpoints and profiles). The TUI's
/// log file lives here.
pub fn state_dir() -> anyhow::Result<PathBuf> {
    let dir = base_dir(
        &process_env,
        dirs::home_dir(),
        "XDG_STATE_HOME",
        ".local/state",
        dirs::data_local_dir,
    )?
    .join(APP_DIR);
    create_private_dir(&dir)?;
    Ok(dir)
}

/// Resolves one XDG base directory. The XDG spec says relative values must be ignored, so they
/// are. On Windows there is no XDG convention and the platform folder wins.
pub(crate) fn base_dir(
    env: EnvLookup<'_>,
    home: Option<PathBuf>,
    xdg_var: &str,
    home_relative: &str,
    #[cfg_attr(not(windows), allow(unused_variables))] windows_dir: fn() -> Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    if let Some(value) = env(xdg_var).filter(|v| Path::new(v).is_absolute()) {
        return Ok(PathBuf::from(value));
    }
    #[cfg(windows)]
    if let Some(dir) = windows_dir() {
        return Ok(dir);
    }
    home.map(|home| home.join(home_relative)).ok_or_else(|| {
        anyhow!("cannot find your home directory; set {xdg_var} to an absolute path")
    })
}

/// Creates `dir` and its parents; the last component is private to the user on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Option<PathBuf> {
        None
    }

    #[cfg(unix)]
    #[test]
    fn xdg_variable_wins_when_absolute() {
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| "/xdg/conf".to_owned());
        let dir = base_dir(
            &env,
            Some("/home/a".into()),
            "XDG_CONFIG_HOME",
            ".config",
            none,
        )
        .unwrap();
        assert_eq!(dir, PathBuf::from("/xdg/conf"));
    }

    #[cfg(unix)]
    #[test]
    fn relative_xdg_variable_is_ignored_and_home_is_used() {
        let env = |_: &str| Some("relative/dir".to_owned());
        let dir = base_dir(
            &env,
            Some("/home/a".into()),
            "XDG_STATE_HOME",
            ".local/state",
            none,
        )
        .unwrap();
        assert_eq!(dir, PathBuf::from("/home/a/.local/state"));
    }

    #[cfg(unix)]
    #[test]
    fn no_home_and_no_variable_is_an_error_naming_the_variable() {
        let env = |_: &str| None;
        let err = base_dir(&env, None, "XDG_CONFIG_HOME", ".config", none).unwrap_err();
        assert!(err.to_string().contains("XDG_CONFIG_HOME"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_is_created_with_mode_0700() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/keydeck");
        create_private_dir(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
