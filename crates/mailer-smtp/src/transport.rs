//! Delivery: SMTP for production, a directory of `.eml` files for development.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use booking_core::effects::{EmailKind, Recipient};
use booking_core::ports::{NotificationContext, Notifier, NotifyError};
use booking_core::workflows::Rendered;
use lettre::Message;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::TlsParameters;

use crate::connections::{Connections, Security, Server};
use crate::{MailError, compose, compose_written};

/// Sends composed messages. Implementations must be safe to call again with the same message
/// after a failure: the outbox retries, and the `Message-ID` stays the same.
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// The `From:` of every mail this mailer composes.
    fn sender(&self) -> &Mailbox;

    /// Delivers one message to its envelope recipients.
    ///
    /// # Errors
    /// [`MailError::Smtp`] when the server refuses or cannot be reached (see
    /// [`MailError::is_permanent`]), [`MailError::File`] when a file cannot be written.
    async fn send(&self, message: &Message) -> Result<(), MailError>;

    /// Composes the `kind` mail for `to` with this mailer's sender and sends it: what the
    /// outbox dispatcher calls for one email effect.
    ///
    /// # Errors
    /// As [`compose`] and [`Mailer::send`].
    async fn notify(
        &self,
        kind: EmailKind,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        idempotency_key: &str,
    ) -> Result<(), MailError> {
        let message = compose(kind, to, ctx, self.sender(), idempotency_key)?;
        self.send(&message).await
    }

    /// Composes a message the host wrote ([`compose_written`]) and sends it.
    ///
    /// # Errors
    /// As [`compose_written`] and [`Mailer::send`].
    async fn notify_written(
        &self,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        message: &Rendered,
        idempotency_key: &str,
    ) -> Result<(), MailError> {
        let message = compose_written(to, ctx, message, self.sender(), idempotency_key)?;
        self.send(&message).await
    }
}

/// The mailer `MAILER_URL` names:
///
/// - `smtp://[user:password@]host[:port]` — plain SMTP (port 25), for a relay on a trusted
///   network or a local test server;
/// - `smtp://…?tls=starttls` — STARTTLS required (port 587);
/// - `smtps://…` — TLS from the first byte (port 465);
/// - `file://DIR` — [`FileMailer`] writing into `DIR` (relative paths allowed:
///   `file://data/mail`; absolute: `file:///var/mail`).
///
/// `from` is the sender, e.g. `Slotkeeper <noreply@example.com>`.
///
/// # Errors
/// [`MailError::Url`] for anything else, [`MailError::Address`] for a bad sender.
pub fn mailer_from_url(url: &str, from: &str) -> Result<Box<dyn Mailer>, MailError> {
    let sender: Mailbox = from
        .parse()
        .map_err(|_| MailError::Address(from.to_owned()))?;
    if let Some(dir) = url.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(MailError::Url(
                "file:// needs a directory, e.g. file://data/mail".into(),
            ));
        }
        return Ok(Box::new(FileMailer::new(dir, sender)));
    }
    Ok(Box::new(SmtpMailer::from_url(url, sender)?))
}

/// Sends over SMTP: lettre's protocol on connections of our own, kept open between mails
/// (see `connections.rs`; tokio, rustls with ring).
pub struct SmtpMailer {
    connections: Connections,
    sender: Mailbox,
    /// The URL without its password, for logs.
    shown: String,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("url", &self.shown)
            .field("sender", &self.sender.to_string())
            .finish()
    }
}

impl SmtpMailer {
    /// A mailer for an `smtp://` or `smtps://` URL (see [`mailer_from_url`]). It connects
    /// when the first mail is sent.
    ///
    /// # Errors
    /// [`MailError::Url`] when the URL is not one of those forms, [`MailError::Smtp`] when
    /// its host is no name a TLS certificate can carry.
    pub fn from_url(url: &str, sender: Mailbox) -> Result<Self, MailError> {
        let bad = |why: &str| {
            MailError::Url(format!(
                "{why} (expected smtp://host:port, smtp://host:port?tls=starttls or smtps://host:port)"
            ))
        };
        let parsed = url::Url::parse(url).map_err(|_| bad("not a URL"))?;
        let mut security = match parsed.scheme() {
            "smtp" => Security::Plain,
            "smtps" => Security::Tls,
            _ => return Err(bad("unknown scheme")),
        };
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref(), security) {
                ("tls", "starttls" | "required", Security::Plain) => security = Security::StartTls,
                ("tls", "none", Security::Plain) => {}
                _ => return Err(bad("unsupported query parameter")),
            }
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = parsed.port().unwrap_or(match security {
            Security::Plain => 25,
            Security::StartTls => 587,
            Security::Tls => 465,
        });
        let tls = match security {
            Security::Plain => None,
            Security::StartTls | Security::Tls => Some(TlsParameters::new(host.to_owned())?),
        };
        let credentials = (!parsed.username().is_empty()).then(|| {
            let user = percent_decode(parsed.username());
            let password = parsed.password().map(percent_decode).unwrap_or_default();
            Credentials::new(user, password)
        });
        let mut shown = parsed.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        Ok(Self {
            connections: Connections::new(Server {
                host: host.to_owned(),
                port,
                security,
                tls,
                credentials,
            }),
            sender,
            shown: shown.to_string(),
        })
    }
}

impl SmtpMailer {
    /// Gives each mail `limit` (60 s by default) from finding or opening its connection to
    /// the server's answer; after it the send fails with [`MailError::TimedOut`], which may
    /// be retried.
    #[must_use]
    pub fn with_timeout(mut self, limit: std::time::Duration) -> Self {
        self.connections = self.connections.with_timeout(limit);
        self
    }
}

/// Percent-decodes a URL's user or password (`%40` → `@`); `+` stays a plus.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait]
impl Mailer for SmtpMailer {
    fn sender(&self) -> &Mailbox {
        &self.sender
    }

    async fn send(&self, message: &Message) -> Result<(), MailError> {
        self.connections
            .send(message.envelope(), &message.formatted())
            .await
    }
}

/// Writes each message to `{dir}/{message-id}.eml` (the development default,
/// `MAILER_URL=file://data/mail`). A retried send overwrites the same file, so the directory
/// shows each outbox row at most once.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    sender: Mailbox,
}

impl FileMailer {
    /// A mailer writing into `dir` (created on first send).
    pub fn new(dir: impl Into<PathBuf>, sender: Mailbox) -> Self {
        Self {
            dir: dir.into(),
            sender,
        }
    }

    /// Where the files go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a message is written to: its `Message-ID` with anything but
    /// `A-Za-z0-9 . _ - @` replaced, so it is always one plain file name.
    pub fn path_for(&self, message: &Message) -> PathBuf {
        let id = message
            .headers()
            .get_raw("Message-ID")
            .unwrap_or("no-message-id");
        let name: String = id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let name = name.trim_start_matches('.');
        self.dir.join(format!(
            "{}.eml",
            if name.is_empty() { "message" } else { name }
        ))
    }
}

#[async_trait]
impl Mailer for FileMailer {
    fn sender(&self) -> &Mailbox {
        &self.sender
    }

    async fn send(&self, message: &Message) -> Result<(), MailError> {
        let file_error = |path: &Path| {
            let path = path.to_owned();
            move |source| MailError::File { path, source }
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(file_error(&self.dir))?;
        let path = self.path_for(message);
        // Write then rename, so a reader never sees half a message.
        let partial = path.with_extension("eml.partial");
        tokio::fs::write(&partial, message.formatted())
            .await
            .map_err(file_error(&partial))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(file_error(&path))?;
        Ok(())
    }
}

/// The mail adapter of booking-core's [`Notifier`] port: composes each notification with the
/// wrapped [`Mailer`]'s sender and sends it, its `Message-ID` derived from the idempotency
/// key. A bad address or a permanent (5xx) SMTP reply is a permanent failure.
#[derive(Debug, Clone)]
pub struct MailNotifier {
    mailer: Arc<dyn Mailer>,
}

impl MailNotifier {
    /// Notifies by mail through `mailer`.
    pub fn new(mailer: Arc<dyn Mailer>) -> Self {
        Self { mailer }
    }
}

#[async_trait]
impl Notifier for MailNotifier {
    async fn notify(
        &self,
        kind: EmailKind,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        outcome(self.mailer.notify(kind, to, ctx, idempotency_key).await)
    }

    async fn notify_written(
        &self,
        to: Recipient,
        ctx: &NotificationContext<'_>,
        message: &Rendered,
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        outcome(
            self.mailer
                .notify_written(to, ctx, message, idempotency_key)
                .await,
        )
    }
}

fn outcome(sent: Result<(), MailError>) -> Result<(), NotifyError> {
    match sent {
        Ok(()) => Ok(()),
        Err(e) if e.is_permanent() => Err(NotifyError::Permanent(error_chain(&e))),
        Err(e) => Err(NotifyError::Transient(error_chain(&e))),
    }
}

/// An error and its causes, `: `-separated.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Mailbox {
        "Slotkeeper <noreply@example.com>".parse().unwrap()
    }

    #[tokio::test]
    async fn urls_pick_the_transport() {
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com?tls=starttls",
            "smtps://user:p%40ss@mail.example.com",
            "smtp://[::1]:25",
        ] {
            assert!(SmtpMailer::from_url(ok, sender()).is_ok(), "{ok}");
        }
        for bad in [
            "http://x",
            "smtp://",
            "smtp://x?tls=maybe",
            "smtps://x?tls=starttls",
            "not a url",
        ] {
            assert!(
                matches!(SmtpMailer::from_url(bad, sender()), Err(MailError::Url(_))),
                "{bad}"
            );
        }
        assert!(mailer_from_url("file://", "a@b.cd").is_err());
        assert!(mailer_from_url("file://data/mail", "not an address").is_err());
        assert!(mailer_from_url("file://data/mail", "Slotkeeper <noreply@example.com>").is_ok());
    }

    #[tokio::test]
    async fn debug_hides_the_password() {
        let mailer =
            SmtpMailer::from_url("smtps://user:hunter2@mail.example.com", sender()).unwrap();
        let shown = format!("{mailer:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("user"));
    }

    #[test]
    fn user_and_password_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aword"), "p@ss:word");
        assert_eq!(percent_decode("a+b%"), "a+b%");
    }
}
