//! Configuration from the environment (12-factor) through clap's `env` support, so `--help`
//! lists every variable with its default; bad values get errors naming the variable.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// `DATABASE_URL`'s default: the embedded SQLite file.
const DEFAULT_DATABASE_URL: &str = "sqlite://data/slotkeeper.db";
/// `DATABASE_CONNECT_TIMEOUT_SECONDS`'s default.
const DEFAULT_CONNECT_TIMEOUT: &str = "10";
/// `BIND`'s default.
const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// `MAILER_URL`'s default: `.eml` files for development.
const DEFAULT_MAILER_URL: &str = "file://data/mail";
/// `MAIL_FROM`'s default.
const DEFAULT_MAIL_FROM: &str = "Slotkeeper <no-reply@localhost>";
/// `DISPATCH_WORKERS`'s default.
const DEFAULT_DISPATCH_WORKERS: &str = "2";
/// `DISPATCH_LEASE_SECONDS`'s default.
const DEFAULT_DISPATCH_LEASE: &str = "60";
const DEFAULT_BOOKINGS_PER_CLIENT: &str = "20";
/// `WEBHOOKS_ALLOW_PRIVATE_TARGETS`'s default.
const DEFAULT_ALLOW_PRIVATE_TARGETS: &str = "false";

/// The settings as clap reads them, each from its environment variable (or the matching
/// flag), so that `--help` lists every variable with its default. Values are checked, with
/// messages naming the variable, by [`Config::from_settings`]; an empty value counts as unset.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Where bookings live: sqlite://FILE (embedded) or postgres://…
    #[arg(long, global = true, value_name = "URL", env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Seconds to wait for the database server at start, 1 to 600: an unreachable Postgres
    /// fails after this with a message naming the server (a refusing one is tried again until
    /// then, as one still starting).
    #[arg(long, global = true, value_name = "SECONDS", env = "DATABASE_CONNECT_TIMEOUT_SECONDS", default_value = DEFAULT_CONNECT_TIMEOUT)]
    database_connect_timeout_seconds: String,
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, global = true, value_name = "ADDR", env = "BIND", default_value = DEFAULT_BIND)]
    bind: String,
    /// Public URL of the site, for links in mails and API answers [default: http://{BIND}]
    #[arg(long, global = true, value_name = "URL", env = "PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// Where mail goes: smtp://[user:password@]host[:port][?tls=starttls], smtps://… or
    /// file://DIR (.eml files).
    #[arg(long, global = true, value_name = "URL", env = "MAILER_URL", default_value = DEFAULT_MAILER_URL)]
    mailer_url: String,
    /// The sender of every mail.
    #[arg(long, global = true, value_name = "MAILBOX", env = "MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    mail_from: String,
    /// Outbox delivery workers per process, 0 to 64 (0 turns delivery off).
    #[arg(long, global = true, value_name = "N", env = "DISPATCH_WORKERS", default_value = DEFAULT_DISPATCH_WORKERS)]
    dispatch_workers: String,
    /// Seconds an outbox entry a worker claimed stays invisible to the others, 5 to 3600: how
    /// soon a crashed instance's entries are delivered by another. Keep it longer than the
    /// slowest delivery (webhooks time out after 5 s).
    #[arg(long, global = true, value_name = "SECONDS", env = "DISPATCH_LEASE_SECONDS", default_value = DEFAULT_DISPATCH_LEASE)]
    dispatch_lease_seconds: String,
    /// Bookings one client address may ask for per hour, 1 to 1000000 (public API and booking
    /// form together).
    #[arg(long, global = true, value_name = "N", env = "BOOKINGS_PER_CLIENT_PER_HOUR", default_value = DEFAULT_BOOKINGS_PER_CLIENT)]
    bookings_per_client_per_hour: String,
    /// Whether webhook URLs may point at loopback, private or link-local addresses (true for
    /// development and tests only).
    #[arg(long, global = true, value_name = "BOOL", env = "WEBHOOKS_ALLOW_PRIVATE_TARGETS", default_value = DEFAULT_ALLOW_PRIVATE_TARGETS)]
    webhooks_allow_private_targets: String,
    /// Where generated files (the secret key) live [default: the SQLite file's directory,
    /// else data]
    #[arg(long, global = true, value_name = "DIR", env = "DATA_DIR")]
    data_dir: Option<String>,
    /// At least 32 characters; keys token sealing and sessions. Prefer the environment to the
    /// flag [default: generated on first run and kept in {DATA_DIR}/secret_key]
    #[arg(
        long,
        global = true,
        value_name = "KEY",
        env = "SECRET_KEY",
        hide_env_values = true
    )]
    secret_key: Option<String>,
    /// Where text messages (SMS) go: twilio://SID:TOKEN@api.twilio.com?from=%2B15550001111 (any
    /// Twilio-compatible API host; &tls=false for plain HTTP) or file://DIR (one file per text)
    /// [default: none: no texts are sent]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "SMS_URL",
        hide_env_values = true
    )]
    sms_url: Option<String>,
    /// Calendar integrations (Google, Microsoft) and their jobs.
    #[command(flatten)]
    calendars: crate::calendars::CalendarArgs,
    /// Logs and metrics.
    #[command(flatten)]
    telemetry: crate::telemetry::TelemetryArgs,
}

impl Settings {
    /// The log and metrics settings (the log format is needed before the rest is checked).
    pub fn telemetry(&self) -> &crate::telemetry::TelemetryArgs {
        &self.telemetry
    }
}

/// Everything the binary reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` (default `sqlite://data/slotkeeper.db`) or `postgres://…`.
    pub database_url: String,
    /// `DATABASE_CONNECT_TIMEOUT_SECONDS`: how long to wait for the database server at start
    /// (default 10 s).
    pub database_connect_timeout: std::time::Duration,
    /// Address to listen on (default `127.0.0.1:8080`; port 0 picks a free one).
    pub bind: String,
    /// Public URL of the site, for links in mails and API answers; default `http://{bind}`.
    pub public_base_url: Option<String>,
    /// `smtp://…`, `smtps://…` or `file://DIR` (default `file://data/mail`).
    pub mailer_url: String,
    /// `MAIL_FROM`: the sender of every mail (default `Slotkeeper <no-reply@localhost>`).
    pub mail_from: String,
    /// `DISPATCH_WORKERS`: outbox delivery workers per process (default 2, 0 turns delivery off).
    pub dispatch_workers: usize,
    /// `DISPATCH_LEASE_SECONDS`: how long a claimed outbox entry stays with its worker
    /// (default 60 s); a crashed instance's entries come back after it.
    pub dispatch_lease: chrono::TimeDelta,
    /// `BOOKINGS_PER_CLIENT_PER_HOUR`: bookings one client address may ask for per hour
    /// (default 20).
    pub bookings_per_client_per_hour: u32,
    /// `WEBHOOKS_ALLOW_PRIVATE_TARGETS`: whether webhook URLs may point at loopback, private
    /// or link-local addresses (default false; true for development and tests).
    pub webhooks_allow_private_targets: bool,
    /// Where generated files (the secret key, the demo's sample booking) live.
    pub data_dir: PathBuf,
    /// Calendar integrations.
    pub calendars: crate::calendars::CalendarConfig,
    /// `SMS_URL`: where text messages go; `None` sends none.
    pub sms: Option<sms_out::SmsUrl>,
    /// `METRICS_TOKEN`, `METRICS_BIND`: where `/metrics` is served, if anywhere.
    pub metrics: crate::telemetry::MetricsConfig,
    secret: Secret,
}

/// The application secret; never printed.
#[derive(Clone)]
struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A setting's value trimmed, or `None` when it is unset or blank.
fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A setting with a default: blank counts as unset.
fn or_default(value: &str, default: &str) -> String {
    given(Some(value)).unwrap_or_else(|| default.to_owned())
}

impl Config {
    /// Checks the settings clap read. `SECRET_KEY`, if unset, is generated on first run and
    /// kept in `{data_dir}/secret_key`, readable by the owner only.
    ///
    /// # Errors
    /// A message naming the variable and what is wrong with it.
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let database_url = or_default(&settings.database_url, DEFAULT_DATABASE_URL);
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                scheme_of(&database_url)
            );
        }
        let timeout = or_default(
            &settings.database_connect_timeout_seconds,
            DEFAULT_CONNECT_TIMEOUT,
        );
        let database_connect_timeout = timeout
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=600).contains(n))
            .map(std::time::Duration::from_secs)
            .with_context(|| {
                format!(
                    "DATABASE_CONNECT_TIMEOUT_SECONDS must be a number from 1 to 600, got {timeout:?}"
                )
            })?;
        let bind = or_default(&settings.bind, DEFAULT_BIND);
        bind.parse::<std::net::SocketAddr>().with_context(|| {
            format!("BIND must be an address such as 127.0.0.1:8080, got {bind:?}")
        })?;
        let public_base_url = given(settings.public_base_url.as_deref());
        if let Some(url) = &public_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("PUBLIC_BASE_URL must start with http:// or https:// (got {url:?})");
        }
        let mailer_url = or_default(&settings.mailer_url, DEFAULT_MAILER_URL);
        if !(mailer_url.starts_with("smtp://")
            || mailer_url.starts_with("smtps://")
            || mailer_url.starts_with("file://"))
        {
            bail!(
                "MAILER_URL must start with smtp://, smtps:// or file:// (got {:?})",
                scheme_of(&mailer_url)
            );
        }
        let mail_from = or_default(&settings.mail_from, DEFAULT_MAIL_FROM);
        let workers = or_default(&settings.dispatch_workers, DEFAULT_DISPATCH_WORKERS);
        let dispatch_workers = workers
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= 64)
            .with_context(|| {
                format!("DISPATCH_WORKERS must be a number from 0 to 64, got {workers:?}")
            })?;
        let lease = or_default(&settings.dispatch_lease_seconds, DEFAULT_DISPATCH_LEASE);
        let dispatch_lease = lease
            .parse::<i64>()
            .ok()
            .filter(|n| (5..=3600).contains(n))
            .map(chrono::TimeDelta::seconds)
            .with_context(|| {
                format!("DISPATCH_LEASE_SECONDS must be a number from 5 to 3600, got {lease:?}")
            })?;
        let per_client = or_default(
            &settings.bookings_per_client_per_hour,
            DEFAULT_BOOKINGS_PER_CLIENT,
        );
        let bookings_per_client_per_hour = per_client
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .with_context(|| {
                format!(
                    "BOOKINGS_PER_CLIENT_PER_HOUR must be a number from 1 to 1000000, got {per_client:?}"
                )
            })?;
        let webhooks_allow_private_targets = match or_default(
            &settings.webhooks_allow_private_targets,
            DEFAULT_ALLOW_PRIVATE_TARGETS,
        )
        .to_ascii_lowercase()
        .as_str()
        {
            "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            other => {
                bail!("WEBHOOKS_ALLOW_PRIVATE_TARGETS must be true or false, got {other:?}")
            }
        };
        let sms = given(settings.sms_url.as_deref())
            .map(|url| sms_out::SmsUrl::parse(&url))
            .transpose()
            // The message never repeats the URL: it may hold the auth token.
            .map_err(|e| anyhow::anyhow!("SMS_URL: {e}"))?;
        let data_dir = given(settings.data_dir.as_deref())
            .map_or_else(|| default_data_dir(&database_url), PathBuf::from);
        let secret = match given(settings.secret_key.as_deref()) {
            Some(key) if key.len() < 32 => {
                bail!("SECRET_KEY must be at least 32 characters (use e.g. `openssl rand -hex 32`)")
            }
            Some(key) => Secret(Sha256::digest(key.as_bytes()).into()),
            None => Secret(Sha256::digest(stored_secret(&data_dir)?.as_bytes()).into()),
        };
        Ok(Self {
            database_url,
            database_connect_timeout,
            bind,
            public_base_url,
            mailer_url,
            mail_from,
            dispatch_workers,
            dispatch_lease,
            bookings_per_client_per_hour,
            webhooks_allow_private_targets,
            data_dir,
            calendars: crate::calendars::CalendarConfig::from_args(&settings.calendars)?,
            sms,
            metrics: crate::telemetry::MetricsConfig::from_args(&settings.telemetry)?,
            secret,
        })
    }

    /// A key for one purpose, derived from the secret (so one leaked key opens nothing else).
    pub fn derived_key(&self, purpose: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"slotkeeper/");
        hasher.update(purpose.as_bytes());
        hasher.update(b"/");
        hasher.update(self.secret.0);
        hasher.finalize().into()
    }

    /// The public URL for a server listening on `bound`.
    pub fn base_url_for(&self, bound: std::net::SocketAddr) -> String {
        self.public_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

fn scheme_of(url: &str) -> &str {
    url.split_once("://").map_or(url, |(scheme, _)| scheme)
}

/// The directory of the SQLite file, or `data`.
fn default_data_dir(database_url: &str) -> PathBuf {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    match Path::new(path).parent() {
        Some(dir) if database_url.starts_with("sqlite") && !dir.as_os_str().is_empty() => {
            dir.to_path_buf()
        }
        _ => PathBuf::from("data"),
    }
}

fn stored_secret(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("secret_key");
    if let Ok(text) = fs::read_to_string(&path) {
        let text = text.trim().to_owned();
        if text.len() < 32 {
            bail!(
                "{} is too short; delete it to generate a new one (existing reschedule links then stop working)",
                path.display()
            );
        }
        return Ok(text);
    }
    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(hex.as_bytes())?;
    tracing::info!(path = %path.display(), "generated a new secret key");
    Ok(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_dir_follows_the_sqlite_file() {
        assert_eq!(
            default_data_dir("sqlite://data/slotkeeper.db"),
            PathBuf::from("data")
        );
        assert_eq!(
            default_data_dir("sqlite:///var/lib/sk/db.sqlite?mode=rwc"),
            PathBuf::from("/var/lib/sk")
        );
        assert_eq!(default_data_dir("postgres://db/sk"), PathBuf::from("data"));
    }

    #[test]
    fn a_generated_secret_is_kept_and_private() {
        let dir = std::env::temp_dir().join(format!("sk-secret-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = stored_secret(&dir).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(
            stored_secret(&dir).unwrap(),
            first,
            "read back, not regenerated"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.join("secret_key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
