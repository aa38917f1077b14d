//! Slotkeeper's text messages (SMS): the adapters of booking-core's
//! [`TextSender`](booking_core::ports::TextSender) port and the check of the provider's
//! callback signatures ([`ReplySignature`](booking_core::text_replies::ReplySignature)).
//!
//! `SMS_URL` ([`SmsUrl::parse`]) chooses the adapter:
//!
//! - `twilio://SID:TOKEN@api.twilio.com?from=%2B15550001111` — [`TwilioTexts`]: POSTs each text
//!   to the Messages resource of any Twilio-compatible API at that host (`&tls=false` speaks
//!   plain HTTP, for a local endpoint), with HTTP basic auth; [`TwilioSignature`] verifies the
//!   `X-Twilio-Signature` of the replies that provider posts back.
//! - `file://DIR` — [`FileTexts`]: one file per text in `DIR`, for development.
//!
//! The auth token never appears in an error, a log line or a `Debug` output.

mod config;
mod files;
mod signature;
mod twilio;

use std::sync::Arc;

use booking_core::ports::TextSender;
use booking_core::text_replies::ReplySignature;

pub use config::{AuthToken, SmsUrl, SmsUrlError, TwilioAccount};
pub use files::FileTexts;
pub use signature::TwilioSignature;
pub use twilio::{DEFAULT_TIMEOUT, TwilioClientError, TwilioTexts};

/// What one `SMS_URL` gives the binary: where texts go, and, for a provider that posts
/// replies back, how to check them.
#[derive(Debug, Clone)]
pub struct SmsAdapters {
    /// Carries the texts.
    pub sender: Arc<dyn TextSender>,
    /// Verifies the provider's reply callbacks; `None` when replies cannot arrive (files).
    pub replies: Option<Arc<dyn ReplySignature>>,
}

impl SmsAdapters {
    /// The adapters `url` names.
    ///
    /// # Errors
    /// [`TwilioClientError`] when the HTTP client cannot be set up (its TLS backend).
    pub fn for_url(url: &SmsUrl) -> Result<Self, TwilioClientError> {
        Ok(match url {
            SmsUrl::Twilio(account) => Self {
                sender: Arc::new(TwilioTexts::new(account)?),
                replies: Some(Arc::new(TwilioSignature::new(account.auth_token()))),
            },
            SmsUrl::Files(dir) => Self {
                sender: Arc::new(FileTexts::new(dir.clone())),
                replies: None,
            },
        })
    }
}
