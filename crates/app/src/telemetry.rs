//! What operators see of a running instance: the log format (`LOG_FORMAT`), and where
//! `/metrics` is served (`METRICS_TOKEN`, `METRICS_BIND`). docs/OPERATIONS.md explains both.

use anyhow::{Context, Result, bail};

/// The settings of logs and metrics, read by clap from the environment.
#[derive(Debug, Clone, clap::Args)]
pub struct TelemetryArgs {
    /// Log lines as `text` (human-readable) or `json` (one object per line, with the
    /// request id and the span fields).
    #[arg(
        long,
        global = true,
        value_name = "FORMAT",
        env = "LOG_FORMAT",
        default_value = "text"
    )]
    log_format: String,
    /// Bearer token `/metrics` asks for. Without it and without METRICS_BIND, `/metrics` is
    /// not served (404) [default: none]
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "METRICS_TOKEN",
        hide_env_values = true
    )]
    metrics_token: Option<String>,
    /// Serve `/metrics` on this address only (e.g. 127.0.0.1:9100), not on BIND; METRICS_TOKEN
    /// is asked for there too when set [default: none]
    #[arg(long, global = true, value_name = "ADDR", env = "METRICS_BIND")]
    metrics_bind: Option<String>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, coloured on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `LOG_FORMAT`, blank counting as unset (text).
    ///
    /// # Errors
    /// A message naming the variable when it is neither `text` nor `json`.
    pub fn from_args(args: &TelemetryArgs) -> Result<Self> {
        match args.log_format.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => bail!("LOG_FORMAT must be text or json, got {other:?}"),
        }
    }
}

/// Where `/metrics` is served, if anywhere.
#[derive(Clone, Default)]
pub struct MetricsConfig {
    /// `METRICS_TOKEN`.
    pub token: Option<String>,
    /// `METRICS_BIND`.
    pub bind: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("bind", &self.bind)
            .finish()
    }
}

impl MetricsConfig {
    /// The metrics settings, blank values counting as unset.
    ///
    /// # Errors
    /// A message naming the variable when `METRICS_BIND` is not an address or
    /// `METRICS_TOKEN` is shorter than 16 characters.
    pub fn from_args(args: &TelemetryArgs) -> Result<Self> {
        let token = args
            .metrics_token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if token.is_some_and(|t| t.len() < 16) {
            bail!("METRICS_TOKEN must be at least 16 characters (use e.g. `openssl rand -hex 16`)");
        }
        let bind = match args.metrics_bind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(addr) => Some(addr.parse().with_context(|| {
                format!("METRICS_BIND must be an address such as 127.0.0.1:9100, got {addr:?}")
            })?),
        };
        Ok(Self {
            token: token.map(str::to_owned),
            bind,
        })
    }

    /// Whether `/metrics` is served at all.
    pub fn enabled(&self) -> bool {
        self.token.is_some() || self.bind.is_some()
    }
}

/// Logs go to stderr as `format` says: text coloured only on a terminal (a file or a log
/// collector gets plain text) and never when `NO_COLOR` is set, or JSON lines.
pub fn init_logging(format: LogFormat) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => {
            let colours = std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            logs.with_ansi(colours).init();
        }
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}
