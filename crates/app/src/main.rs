//! `slotkeeper`: wires configuration, storage and the HTTP server; the subcommands of the CLI.

mod adapters;
mod cli;
mod commands;
mod config;
mod server;
mod storage;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command, HostCommand, LinkCommand};
use crate::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_env().context("configuration")?;
    let storage = storage::open(&config.database_url, config.derived_key("token-seal")).await?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::run(server::bind(&config)?, &storage).await,
        Command::Migrate => {
            println!("database is up to date");
            Ok(())
        }
        Command::Host(HostCommand::Add(args)) => {
            let id = commands::host_add(&storage, &args).await?;
            println!("{id}");
            Ok(())
        }
        Command::Link(LinkCommand::Add(args)) => {
            let slug = commands::link_add(&storage, &args).await?;
            println!(
                "{}/book/{slug}",
                config
                    .public_base_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", config.bind))
            );
            Ok(())
        }
        Command::Demo => demo(&config, &storage).await,
    }
}

async fn demo(config: &Config, storage: &storage::Storage) -> Result<()> {
    let bound = server::bind(config)?;
    let scheduler = server::scheduler(storage);
    let booking = commands::demo_setup(storage, &scheduler).await?;
    let base = &bound.base_url;
    let token = booking.token().expose();
    let zone = booking.invitee().time_zone();
    let when = booking
        .slot()
        .start()
        .with_timezone(&zone.tz())
        .format("%A %B %-d, %H:%M");
    println!("Slotkeeper demo is running.\n");
    println!("  Booking page:       {base}/book/intro");
    println!("  Sample booking:     {when} ({zone}), Sam Sample");
    println!("    reschedule:       {base}/book/reschedule/{token}");
    println!("    cancel:           {base}/book/cancel/{token}");
    println!("  Public API:         {base}/api/v1/openapi.json");
    println!("  Database:           {}", config.database_url);
    println!("  Host login:         not available yet: the host dashboard is still being built.");
    println!("\nPress Ctrl-C to stop.");
    server::run(bound, storage).await
}
