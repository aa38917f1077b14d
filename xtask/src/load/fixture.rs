//! The write load's server and data: one release `slotkeeper serve` on the run's Postgres
//! database, delivering mail to a counting SMTP sink and webhooks to a counting receiver, and
//! one host per client, each with a link offering a 5-minute slot around the clock and a
//! webhook subscription, so the clients never race for a slot or a host's lock. Also the
//! `psql` queries the run reads the outbox with.

use std::path::Path;
use std::process::Command;

use crate::chaos::fleet::Launch;
use crate::target_dir;

/// Minutes between slots, and each meeting's length.
pub(crate) const SLOT_MINUTES: i64 = 5;
/// How far ahead the links offer slots: the bookings take the first half, the reschedules
/// move them into the second.
pub(crate) const DAYS_AHEAD: i64 = 120;

/// How the server is started: mail and webhooks to the sinks on `smtp` (and the receiver the
/// subscriptions name), no booking limit per client address (every client is 127.0.0.1),
/// the dispatcher as configured by default.
pub(crate) fn launch(url: &str, dir: &Path, port: u16, smtp: u16) -> Launch {
    let env = [
        ("DATABASE_URL", url.to_owned()),
        ("DATA_DIR", dir.display().to_string()),
        (
            "SECRET_KEY",
            "load-secret-0123456789abcdef0123456789abcdef".to_owned(),
        ),
        ("PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}")),
        ("MAILER_URL", format!("smtp://127.0.0.1:{smtp}")),
        ("WEBHOOKS_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
        ("BOOKINGS_PER_CLIENT_PER_HOUR", "1000000".to_owned()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    Launch {
        exe: target_dir().join("release/slotkeeper"),
        env: env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        dir: dir.to_path_buf(),
    }
}

/// Migrates, then adds `hosts` hosts through the CLI, each with one link and one webhook
/// subscription to the receiver on `hooks`; the links' slugs.
pub(crate) fn set_up(launch: &Launch, hosts: usize, hooks: u16) -> Result<Vec<String>, String> {
    launch.cli(&["migrate"])?;
    let minutes = SLOT_MINUTES.to_string();
    let days = DAYS_AHEAD.to_string();
    (0..hosts)
        .map(|h| {
            let host = launch.cli(&[
                "host",
                "add",
                "--name",
                &format!("Load Host {h}"),
                "--email",
                &format!("load-host{h}@example.com"),
                "--timezone",
                "UTC",
            ])?;
            let slug = format!("load-{h}");
            launch.cli(&[
                "link",
                "add",
                "--host",
                &host,
                "--slug",
                &slug,
                "--title",
                "Load call",
                "--duration",
                &minutes,
                "--interval",
                &minutes,
                "--hours",
                "00:00-24:00",
                "--days",
                "mon,tue,wed,thu,fri,sat,sun",
                "--timezone",
                "UTC",
                "--max-days-ahead",
                &days,
            ])?;
            launch.cli(&[
                "webhook",
                "add",
                "--host",
                &host,
                "--url",
                &format!("http://127.0.0.1:{hooks}/hooks/{h}"),
            ])?;
            Ok(slug)
        })
        .collect()
}

/// The numbers of the one row `sql` answers, as psql prints them unaligned.
pub(crate) fn numbers(url: &str, sql: &str) -> Result<Vec<u64>, String> {
    let text = psql(url, sql)?;
    text.split('|')
        .map(|n| {
            n.trim()
                .parse()
                .map_err(|_| format!("{sql}: not numbers: {text:?}"))
        })
        .collect()
}

/// Runs `sql` with psql (stopping at the first error); its output, trimmed.
pub(crate) fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            url,
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
