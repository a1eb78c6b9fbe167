//! `frontdoor`: the command line. Thin glue over the library crates: parse arguments, open the
//! store, call a service, print the outcome. Every failure exits non-zero with one line.

mod admin;
mod bench;
mod casework;
mod demo;
mod import;
mod link;

use anyhow::{Context, Result};

/// mimalloc rather than glibc's allocator: after the person index is built, glibc consolidated
/// the millions of small blocks the build freed at the first large allocation that followed,
/// and a record check paid for it (5–60 ms for the first checks at 1M records, 0.2 ms after).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Args, Parser, Subcommand};
use frontdoor_store::Store;
use frontdoor_web::Config;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "frontdoor", version, about = "The multi-agency children's front door", propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build (first run only) and serve a fictional demo borough with users of every role.
    Demo(demo::DemoArgs),
    /// Serve Frontdoor from a configuration file, a data directory (SQLite) or a PostgreSQL URL.
    Serve {
        #[command(flatten)]
        store: StoreArgs,
        /// Address to listen on (overrides the config file and FRONTDOOR_LISTEN).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Manage partner agencies.
    Agency {
        #[command(subcommand)]
        command: admin::AgencyCommand,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// Import other systems' data (machine feeds).
    Import {
        #[command(subcommand)]
        command: import::ImportCommand,
    },
    /// Source systems of person records, and the agencies that run them.
    Source {
        #[command(subcommand)]
        command: link::SourceCommand,
    },
    /// The person index: deduplicate it, measure it against ground truth.
    Link {
        #[command(subcommand)]
        command: link::LinkCommand,
    },
    /// Synthetic data for evaluation and benchmarks (never real people).
    Synth {
        #[command(subcommand)]
        command: link::SynthCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Measure performance (results belong in BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: bench::BenchCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute both hash chains (event log, access log). Exit 0 when intact; otherwise
    /// non-zero, naming the first broken entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// Where the data lives: a config file, a data directory (SQLite), or a database URL.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database (default ./frontdoor-data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://...` (or `sqlite://PATH`) instead of the data directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    pub fn config(&self) -> Result<Config> {
        let mut cfg = Config::load(self.config.as_deref())?;
        if let Some(d) = &self.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(u) = &self.database_url {
            cfg.database_url = u.clone();
        }
        Ok(cfg)
    }

    pub async fn open(&self) -> Result<(Config, Store)> {
        let cfg = self.config()?;
        let store = open_store(&cfg).await?;
        Ok((cfg, store))
    }
}

pub async fn open_store(cfg: &Config) -> Result<Store> {
    if cfg.database_url.is_empty() {
        create_private_dir(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    }
    let url = cfg.effective_database_url();
    Store::open(&url).await.with_context(|| format!("cannot open the database{}", describe(&url)))
}

/// Create the data directory owner-only (0700) when it is new: the database and its WAL hold
/// personal data and are created with the process umask, so the directory is what keeps other
/// local users out. An existing directory keeps the mode its operator gave it.
fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Name a database for messages without printing credentials.
fn describe(url: &str) -> String {
    if url.starts_with("sqlite:") { format!(" {url}") } else { String::new() }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FRONTDOOR_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("FRONTDOOR_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Serve until Ctrl-C or SIGTERM, then finish in-flight requests.
pub async fn serve(cfg: Config, store: Store) -> Result<()> {
    let app = frontdoor_web::Application::build(cfg, store.clone()).await?;
    // The last line a launcher reads before it may stop reading stdout: print nothing after it.
    println!("The public site needs no sign-in; staff sign in at /login.");
    println!("Frontdoor is running at http://{}/", app.local_addr());
    app.run_with_shutdown(shutdown_signal()).await.context("server failed")?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("shutting down");
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await.map(|_| ExitCode::SUCCESS),
        Command::Serve { store, listen } => {
            let (mut cfg, store) = store.open().await?;
            if let Some(l) = listen {
                cfg.listen = l;
            }
            serve(cfg, store).await.map(|_| ExitCode::SUCCESS)
        }
        Command::Agency { command } => admin::agency(command).await.map(|_| ExitCode::SUCCESS),
        Command::User { command } => admin::user(command).await.map(|_| ExitCode::SUCCESS),
        Command::Audit { command: AuditCommand::Verify { store } } => {
            let (_, store) = store.open().await?;
            let report = store.verify_chains().await?;
            if report.intact() {
                println!("audit chains intact: {} events, {} access-log entries", report.events, report.access_entries);
                Ok(ExitCode::SUCCESS)
            } else {
                for b in &report.breaks {
                    println!("{b}");
                }
                eprintln!("error: the audit trail has been tampered with ({})", report.breaks[0]);
                Ok(ExitCode::from(2))
            }
        }
        Command::Import { command } => import::run(command).await.map(|_| ExitCode::SUCCESS),
        Command::Link { command } => link::run(command).await.map(|_| ExitCode::SUCCESS),
        Command::Source { command } => link::source(command).await.map(|_| ExitCode::SUCCESS),
        Command::Synth { command } => link::synth(command).map(|_| ExitCode::SUCCESS),
        Command::Bench { command } => bench::run(command).await.map(|_| ExitCode::SUCCESS),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // One line: the error and its causes.
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}
