#![forbid(unsafe_code)]
//! The `keydeck` command: parse, set up logging, dispatch.

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory, Parser, Subcommand};

use keydeck::api::AuthScheme;
use keydeck::cli::session::{CredentialOptions, connect};
use keydeck::cli::{
    self, audit, demo, exit, identities, keys, login, members, output, projects, roles, stats,
};
use keydeck::platform::{DEFAULT_PROFILE, Profile};
use keydeck::server::stats::{Sampling, Target};
use keydeck::server::transport::limits::Limits;
use keydeck::server::{self, ServeConfig};
use keydeck::ttl::Ttl;

#[derive(Parser)]
#[command(
    name = "keydeck",
    version,
    about = "Administer API keys, identities, roles and query statistics from a terminal"
)]
struct Cli {
    /// The profile from the config file to use.
    #[arg(long, global = true, env = "KEYDECK_PROFILE")]
    profile: Option<String>,
    /// Read the token from this file instead of the OS keyring.
    #[arg(long, global = true)]
    token_file: Option<PathBuf>,
    /// Keep the token in a 0600 file instead of the OS keyring (only when you ask for it).
    #[arg(long, global = true)]
    insecure_storage: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reference key service.
    Serve(ServeArgs),
    /// Run the service on a temporary database, seeded, with the terminal UI attached.
    Demo {
        /// Also serve query statistics of a PostgreSQL database: [ID:]NAME=postgres://… (repeatable).
        #[arg(long, value_parser = parse_monitor)]
        monitor: Vec<(String, String)>,
        /// Start no PostgreSQL of the demo's own (by default, where PostgreSQL's server is
        /// installed, a throwaway cluster with a workload is monitored as `shop`).
        #[arg(long)]
        no_postgres: bool,
    },
    /// Print the GraphQL schema (SDL) the service speaks.
    Schema,
    /// Verify a token and keep it in the OS keyring for a profile.
    Login {
        /// The service's GraphQL URL, e.g. https://keys.example.com/graphql.
        #[arg(long)]
        endpoint: String,
        /// Read the token from standard input instead of prompting.
        #[arg(long)]
        token_stdin: bool,
        /// How the token is sent: bearer or token.
        #[arg(long, default_value = "bearer", value_parser = parse_scheme)]
        auth_scheme: AuthScheme,
    },
    /// Remove the profile's token from the keyring.
    Logout,
    /// List, create, disable and enable API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// List identities.
    #[command(subcommand)]
    Identities(IdentitiesCommand),
    /// List the global role catalog; add or remove global roles of an identity.
    #[command(subcommand)]
    Roles(RolesCommand),
    /// List and create projects.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Project members: list them, add, update or remove one.
    #[command(subcommand)]
    Members(MembersCommand),
    /// Query statistics of a monitored database, busiest first.
    Stats {
        /// The database's id or name.
        #[arg(long)]
        database: String,
        /// Only the last stretch of time: a whole number and a unit (s, m, h, d, w, M = 30
        /// days), e.g. 90m, 1h, 24h, 7d, 1M (sent as `startTs`); without it, the service's
        /// default window.
        #[arg(long)]
        since: Option<String>,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The audit log, newest first: who did what to which key, identity or project, and how
    /// it ended (what the service lets you read: super admins everything, project admins
    /// their projects', everyone its own keys').
    Audit(audit::AuditArgs),
    /// The monitored databases whose statistics `stats` reads.
    #[command(subcommand)]
    Databases(DatabasesCommand),
    /// Print shell completions.
    Completions {
        /// The shell: bash, elvish, fish, powershell or zsh.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum DatabasesCommand {
    /// Every monitored database: id, name and state.
    List {
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List the keys you can see.
    List(keys::ListArgs),
    /// Every field of one key: grants with their projects, owner, who disabled it, the keys it
    /// created.
    Show {
        /// The key's id, a unique prefix of it, a token prefix (`kd_…`) or its name.
        key: String,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create a key; its token is shown once.
    Create(keys::CreateArgs),
    /// Replace a key by a new one with the same name and grants (its token shown once); the
    /// old key keeps working for the grace period, then expires.
    Rotate(keys::RotateArgs),
    /// Disable keys: they stop authenticating at once (with the personal keys they created).
    Disable(keys::ToggleArgs),
    /// Enable disabled keys.
    Enable(keys::ToggleArgs),
    /// Find the key of a leaked token, read from stdin (never echoed, never sent: only its
    /// SHA-256 is).
    Find {
        /// Read the whole token from stdin.
        #[arg(long, required = true)]
        token_stdin: bool,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum MembersCommand {
    /// The members of a project and their memberships.
    List {
        /// The project's slug.
        #[arg(long)]
        project: String,
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make an identity a member of a project.
    Add(members::MemberArgs),
    /// Replace a member's memberships.
    Update(members::MemberArgs),
    /// End an identity's membership of a project (the personal keys it created lose it too).
    Remove {
        /// The identity: its id, a unique prefix of it, or its description.
        identity: String,
        /// The project's slug.
        #[arg(long)]
        project: String,
    },
}

#[derive(Subcommand)]
enum IdentitiesCommand {
    List(identities::ListArgs),
}

#[derive(Subcommand)]
enum RolesCommand {
    /// The global role catalog.
    List {
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Grant global roles; roles already held are reported, not an error.
    Add {
        /// The identity's id, a unique prefix of it (6 characters or more), or its description.
        identity: String,
        /// The global roles, e.g. monitor (one or more).
        #[arg(required = true)]
        roles: Vec<String>,
    },
    /// Take global roles away; if one is not held, nothing is removed (exit 1).
    Remove {
        /// The identity's id, a unique prefix of it (6 characters or more), or its description.
        identity: String,
        /// The global roles, e.g. monitor (one or more).
        #[arg(required = true)]
        roles: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ProjectsCommand {
    /// The projects you are a member or an admin of.
    List {
        /// Print JSON for scripts instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Create a project with the roles its members can hold.
    Create {
        /// The project's short name in URLs and commands, e.g. my-blog.
        #[arg(long)]
        slug: String,
        /// The project's display name.
        #[arg(long)]
        name: String,
        /// A role and the variables a membership in it fills: NAME[:VAR,…] (repeatable).
        #[arg(long = "role", value_parser = projects::RoleDefinition::parse)]
        roles: Vec<projects::RoleDefinition>,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7100")]
    listen: SocketAddr,
    /// Store URL: `sqlite:PATH`, or `postgres://…` for a store shared by several replicas;
    /// defaults to keydeck.db under the XDG data directory.
    #[arg(long = "db", env = "KEYDECK_DB")]
    database_url: Option<String>,
    /// Write the bootstrap admin token here (mode 0600) instead of printing it to stderr.
    #[arg(long)]
    bootstrap_token_file: Option<PathBuf>,
    /// Longest key lifetime (`30d`, `12h`, `1M`), or `none` for no limit.
    #[arg(long, default_value = "30d", value_parser = parse_max_ttl)]
    max_key_ttl: MaxTtl,
    /// Public base URL of this service (used in query links).
    #[arg(long)]
    public_url: Option<String>,
    /// Serve query statistics of a PostgreSQL database: `[ID:]NAME=postgres://…` (repeatable).
    /// Without an ID the store assigns one on first sight of the name and keeps it.
    #[arg(long, value_parser = parse_monitor)]
    monitor: Vec<(String, String)>,
    /// Read more `[ID:]NAME=postgres://…` from this file, one per line (`#` starts a comment).
    #[arg(long, env = "KEYDECK_MONITOR_FILE")]
    monitor_file: Option<PathBuf>,
    /// Sample each monitored database's pg_stat_statements this often (`1s`, `60s`, `5m`).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    stats_interval: Duration,
    /// Delete audit entries older than this (`90d`, `1y`); by default they are kept.
    #[arg(long, value_parser = parse_duration)]
    audit_retention: Option<Duration>,
    /// Keep each key's hourly usage counts this long (`90d`); its per-minute counts are kept
    /// one day.
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    usage_retention: Duration,
    /// Keep every sample this long (`24h`).
    #[arg(long, default_value = "24h", value_parser = parse_duration)]
    stats_retention: Duration,
    /// Past --stats-retention, keep one sample per this much (`1h`).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    stats_rollup: Duration,
    /// Delete rolled-up samples older than this (`30d`).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    stats_rollup_retention: Duration,
    /// Log to this file instead of stderr.
    #[arg(long)]
    log_file: Option<PathBuf>,
    /// Disconnect a client that takes longer than this to send a request's headers, or stays
    /// idle this long between requests (`10s`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// Answer 408 to a request not read and answered within this time (`30s`, `2m`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Open connections at most; at the cap the oldest idle one is closed for a new one.
    #[arg(long, default_value_t = NonZeroUsize::new(Limits::DEFAULT_MAX_CONNECTIONS).unwrap_or(NonZeroUsize::MIN))]
    max_connections: NonZeroUsize,
    /// Failed authentications a client address may make per minute before it gets 429.
    #[arg(long, default_value_t = Limits::DEFAULT_AUTH_FAILURES_PER_MINUTE)]
    auth_failures_per_minute: NonZeroU32,
    /// Mint a new super_admin key offline (token to --bootstrap-token-file), audit it, and
    /// exit: for when no usable super admin key is left.
    #[arg(long, requires = "bootstrap_token_file")]
    recover_admin: bool,
}

/// A positive duration in the TTL syntax (`30s`, `10m`, `1h`).
fn parse_duration(s: &str) -> Result<Duration, String> {
    let ttl = s.parse::<Ttl>().map_err(|e| e.to_string())?;
    u64::try_from(ttl.seconds())
        .ok()
        .filter(|&n| n > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| "expected a positive duration such as 10s or 1m".to_owned())
}

#[derive(Clone, Copy)]
struct MaxTtl(Option<Ttl>);

fn parse_max_ttl(s: &str) -> Result<MaxTtl, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(MaxTtl(None));
    }
    s.parse::<Ttl>()
        .map(|t| MaxTtl(Some(t)))
        .map_err(|e| e.to_string())
}

fn parse_monitor(s: &str) -> Result<(String, String), String> {
    Target::parse(s).map(Target::into_pair)
}

fn parse_scheme(s: &str) -> Result<AuthScheme, String> {
    match s.to_ascii_lowercase().as_str() {
        "bearer" => Ok(AuthScheme::Bearer),
        "token" => Ok(AuthScheme::Token),
        _ => Err("expected bearer or token".into()),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        let code = exit::code(&e);
        if code != exit::OK {
            // One line, the whole chain of causes.
            let chain: Vec<String> = e.chain().map(ToString::to_string).collect();
            // Causes can quote the service or the user's arguments: shown, never obeyed.
            output::note(format!(
                "keydeck: {}",
                keydeck::text::visible(&chain.join(": "))
            ));
        }
        std::process::exit(code);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let credentials = CredentialOptions {
        profile: cli.profile.clone(),
        token_file: cli.token_file.clone(),
        insecure_storage: cli.insecure_storage,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Some(Command::Schema) => output::write(&server::sdl()),
        Some(Command::Serve(args)) => {
            init_logging(args.log_file.as_deref())?;
            let recover = args.recover_admin;
            let config = serve_config(args)?;
            if recover {
                let file = config.bootstrap_token_file.as_deref().ok_or_else(|| {
                    exit::usage("--recover-admin needs --bootstrap-token-file PATH")
                })?;
                runtime.block_on(server::recover_admin(&config.database_url, file))?;
                output::note(format!(
                    "keydeck: minted a new super_admin key; its token is in {} (0600)",
                    file.display()
                ));
                return Ok(());
            }
            runtime.block_on(server::serve(config))
        }
        Some(Command::Completions { shell }) => {
            // Generated into memory: clap_complete panics on a failed write, and a closed
            // pipe is not worth a panic.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "keydeck", &mut script);
            output::write(&String::from_utf8_lossy(&script))
        }
        Some(Command::Demo {
            monitor,
            no_postgres,
        }) => {
            init_logging(Some(&log_file()?))?;
            runtime.block_on(async {
                let demo = demo::start(monitor, !no_postgres).await?;
                let profile = Profile::new(demo.running.graphql_url());
                let built_in = Some(demo.built_in.clone());
                cli::open_tui(demo.client.clone(), "demo", &profile, "memory", built_in).await
            })
        }
        Some(Command::Login {
            endpoint,
            token_stdin,
            auth_scheme,
        }) => runtime.block_on(login::login(login::LoginArgs {
            endpoint,
            profile: cli.profile.unwrap_or_else(|| DEFAULT_PROFILE.to_owned()),
            token_stdin,
            auth_scheme,
            insecure_storage: cli.insecure_storage,
        })),
        Some(Command::Logout) => login::logout(cli.profile, cli.insecure_storage),
        Some(Command::Keys(command)) => {
            let c = connect(&credentials)?;
            runtime.block_on(async {
                match command {
                    KeysCommand::List(args) => keys::list(&c.client, args).await,
                    KeysCommand::Show { key, json } => keys::show(&c.client, &key, json).await,
                    KeysCommand::Create(args) => {
                        keys::create(&c.client, c.profile.clipboard, args).await
                    }
                    KeysCommand::Rotate(args) => {
                        keys::rotate(&c.client, c.profile.clipboard, args).await
                    }
                    KeysCommand::Disable(args) => keys::set_enabled(&c.client, args, false).await,
                    KeysCommand::Enable(args) => keys::set_enabled(&c.client, args, true).await,
                    KeysCommand::Find { json, .. } => keys::find_by_token(&c.client, json).await,
                }
            })
        }
        Some(Command::Identities(IdentitiesCommand::List(args))) => {
            let c = connect(&credentials)?;
            runtime.block_on(identities::list(&c.client, args))
        }
        Some(Command::Roles(command)) => {
            let c = connect(&credentials)?;
            runtime.block_on(async {
                match command {
                    RolesCommand::List { json } => roles::list(&c.client, json).await,
                    RolesCommand::Add { identity, roles } => {
                        roles::change(&c.client, &identity, &roles, true).await
                    }
                    RolesCommand::Remove { identity, roles } => {
                        roles::change(&c.client, &identity, &roles, false).await
                    }
                }
            })
        }
        Some(Command::Projects(command)) => {
            let c = connect(&credentials)?;
            runtime.block_on(async {
                match command {
                    ProjectsCommand::List { json } => projects::list(&c.client, json).await,
                    ProjectsCommand::Create { slug, name, roles } => {
                        projects::create(&c.client, &slug, &name, &roles).await
                    }
                }
            })
        }
        Some(Command::Members(command)) => {
            let c = connect(&credentials)?;
            runtime.block_on(async {
                match command {
                    MembersCommand::List { project, json } => {
                        members::list(&c.client, &project, json).await
                    }
                    MembersCommand::Add(args) => members::set(&c.client, args, false).await,
                    MembersCommand::Update(args) => members::set(&c.client, args, true).await,
                    MembersCommand::Remove { identity, project } => {
                        members::remove(&c.client, &identity, &project).await
                    }
                }
            })
        }
        Some(Command::Audit(args)) => {
            let c = connect(&credentials)?;
            runtime.block_on(audit::audit(&c.client, args))
        }
        Some(Command::Databases(DatabasesCommand::List { json })) => {
            let c = connect(&credentials)?;
            runtime.block_on(stats::databases(&c.client, json))
        }
        Some(Command::Stats {
            database,
            since,
            json,
        }) => {
            let c = connect(&credentials)?;
            runtime.block_on(stats::stats(&c.client, &database, since.as_deref(), json))
        }
        None => {
            let c = connect(&credentials)?;
            init_logging(Some(&log_file()?))?;
            runtime.block_on(cli::open_tui(
                c.client,
                &c.profile_name,
                &c.profile,
                &c.credential_source,
                None,
            ))
        }
    }
}

fn serve_config(args: ServeArgs) -> anyhow::Result<ServeConfig> {
    let database_url = match args.database_url {
        Some(url) => url,
        None => default_database_url()?,
    };
    for (name, url) in &args.monitor {
        if url_has_password(url) {
            output::note(format!(
                "keydeck: warning: the --monitor URL of {} carries a password, which `ps` shows \
                 to every user of this machine; put it in --monitor-file (mode 0600) or in \
                 PostgreSQL's password file (~/.pgpass) instead",
                keydeck::text::visible(name)
            ));
        }
    }
    let mut monitor = args.monitor;
    if let Some(path) = &args.monitor_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --monitor-file {}", path.display()))?;
        let targets = Target::parse_file(&text)
            .map_err(|e| anyhow::anyhow!("--monitor-file {}: {e}", path.display()))?;
        monitor.extend(targets.into_iter().map(Target::into_pair));
    }
    Ok(ServeConfig {
        listen: args.listen,
        database_url,
        bootstrap_token_file: args.bootstrap_token_file,
        max_key_ttl: args.max_key_ttl.0,
        public_url: args.public_url,
        monitor,
        sampling: Sampling {
            interval: args.stats_interval,
            retention: args.stats_retention,
            rollup: args.stats_rollup,
            rollup_retention: args.stats_rollup_retention,
        },
        limits: Limits {
            header_timeout: args.header_timeout,
            request_timeout: args.request_timeout,
            max_connections: args.max_connections.get(),
            auth_failures_per_minute: args.auth_failures_per_minute,
        },
        audit_retention: args.audit_retention,
        usage_retention: args.usage_retention,
    })
}

/// Whether a PostgreSQL URL carries a password, in its user part or as `password=`.
fn url_has_password(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| {
        u.password().is_some()
            || u.query_pairs()
                .any(|(k, _)| k.eq_ignore_ascii_case("password"))
    })
}

fn log_file() -> anyhow::Result<PathBuf> {
    Ok(keydeck::platform::state_dir()?.join("keydeck.log"))
}

fn default_database_url() -> anyhow::Result<String> {
    let dir = dirs::data_dir()
        .context("no data directory (set XDG_DATA_HOME or pass --db sqlite:PATH)")?
        .join("keydeck");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join("keydeck.db").display()))
}

/// Logs go to stderr (the service) or a file (the TUI, which owns the terminal). Tokens are
/// never logged: no code path passes one to `tracing`.
fn init_logging(file: Option<&Path>) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KEYDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            // Owner-only, as the other files the service writes.
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let f = options
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init();
        }
        // `keydeck serve 2>serve.log`: colours only for a terminal, not escape codes in a file.
        None => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every flag and argument of every command, with the path of commands to it.
    fn every_arg(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for arg in command.get_arguments() {
            out.push((path.to_owned(), arg.clone()));
        }
        for sub in command.get_subcommands() {
            every_arg(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_has_a_help_line() {
        let mut command = Cli::command();
        command.build();
        let mut args = Vec::new();
        every_arg(&command, "keydeck", &mut args);
        let missing: Vec<String> = args
            .iter()
            .filter(|(_, arg)| !matches!(arg.get_id().as_str(), "help" | "version"))
            .filter(|(_, arg)| arg.get_help().is_none() && arg.get_long_help().is_none())
            .map(|(path, arg)| format!("{path} --{}", arg.get_id()))
            .collect();
        assert!(missing.is_empty(), "flags without help: {missing:#?}");
        for sub in command.get_subcommands() {
            assert!(sub.get_about().is_some(), "{} has no about", sub.get_name());
        }
    }
}
