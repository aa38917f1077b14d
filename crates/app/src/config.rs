//! Configuration from the environment (12-factor), with clear errors for bad values.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// Everything the binary reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://…` (default `sqlite://data/slotkeeper.db`) or `postgres://…`.
    pub database_url: String,
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
    /// `WEBHOOKS_ALLOW_PRIVATE_TARGETS`: whether webhook URLs may point at loopback, private
    /// or link-local addresses (default false; true for development and tests).
    pub webhooks_allow_private_targets: bool,
    /// Where generated files (the secret key, mail files) live.
    #[allow(
        dead_code,
        reason = "read by the outbox dispatcher, which lands with the notifications work"
    )]
    pub data_dir: PathBuf,
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

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl Config {
    /// Reads the environment. `SECRET_KEY`, if unset, is generated on first run and kept in
    /// `{data_dir}/secret_key`, readable by the owner only.
    ///
    /// # Errors
    /// A message naming the variable and what is wrong with it.
    pub fn from_env() -> Result<Self> {
        let database_url =
            var("DATABASE_URL").unwrap_or_else(|| "sqlite://data/slotkeeper.db".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                scheme_of(&database_url)
            );
        }
        let bind = var("BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        bind.parse::<std::net::SocketAddr>().with_context(|| {
            format!("BIND must be an address such as 127.0.0.1:8080, got {bind:?}")
        })?;
        let public_base_url = var("PUBLIC_BASE_URL");
        if let Some(url) = &public_base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            bail!("PUBLIC_BASE_URL must start with http:// or https:// (got {url:?})");
        }
        let mailer_url = var("MAILER_URL").unwrap_or_else(|| "file://data/mail".to_owned());
        if !(mailer_url.starts_with("smtp://")
            || mailer_url.starts_with("smtps://")
            || mailer_url.starts_with("file://"))
        {
            bail!(
                "MAILER_URL must start with smtp://, smtps:// or file:// (got {:?})",
                scheme_of(&mailer_url)
            );
        }
        let mail_from =
            var("MAIL_FROM").unwrap_or_else(|| "Slotkeeper <no-reply@localhost>".to_owned());
        let dispatch_workers = match var("DISPATCH_WORKERS") {
            None => 2,
            Some(n) => n
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= 64)
                .with_context(|| {
                    format!("DISPATCH_WORKERS must be a number from 0 to 64, got {n:?}")
                })?,
        };
        let webhooks_allow_private_targets = match var("WEBHOOKS_ALLOW_PRIVATE_TARGETS")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("false" | "0" | "no") => false,
            Some("true" | "1" | "yes") => true,
            Some(other) => {
                bail!("WEBHOOKS_ALLOW_PRIVATE_TARGETS must be true or false, got {other:?}")
            }
        };
        let data_dir =
            var("DATA_DIR").map_or_else(|| default_data_dir(&database_url), PathBuf::from);
        let secret = match var("SECRET_KEY") {
            Some(key) if key.len() < 32 => {
                bail!("SECRET_KEY must be at least 32 characters (use e.g. `openssl rand -hex 32`)")
            }
            Some(key) => Secret(Sha256::digest(key.as_bytes()).into()),
            None => Secret(Sha256::digest(stored_secret(&data_dir)?.as_bytes()).into()),
        };
        Ok(Self {
            database_url,
            bind,
            public_base_url,
            mailer_url,
            mail_from,
            dispatch_workers,
            webhooks_allow_private_targets,
            data_dir,
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
