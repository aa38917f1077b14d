//! What can go wrong composing or sending a mail.

use std::path::PathBuf;

/// A mail could not be composed or delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// An address lettre does not accept (the configured sender, or a stored address).
    #[error("invalid mail address {0:?}")]
    Address(String),
    /// `MAILER_URL` is not a supported mailer URL.
    #[error("unsupported mailer URL: {0}")]
    Url(String),
    /// The message could not be assembled.
    #[error("cannot build the message")]
    Build(#[from] lettre::error::Error),
    /// The SMTP server refused the message or could not be reached.
    #[error("SMTP delivery failed")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The SMTP server could not be reached.
    #[error("cannot connect to the SMTP server {server}")]
    Connect {
        /// `host:port`.
        server: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `MAILER_URL` asks for STARTTLS, and the server does not offer it.
    #[error("the SMTP server {0} does not offer STARTTLS")]
    NoStartTls(String),
    /// Connecting, or a mail on a connection, took longer than this.
    #[error("the SMTP server did not finish within {0:?}")]
    TimedOut(std::time::Duration),
    /// The file mailer could not write its `.eml` file.
    #[error("cannot write mail file {path}")]
    File {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl MailError {
    /// Whether retrying cannot help: a bad address or URL, a message that cannot be built, or
    /// a permanent (5xx) SMTP reply. Everything else (connection trouble, 4xx, disk) is worth
    /// a retry.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Address(_) | Self::Url(_) | Self::Build(_) => true,
            Self::Smtp(e) => e.is_permanent(),
            Self::File { .. } | Self::Connect { .. } | Self::NoStartTls(_) | Self::TimedOut(_) => {
                false
            }
        }
    }
}
