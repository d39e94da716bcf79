#![forbid(unsafe_code)]
//! The `keydeck` command: parse, set up logging, dispatch.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use keydeck::server::{self, ServeConfig};
use keydeck::ttl::Ttl;

#[derive(Parser)]
#[command(name = "keydeck", version, about = "Administer API keys from a terminal")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the reference key service.
    Serve(ServeArgs),
    /// Print the GraphQL schema (SDL) the service speaks.
    Schema,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7100")]
    listen: SocketAddr,
    /// Store URL, `sqlite:PATH`; defaults to keydeck.db under the XDG data directory.
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
    /// Serve query statistics of a PostgreSQL database: `NAME=postgres://…` (repeatable).
    #[arg(long, value_parser = parse_monitor)]
    monitor: Vec<(String, String)>,
    /// Log to this file instead of stderr.
    #[arg(long)]
    log_file: Option<PathBuf>,
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
    let (name, url) = s
        .split_once('=')
        .ok_or("expected NAME=postgres://user@host/db")?;
    if name.is_empty() || !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("expected NAME=postgres://user@host/db".into());
    }
    Ok((name.to_owned(), url.to_owned()))
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Schema) => {
            print!("{}", server::sdl());
            Ok(())
        }
        Some(Command::Serve(args)) => run_serve(args),
        None => {
            anyhow::bail!("the terminal UI is not part of this build yet; try `keydeck serve`")
        }
    }
}

fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_file.as_deref())?;
    let database_url = match args.database_url {
        Some(url) => url,
        None => default_database_url()?,
    };
    let config = ServeConfig {
        listen: args.listen,
        database_url,
        bootstrap_token_file: args.bootstrap_token_file,
        max_key_ttl: args.max_key_ttl.0,
        public_url: args.public_url,
        monitor: args.monitor,
    };
    tokio::runtime::Runtime::new()?.block_on(server::serve(config))
}

fn default_database_url() -> anyhow::Result<String> {
    let dir = dirs::data_dir()
        .context("no data directory (set XDG_DATA_HOME or pass --db sqlite:PATH)")?
        .join("keydeck");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join("keydeck.db").display()))
}

fn init_logging(file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("KEYDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening log file {}", path.display()))?;
            builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init();
        }
        None => builder.with_writer(std::io::stderr).init(),
    }
    Ok(())
}
