//! `slotkeeper`: wires configuration, storage and the HTTP server; the subcommands of the CLI.

mod adapters;
mod calendars;
mod cli;
mod commands;
mod config;
mod counted;
mod host_cmd;
mod lifecycle;
mod link_cmd;
mod listing;
mod outbound;
mod server;
mod storage;
mod telemetry;
mod webhook_cmd;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::{Cli, Command, HostCommand, LinkCommand};
use crate::config::Config;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match telemetry::LogFormat::from_args(cli.settings.telemetry()) {
        Ok(format) => telemetry::init_logging(format),
        Err(e) => {
            eprintln!("error: configuration: {e:#}");
            return ExitCode::FAILURE;
        }
    }
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

async fn run(cli: Cli) -> Result<()> {
    let config = Config::from_settings(&cli.settings).context("configuration")?;
    let (storage, migrated) = storage::open_reporting(
        &config.database_url,
        config.derived_key("token-seal"),
        config.database_connect_timeout,
    )
    .await?;
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Migrate) && !migrated.applied.is_empty() {
        tracing::info!(
            count = migrated.applied.len(),
            "applied migrations: {}",
            migration_names(&migrated)
        );
    }
    match command {
        Command::Serve => {
            let bound = server::bind(&config)?;
            let outbound = outbound::Outbound::from_config(&config)?;
            let (wiring, requests) = calendar_wiring(&config, &storage)?;
            let dispatcher = outbound
                .dispatcher(&storage, &bound.base_url)
                .with_calendar(wiring.calendars.clone());
            lifecycle::with_dispatch(
                &config,
                &storage,
                dispatcher,
                Some((wiring.clone(), requests)),
                server::start(bound, &storage, &outbound, &wiring)?,
            )
            .await
        }
        Command::Migrate => {
            println!("{}", migrate_message(&migrated));
            Ok(())
        }
        Command::Host(HostCommand::List(how)) => listing::host_list(&storage, &how).await,
        Command::Link(LinkCommand::List(args)) => {
            listing::link_list(&storage, &args, &site(&config)).await
        }
        Command::Host(HostCommand::Add(args)) => {
            let id = host_cmd::host_add(&storage, &args).await?;
            println!("{id}");
            Ok(())
        }
        Command::Host(HostCommand::Password(args)) => {
            let id = host_cmd::host_password(&storage, &args).await?;
            println!("{id}");
            Ok(())
        }
        Command::Link(LinkCommand::Add(args)) => {
            let slug = link_cmd::link_add(&storage, &args).await?;
            println!("{}/book/{slug}", site(&config));
            Ok(())
        }
        Command::Demo => demo(&config, &storage).await,
        Command::Webhook(command) => webhook_cmd::webhook(&config, &storage, command).await,
        Command::Outbox(command) => webhook_cmd::outbox(&storage, command).await,
    }
}

/// Where the site is reached: `PUBLIC_BASE_URL`, else `http://{BIND}`.
fn site(config: &Config) -> String {
    config
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.bind))
}

/// What `migrate` says: which migrations it applied, or that there were none to apply.
fn migrate_message(report: &storage::MigrationReport) -> String {
    match report.applied.len() {
        0 => format!("database is up to date ({} migrations)", report.known),
        1 => format!("applied 1 migration ({})", migration_names(report)),
        n => format!("applied {n} migrations ({})", migration_names(report)),
    }
}

fn migration_names(report: &storage::MigrationReport) -> String {
    report
        .applied
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The calendar integrations of `config` on `storage`, and the receiving end of the queue the
/// web side puts verified push notifications in.
fn calendar_wiring(
    config: &Config,
    storage: &storage::Storage,
) -> Result<(
    server::CalendarWiring,
    tokio::sync::mpsc::Receiver<booking_core::connections::ConnectionId>,
)> {
    let calendars = std::sync::Arc::new(calendars::connected(
        &config.calendars,
        storage.calendars.clone(),
        config.public_base_url.as_deref(),
    )?);
    let (queue, requests) = dispatch::calendar_jobs::QueuedSyncs::new();
    Ok((
        server::CalendarWiring {
            calendars,
            sync_requests: std::sync::Arc::new(queue),
            cron_secret: config.calendars.cron_secret.clone(),
        },
        requests,
    ))
}

/// Where the file mailer writes, and how many `.eml` files are there.
fn mail_files(config: &Config) -> Option<(String, usize)> {
    let dir = config.mailer_url.strip_prefix("file://")?;
    let count = std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    });
    Some((dir.to_owned(), count))
}

async fn demo(config: &Config, storage: &storage::Storage) -> Result<()> {
    let bound = server::bind(config)?;
    let scheduler = server::scheduler(storage);
    let booking = commands::demo_setup(storage, &scheduler, &config.data_dir).await?;
    // Deliver the sample booking's mails before showing where they went.
    let outbound = outbound::Outbound::from_config(config)?;
    let (wiring, requests) = calendar_wiring(config, storage)?;
    let dispatcher = outbound
        .dispatcher(storage, &bound.base_url)
        .with_calendar(wiring.calendars.clone());
    host_cmd::seed_demo_past_meeting(storage, &booking).await?;
    let (login, password) = host_cmd::demo_login(storage, booking.host()).await?;
    dispatcher
        .run_once(booking_core::ports::Clock::now(&adapters::SystemClock))
        .await
        .context("delivering the sample booking's notifications")?;
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
    match mail_files(config) {
        Some((dir, count)) => println!("  Mail (.eml files):  {dir} ({count} files)"),
        None => println!("  Mail:               sent over SMTP (MAILER_URL)"),
    }
    match &config.sms {
        Some(sms_out::SmsUrl::Files(dir)) => {
            println!(
                "  Texts (SMS):        {} (one file per text)",
                dir.display()
            );
        }
        Some(sms_out::SmsUrl::Twilio(_)) => {
            println!("  Texts (SMS):        through SMS_URL; replies at {base}/sms/inbound");
        }
        None => println!("  Texts (SMS):        off (set SMS_URL; see docs/SMS.md)"),
    }
    println!("  Host login:         {base}/login");
    println!("    email:            {login}");
    println!("    password:         {password}");
    println!("\nPress Ctrl-C to stop.");
    lifecycle::with_dispatch(
        config,
        storage,
        dispatcher,
        Some((wiring.clone(), requests)),
        server::start(bound, storage, &outbound, &wiring)?,
    )
    .await
}
