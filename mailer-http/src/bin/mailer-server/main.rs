//! `mailer-server`: the sample host. `serve` answers the tracking routes and runs workers and timers;
//! `worker` runs workers and timers only (more processes on one PostgreSQL); `migrate` applies the
//! store's migrations; `demo` runs the whole loop on this machine with no outside service.

mod config;
#[cfg(feature = "demo")]
mod demo;
mod serve;
mod token;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use config::{Config, LogFormat};

/// The server allocates per request (hyper, axum, the hit path): mimalloc's thread-local free lists cost
/// a fraction of glibc malloc's locked arenas there (BENCHMARKS.md, tracking).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Email automation for Kommo: the HTTP host, the workers and a demo.
#[derive(Debug, Parser)]
#[command(name = "mailer-server", version)]
struct Cli {
    /// The TOML configuration file (default: ./mailer.toml when it exists); `MAILER_…` variables override it.
    #[arg(long, short, global = true, env = "MAILER_CONFIG")]
    config: Option<PathBuf>,
    /// Write logs as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// HTTP (tracking, pages, forms, unsubscribe, health, metrics) and workers and timers.
    Serve,
    /// Workers and timers only.
    Worker,
    /// Applies the store's migrations and exits.
    Migrate,
    /// API tokens of the admin API: `token create --account A --user U`, `token revoke …`.
    Token(token::TokenArgs),
    /// Everything on this machine: SQLite, a fake Kommo, an .eml outbox and sample data.
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env: config::Env = std::env::vars().collect();
    #[cfg(feature = "demo")]
    if let Command::Demo(args) = &cli.command {
        init_logs(cli.log_json, true);
        return finish(runtime().and_then(|rt| rt.block_on(demo::run(args.clone()))));
    }
    let config = match Config::load(cli.config.as_deref(), &env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mailer-server: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(cli.log_json || config.log_format == LogFormat::Json, false);
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            match cli.command {
                Command::Serve => serve::serve(&config, true).await,
                Command::Worker => serve::serve(&config, false).await,
                Command::Migrate => serve::migrate(&config).await,
                Command::Token(args) => token::run(&config, args).await,
                #[cfg(feature = "demo")]
                Command::Demo(_) => Ok(()),
            }
        })
    });
    finish(result)
}

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn finish(result: Result<(), BoxError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "mailer-server failed");
            eprintln!("mailer-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs(json: bool, compact: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi);
    let result = if json {
        builder.json().try_init()
    } else if compact {
        builder.compact().without_time().try_init()
    } else {
        builder.try_init()
    };
    if let Err(e) = result {
        eprintln!("mailer-server: logs: {e}");
    }
}
