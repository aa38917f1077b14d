//! The command line: `serve` (default), `migrate`, `host add|list|password`, `link add|list`,
//! `demo`, `webhook …`, `outbox …`.

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
    /// List every host: id, name, email, time zone and how many links it has.
    List(Listing),
}

/// `host list`, `link list`: how to print.
#[derive(Debug, Args)]
pub struct Listing {
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
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
    Add(Box<LinkAdd>),
    /// List booking links (every host's, or one host's): id, host, slug, title, duration and
    /// booking URL.
    List(LinkList),
}

/// `link list`
#[derive(Debug, Args)]
pub struct LinkList {
    /// Only this host's links (an id as `host list` prints it).
    #[arg(long)]
    pub host: Option<String>,
    /// How to print.
    #[command(flatten)]
    pub listing: Listing,
}

/// `link add`: every setting of the dashboard's link editor but the link's own workflow
/// (reminders), which the editor and the API set.
#[derive(Debug, Args)]
pub struct LinkAdd {
    /// The host's id, as printed by `host add` and `host list`.
    #[arg(long)]
    pub host: String,
    /// URL name: /book/{slug}.
    #[arg(long)]
    pub slug: String,
    /// Title shown to attendees.
    #[arg(long)]
    pub title: String,
    /// What the meeting is about, shown on the booking page, in mails and invitations (up to
    /// 5000 characters; line breaks kept).
    #[arg(long)]
    pub description: Option<String>,
    /// Where it takes place: an address or a video-call URL (one line, up to 500
    /// characters).
    #[arg(long)]
    pub location: Option<String>,
    /// A question on the booking form; repeat for more, in order (at most 20). End it with
    /// `*` to make an answer required: --question "Company *" --question "Anything else?".
    #[arg(long = "question", value_name = "TEXT")]
    pub questions: Vec<String>,
    /// Open a CRM deal for each booking.
    #[arg(long)]
    pub create_deal: bool,
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
    /// Other hours on one weekday, e.g. sat=10:00-14:00 or fri=09:00-12:00 (opens the day if
    /// --days leaves it out); repeatable.
    #[arg(long = "day-hours", value_name = "DAY=HOURS")]
    pub day_hours: Vec<String>,
    /// Other hours on one date, e.g. 2027-03-03=closed or 2027-03-06=10:00-12:00;
    /// repeatable.
    #[arg(long = "date-hours", value_name = "DATE=HOURS")]
    pub date_hours: Vec<String>,
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
    /// How many days ahead slots are offered, 1 to 3650 (default: no limit).
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
