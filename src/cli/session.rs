//! Who the CLI and TUI talk to, and with which credential: profile, environment overrides
//! (`KEYDECK_ENDPOINT`, `KEYDECK_TOKEN`), a token file, or the OS keyring.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::api::ApiClient;
use crate::platform::{Config, CredentialStore, FileStore, Profile, system_store};

/// How the user chose to supply the credential.
#[derive(Debug, Clone, Default)]
pub struct CredentialOptions {
    pub profile: Option<String>,
    /// Read the token from this file (first line).
    pub token_file: Option<PathBuf>,
    /// Keep the token in a 0600 file instead of the OS keyring (explicit opt-in).
    pub insecure_storage: bool,
}

/// A connected client and what the status bar says about it.
pub struct Connected {
    pub profile_name: String,
    pub profile: Profile,
    pub client: ApiClient,
    /// Where the token came from ("kernel keyring", "KEYDECK_TOKEN", …).
    pub credential_source: String,
}

/// The file `--insecure-storage` uses.
pub fn insecure_file() -> anyhow::Result<PathBuf> {
    Ok(crate::platform::paths::config_dir()?.join("credentials.insecure"))
}

/// The store the user asked for: the insecure file, or the OS keyring.
pub fn credential_store(insecure: bool) -> anyhow::Result<Box<dyn CredentialStore>> {
    if insecure {
        return Ok(Box::new(FileStore::new(insecure_file()?)));
    }
    Ok(system_store()?)
}

/// Resolves profile, endpoint and token, and builds the client.
pub fn connect(options: &CredentialOptions) -> anyhow::Result<Connected> {
    let config = Config::load(&Config::path()?)?;
    let env_endpoint = std::env::var("KEYDECK_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty());
    let env_token = std::env::var("KEYDECK_TOKEN")
        .ok()
        .filter(|v| !v.is_empty());
    let (profile_name, mut profile) =
        match (config.profile(options.profile.as_deref()), &env_endpoint) {
            (Ok(found), _) => found,
            (Err(_), Some(endpoint)) => (
                options.profile.clone().unwrap_or_else(|| "env".into()),
                Profile::new(endpoint.clone()),
            ),
            (Err(e), None) => return Err(e),
        };
    if let Some(endpoint) = env_endpoint {
        profile.endpoint = endpoint;
    }
    let (token, credential_source) = if let Some(token) = env_token {
        (token, "KEYDECK_TOKEN".to_owned())
    } else if let Some(path) = &options.token_file {
        (
            read_token_file(path)?,
            format!("token file {}", path.display()),
        )
    } else {
        let store = credential_store(options.insecure_storage)?;
        match store.get(&profile_name)? {
            Some(token) => (token, store.kind().to_owned()),
            None => bail!(
                "not logged in to profile \"{profile_name}\" ({}): run `keydeck login --endpoint {}{}` or set KEYDECK_TOKEN",
                store.kind(),
                profile.endpoint,
                if profile_name == crate::platform::DEFAULT_PROFILE {
                    String::new()
                } else {
                    format!(" --profile {profile_name}")
                }
            ),
        }
    };
    let client = ApiClient::new(&profile.endpoint, profile.auth_scheme, &token)?;
    Ok(Connected {
        profile_name,
        profile,
        client,
        credential_source,
    })
}

fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    if token.is_empty() {
        bail!("token file {} is empty", path.display());
    }
    Ok(token)
}
