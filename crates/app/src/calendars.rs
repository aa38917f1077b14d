//! The calendar integrations' configuration and wiring: the Google and Microsoft adapters the
//! environment configures (each off without its client id), the provider-neutral
//! `ConnectedCalendars` over the store, and the settings of the background jobs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use booking_core::calendar::{Provider, Secret};
use booking_core::calendar_sync::{CalendarSettings, CalendarStore, ConnectedCalendars};
use calendar_google::{GoogleCalendar, GoogleConfig};
use calendar_microsoft::{MicrosoftCalendar, MicrosoftConfig};
use chrono::TimeDelta;

use crate::adapters::{OsRandom, SystemClock};

/// The calendar settings as clap reads them from the environment (or the matching flags).
#[derive(Debug, Clone, clap::Args)]
pub struct CalendarArgs {
    /// Google OAuth client id; Google Calendar is off without it.
    #[arg(long, global = true, value_name = "ID", env = "GOOGLE_CLIENT_ID")]
    google_client_id: Option<String>,
    /// Google OAuth client secret.
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        env = "GOOGLE_CLIENT_SECRET",
        hide_env_values = true
    )]
    google_client_secret: Option<String>,
    /// Google's consent page.
    #[arg(long, global = true, value_name = "URL", env = "GOOGLE_OAUTH_AUTH_URL", default_value = calendar_google::DEFAULT_AUTH_URL)]
    google_oauth_auth_url: String,
    /// Google's token endpoint.
    #[arg(long, global = true, value_name = "URL", env = "GOOGLE_OAUTH_TOKEN_URL", default_value = calendar_google::DEFAULT_TOKEN_URL)]
    google_oauth_token_url: String,
    /// Root of the Google Calendar API (`/calendar/v3/…` is appended).
    #[arg(long, global = true, value_name = "URL", env = "GOOGLE_CALENDAR_API_URL", default_value = calendar_google::DEFAULT_API_ROOT)]
    google_calendar_api_url: String,
    /// Microsoft app registration's client id; Microsoft 365 calendars are off without it.
    #[arg(long, global = true, value_name = "ID", env = "MICROSOFT_CLIENT_ID")]
    microsoft_client_id: Option<String>,
    /// Microsoft app registration's client secret.
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        env = "MICROSOFT_CLIENT_SECRET",
        hide_env_values = true
    )]
    microsoft_client_secret: Option<String>,
    /// Microsoft tenant to sign in against.
    #[arg(
        long,
        global = true,
        value_name = "TENANT",
        env = "MICROSOFT_TENANT",
        default_value = "common"
    )]
    microsoft_tenant: String,
    /// Microsoft identity platform root.
    #[arg(long, global = true, value_name = "URL", env = "MICROSOFT_OAUTH_AUTHORITY_URL", default_value = calendar_microsoft::DEFAULT_AUTHORITY_URL)]
    microsoft_oauth_authority_url: String,
    /// Microsoft Graph root (`/v1.0/…` is appended).
    #[arg(long, global = true, value_name = "URL", env = "MICROSOFT_GRAPH_URL", default_value = calendar_microsoft::DEFAULT_GRAPH_URL)]
    microsoft_graph_url: String,
    /// Bearer secret of POST /api/cron/calendar-subscriptions-renew (the endpoint is off
    /// without it).
    #[arg(
        long,
        global = true,
        value_name = "SECRET",
        env = "CRON_SECRET",
        hide_env_values = true
    )]
    cron_secret: Option<String>,
    /// How long busy times read from a calendar are reused, in seconds.
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "CALENDAR_BUSY_CACHE_SECONDS",
        default_value = "30"
    )]
    calendar_busy_cache_seconds: String,
    /// How often every connected calendar is synced, in seconds (push notifications make it
    /// immediate where the provider can reach PUBLIC_BASE_URL).
    #[arg(
        long,
        global = true,
        value_name = "SECONDS",
        env = "CALENDAR_POLL_SECONDS",
        default_value = "300"
    )]
    calendar_poll_seconds: String,
}

/// The checked calendar configuration.
#[derive(Debug, Clone)]
pub struct CalendarConfig {
    google: Option<GoogleConfig>,
    microsoft: Option<MicrosoftConfig>,
    /// `CRON_SECRET`.
    pub cron_secret: Option<String>,
    busy_cache: TimeDelta,
    /// `CALENDAR_POLL_SECONDS`.
    pub poll_every: Duration,
}

fn given(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

fn seconds(value: &str, name: &str, default: u64) -> Result<u64> {
    match given(Some(value)) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=86_400).contains(n))
            .with_context(|| {
                format!("{name} must be a number of seconds from 1 to 86400, got {v:?}")
            }),
    }
}

impl CalendarConfig {
    /// Checks what clap read.
    ///
    /// # Errors
    /// A message naming the variable: a client id without its secret, a bad number.
    pub fn from_args(args: &CalendarArgs) -> Result<Self> {
        let google = match (
            given(args.google_client_id.as_deref()),
            given(args.google_client_secret.as_deref()),
        ) {
            (None, _) => None,
            (Some(_), None) => bail!("GOOGLE_CLIENT_SECRET must be set with GOOGLE_CLIENT_ID"),
            (Some(id), Some(secret)) => {
                let mut config = GoogleConfig::new(id, Secret::new(secret));
                config.auth_url = args.google_oauth_auth_url.trim().to_owned();
                config.token_url = args.google_oauth_token_url.trim().to_owned();
                config.api_root = args.google_calendar_api_url.trim().to_owned();
                Some(config)
            }
        };
        let microsoft = match (
            given(args.microsoft_client_id.as_deref()),
            given(args.microsoft_client_secret.as_deref()),
        ) {
            (None, _) => None,
            (Some(_), None) => {
                bail!("MICROSOFT_CLIENT_SECRET must be set with MICROSOFT_CLIENT_ID")
            }
            (Some(id), Some(secret)) => {
                let mut config = MicrosoftConfig::new(id, Secret::new(secret));
                config.tenant =
                    given(Some(&args.microsoft_tenant)).unwrap_or_else(|| "common".into());
                config.authority_url = args.microsoft_oauth_authority_url.trim().to_owned();
                config.graph_url = args.microsoft_graph_url.trim().to_owned();
                Some(config)
            }
        };
        let cache = seconds(
            &args.calendar_busy_cache_seconds,
            "CALENDAR_BUSY_CACHE_SECONDS",
            30,
        )?;
        let poll = seconds(&args.calendar_poll_seconds, "CALENDAR_POLL_SECONDS", 300)?;
        Ok(Self {
            google,
            microsoft,
            cron_secret: given(args.cron_secret.as_deref()),
            busy_cache: TimeDelta::seconds(i64::try_from(cache).unwrap_or(30)),
            poll_every: Duration::from_secs(poll),
        })
    }
}

/// The connection framework on the production adapters.
pub type Calendars = ConnectedCalendars<Arc<dyn CalendarStore>, Arc<SystemClock>, Arc<OsRandom>>;

/// The connected calendars of `store`, with every configured provider. Push channels are
/// registered when `public_base_url` was set explicitly (a provider must be able to reach it);
/// without one, changes are polled.
///
/// # Errors
/// When a provider's URLs are invalid or its HTTP client cannot start.
pub fn connected(
    config: &CalendarConfig,
    store: Arc<dyn CalendarStore>,
    public_base_url: Option<&str>,
) -> Result<Calendars> {
    let push = |provider: Provider| {
        public_base_url.map(|base| {
            format!(
                "{}/api/calendar-providers/webhook/{provider}",
                base.trim_end_matches('/')
            )
        })
    };
    let settings = CalendarSettings {
        busy_cache_for: config.busy_cache,
        ..CalendarSettings::default()
    };
    let mut calendars =
        ConnectedCalendars::new(store, Arc::new(SystemClock), Arc::new(OsRandom), settings);
    if let Some(google) = &config.google {
        let adapter = GoogleCalendar::new(google.clone()).context("GOOGLE_* settings")?;
        calendars = calendars.with_provider(Arc::new(adapter), push(Provider::Google));
    }
    if let Some(microsoft) = &config.microsoft {
        let adapter = MicrosoftCalendar::new(microsoft.clone()).context("MICROSOFT_* settings")?;
        calendars = calendars.with_provider(Arc::new(adapter), push(Provider::Microsoft));
    }
    Ok(calendars)
}
