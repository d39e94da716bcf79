//! `keydeck login` and `keydeck logout`: the admin's own credential in the OS keyring.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};

use super::session::credential_store;
use crate::api::{ApiClient, ApiError, AuthScheme};
use crate::platform::{Config, Profile};

pub struct LoginArgs {
    pub endpoint: String,
    pub profile: String,
    pub token_stdin: bool,
    pub auth_scheme: AuthScheme,
    pub insecure_storage: bool,
}

pub async fn login(args: LoginArgs) -> anyhow::Result<()> {
    // Check the store first: fail closed before asking for a secret we could not keep.
    let store = credential_store(args.insecure_storage)?;
    let token = if args.token_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the token from stdin")?;
        line.trim().to_owned()
    } else {
        rpassword::prompt_password(format!("API token for {}: ", args.endpoint))
            .context("reading the token")?
    };
    if token.is_empty() {
        bail!("no token given");
    }
    let client = ApiClient::new(&args.endpoint, args.auth_scheme, &token)?;
    // Only a 401 is about the token; an unreachable service or a wrong URL says so itself.
    // Said once: the refusal is the whole message, not a context around the same words.
    let me = client.me().await.map_err(|e| match e {
        ApiError::Unauthorized(message) => anyhow::anyhow!(
            "the service at {} refused this token ({message}); nothing was saved",
            args.endpoint
        ),
        other => anyhow::Error::new(other).context("cannot verify the token"),
    })?;
    store.set(&args.profile, &token)?;
    let path = Config::path()?;
    let mut config = Config::load(&path)?;
    let mut profile = config
        .profiles
        .get(&args.profile)
        .cloned()
        .unwrap_or_else(|| Profile::new(args.endpoint.clone()));
    profile.endpoint = args.endpoint.clone();
    profile.auth_scheme = args.auth_scheme;
    config.profiles.insert(args.profile.clone(), profile);
    if config.default_profile.is_none() {
        config.default_profile = Some(args.profile.clone());
    }
    config.save(&path)?;
    super::output::line(format_args!(
        "Logged in to {} as \"{}\" (profile {}); the token is kept in the {}.",
        crate::text::visible(&args.endpoint),
        crate::text::visible(&me.description),
        args.profile,
        store.kind()
    ))
}

pub fn logout(profile: Option<String>, insecure_storage: bool) -> anyhow::Result<()> {
    let config = Config::load(&Config::path()?)?;
    let named = profile.is_some();
    let name = profile
        .or_else(|| config.default_profile.clone())
        .unwrap_or_else(|| crate::platform::DEFAULT_PROFILE.to_owned());
    let store = credential_store(insecure_storage)?;
    if store.delete(&name)? {
        super::output::line(format_args!(
            "Removed the token of profile {name} from the {}.",
            store.kind()
        ))
    } else if named && !config.profiles.contains_key(&name) {
        // `--profile` names one nobody created: a typo, most likely. Said, with the ones
        // there are.
        config.profile(Some(&name)).map(|_| ())
    } else {
        super::output::line(format_args!(
            "Profile {name} had no token in the {}.",
            store.kind()
        ))
    }
}
