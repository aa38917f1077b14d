//! The command line: `serve` (default), `migrate`, `host add`, `link add`, `demo`.

use clap::{Args, Parser, Subcommand};

/// Slotkeeper: a booking engine you own. Configuration comes from the environment (each
/// variable also has a flag); the options below list every variable with its default.
#[derive(Debug, Parser)]
#[command(name = "slotkeeper", version)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The configuration, from the environment.
    #[command(flatten)]
    pub settings: crate::config::Settings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the booking pages and the API.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage hosts.
    #[command(subcommand)]
    Host(HostCommand),
    /// Manage booking links.
    #[command(subcommand)]
    Link(LinkCommand),
    /// Start with a demo host, an `intro` link and a sample booking on the embedded SQLite
    /// database, and print where to click.
    Demo,
    /// Manage a host's outbound webhook subscriptions.
    #[command(subcommand)]
    Webhook(crate::webhook_cmd::WebhookCommand),
    /// Inspect the outbox (e.g. dead entries).
    #[command(subcommand)]
    Outbox(crate::webhook_cmd::OutboxCommand),
}

/// `host …`
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Create a host and print its id; with a password, the host can log in at /login.
    Add(HostAdd),
    /// Set or reset a host's login password.
    Password(HostPassword),
}

/// `host add`
#[derive(Debug, Args)]
pub struct HostAdd {
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// Where host notifications go.
    #[arg(long)]
    pub email: String,
    /// IANA time zone, e.g. Europe/Berlin.
    #[arg(long)]
    pub timezone: String,
    /// Login password (at least 8 characters); else SLOTKEEPER_HOST_PASSWORD, else asked for
    /// at a terminal. Without one the host cannot log in until `host password` sets it.
    #[arg(long)]
    pub password: Option<String>,
}

/// `host password`
#[derive(Debug, Args)]
pub struct HostPassword {
    /// The host's login (their email address).
    #[arg(long)]
    pub email: String,
    /// The host's id, for a host created without a password (no login yet).
    #[arg(long)]
    pub host: Option<String>,
    /// The new password; else SLOTKEEPER_HOST_PASSWORD, else asked for at a terminal.
    #[arg(long)]
    pub password: Option<String>,
}

/// `link …`
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Create (or replace, by slug) a booking link.
    Add(LinkAdd),
}

/// `link add`
#[derive(Debug, Args)]
pub struct LinkAdd {
    /// The host's id, as printed by `host add`.
    #[arg(long)]
    pub host: String,
    /// URL name: /book/{slug}.
    #[arg(long)]
    pub slug: String,
    /// Title shown to attendees.
    #[arg(long)]
    pub title: String,
    /// Meeting length in minutes.
    #[arg(long, default_value_t = 30)]
    pub duration: i64,
    /// Minutes between offered start times (default: the duration).
    #[arg(long)]
    pub interval: Option<i64>,
    /// Working hours, e.g. 09:00-17:00 (several: 09:00-12:00,13:00-17:00).
    #[arg(long, default_value = "09:00-17:00")]
    pub hours: String,
    /// Working days, e.g. mon,tue,wed,thu,fri.
    #[arg(long, default_value = "mon,tue,wed,thu,fri")]
    pub days: String,
    /// IANA zone of the hours (default: the host's).
    #[arg(long)]
    pub timezone: Option<String>,
    /// Minutes kept free before each meeting.
    #[arg(long, default_value_t = 0)]
    pub buffer_before: i64,
    /// Minutes kept free after each meeting.
    #[arg(long, default_value_t = 0)]
    pub buffer_after: i64,
    /// Minimum notice in minutes.
    #[arg(long, default_value_t = 0)]
    pub notice: i64,
    /// How many days ahead slots are offered.
    #[arg(long)]
    pub max_days_ahead: Option<u32>,
    /// Ask attendees to reconfirm this many minutes before the meeting (with
    /// --reconfirm-deadline-minutes; e.g. 1440 = 24 hours).
    #[arg(long, requires = "reconfirm_deadline_minutes")]
    pub reconfirm_ask_minutes: Option<i64>,
    /// Cancel a booking not reconfirmed this many minutes before the meeting (less than
    /// --reconfirm-ask-minutes).
    #[arg(long, requires = "reconfirm_ask_minutes")]
    pub reconfirm_deadline_minutes: Option<i64>,
}
