//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

const PREFIX: &str = "whsec_";

/// A subscription's signing secret: raw key bytes, written as `whsec_` + base64. `Debug`
/// never prints it; [`WebhookSecret::expose`] gives the text to show the user once.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// Not a `whsec_…` secret (or a key too short or too long to be one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is `whsec_` followed by the base64 of 24 to 64 bytes")]
pub struct InvalidSecret;

impl WebhookSecret {
    /// A secret from 32 random bytes the caller took from the OS CSPRNG.
    pub fn generate(bytes: [u8; 32]) -> Self {
        Self(bytes.to_vec())
    }

    /// Parses `whsec_<base64>` (the form [`WebhookSecret::expose`] writes and the
    /// `standardwebhooks`/`svix` libraries accept).
    ///
    /// # Errors
    /// [`InvalidSecret`] without the prefix, with bad base64, or with a key outside 24–64
    /// bytes (the Standard Webhooks spec asks for 24 to 64).
    pub fn parse(text: &str) -> Result<Self, InvalidSecret> {
        let encoded = text.trim().strip_prefix(PREFIX).ok_or(InvalidSecret)?;
        let key = STANDARD.decode(encoded).map_err(|_| InvalidSecret)?;
        if !(24..=64).contains(&key.len()) {
            return Err(InvalidSecret);
        }
        Ok(Self(key))
    }

    /// `whsec_<base64>`: store it sealed, show it to the subscriber once.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header value for one message: `v1,` + base64 of
/// HMAC-SHA256(key, `{msg_id}.{timestamp}.{body}`).
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret.0);
    let mut context = hmac::Context::with_key(&key);
    context.update(msg_id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification and its reference libraries.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_never_print() {
        let secret = WebhookSecret::generate([7; 32]);
        assert_eq!(WebhookSecret::parse(&secret.expose()), Ok(secret.clone()));
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..12]));
        for bad in [
            "",
            "whsec_",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!!!",
            "whsec_AAAA",
        ] {
            assert_eq!(WebhookSecret::parse(bad), Err(InvalidSecret), "{bad:?}");
        }
    }
}
