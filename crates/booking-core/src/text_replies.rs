//! Replies to our text messages (SMS): the keywords that opt a number out of texts (STOP)
//! and back in (START), and the port that tells a genuine provider callback from a forged one.
//!
//! The provider posts each reply to us; the web adapter checks its signature through
//! [`ReplySignature`], then [`record_reply`] turns the reply's words into an opt-out kept by
//! [`TextOptOuts`], which the dispatcher consults before every text.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::invitee::Phone;
use crate::ports::{StoreError, TextOptOuts};

/// Replies that stop texts, compared case-insensitively after trimming (the carriers'
/// standard opt-out words, which providers such as Twilio honour too).
pub const OPT_OUT_WORDS: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Replies that lift an opt-out.
pub const OPT_IN_WORDS: [&str; 3] = ["START", "UNSTOP", "YES"];

/// What a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptChange {
    /// No more texts to this number.
    OptOut,
    /// Texts again.
    OptIn,
}

impl OptChange {
    /// The change a reply's body asks for: the whole body, trimmed, must be one of the words
    /// (`"stop"` opts out, `"please stop"` does not), as carriers read them.
    pub fn of_reply(body: &str) -> Option<Self> {
        let word = body.trim();
        let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(word));
        if is(&OPT_OUT_WORDS) {
            Some(Self::OptOut)
        } else if is(&OPT_IN_WORDS) {
            Some(Self::OptIn)
        } else {
            None
        }
    }
}

/// Records what a reply from `from` received at `at` asks for, if anything.
///
/// # Errors
/// [`StoreError`] when the opt-out cannot be recorded (the provider should then retry).
pub async fn record_reply(
    opt_outs: &dyn TextOptOuts,
    from: &Phone,
    body: &str,
    at: DateTime<Utc>,
) -> Result<Option<OptChange>, StoreError> {
    let Some(change) = OptChange::of_reply(body) else {
        return Ok(None);
    };
    opt_outs
        .set_opted_out(from.as_str(), change == OptChange::OptOut, at)
        .await?;
    Ok(Some(change))
}

/// Checks that a callback (an inbound text) really comes from the SMS provider: the provider
/// signs each request with the account's secret, and the adapter knows how.
pub trait ReplySignature: Send + Sync + fmt::Debug {
    /// Whether `signature` is the provider's signature of a POST to `url` (the full public
    /// URL the provider was given, query included) carrying the form fields `params`.
    /// Must compare in constant time.
    fn verify(&self, url: &str, params: &[(String, String)], signature: &str) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::InMemoryStore;
    use chrono::TimeZone;

    #[test]
    fn whole_reply_words_count_in_any_case() {
        for stop in [
            "STOP",
            " stop\n",
            "StopAll",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
        ] {
            assert_eq!(
                OptChange::of_reply(stop),
                Some(OptChange::OptOut),
                "{stop:?}"
            );
        }
        for start in ["START", "unstop", " Yes "] {
            assert_eq!(
                OptChange::of_reply(start),
                Some(OptChange::OptIn),
                "{start:?}"
            );
        }
        for other in ["please stop", "STOP!", "", "thanks", "yes please"] {
            assert_eq!(OptChange::of_reply(other), None, "{other:?}");
        }
    }

    #[tokio::test]
    async fn a_reply_records_its_change() {
        let store = InMemoryStore::new();
        let phone = Phone::parse("+44 7911 123456").expect("phone");
        let at = Utc
            .with_ymd_and_hms(2027, 3, 1, 9, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            record_reply(&store, &phone, "hello", at)
                .await
                .expect("reply"),
            None
        );
        assert!(!store.is_opted_out("+447911123456").await.expect("read"));
        assert_eq!(
            record_reply(&store, &phone, "Stop", at)
                .await
                .expect("reply"),
            Some(OptChange::OptOut)
        );
        assert!(store.is_opted_out("+447911123456").await.expect("read"));
        let later = at + chrono::TimeDelta::minutes(1);
        record_reply(&store, &phone, "start", later)
            .await
            .expect("reply");
        assert!(!store.is_opted_out("+447911123456").await.expect("read"));
    }
}
