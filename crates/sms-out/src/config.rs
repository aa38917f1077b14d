//! `SMS_URL`: which adapter carries the texts, read once at start-up. Errors say what is
//! wrong and how the URL should look (the binary prefixes them with the variable's name), and
//! never repeat the auth token.

use std::fmt;
use std::path::PathBuf;

/// What the URL should look like, for error messages.
const TWILIO_FORM: &str = "twilio://SID:TOKEN@api.twilio.com?from=%2B15550001111";

/// Why `SMS_URL` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsUrlError {
    /// Neither `twilio://` nor `file://`.
    #[error("must start with twilio:// or file:// (got {0:?})")]
    Scheme(String),
    /// Not even a URL.
    #[error("not a URL; expected {TWILIO_FORM} or file://DIR")]
    NotAUrl,
    /// No account SID or auth token before the host.
    #[error("twilio:// needs the account SID and auth token before the host: {TWILIO_FORM}")]
    Credentials,
    /// An account SID with characters that cannot be part of the API path.
    #[error("the account SID may hold only letters and digits")]
    AccountSid,
    /// No API host.
    #[error("twilio:// needs the API host, e.g. api.twilio.com: {TWILIO_FORM}")]
    Host,
    /// No sender number.
    #[error(
        "twilio:// needs ?from= with the number texts are sent from, in E.164 with the + written %2B: {TWILIO_FORM}"
    )]
    MissingFrom,
    /// A sender number that is not in E.164.
    #[error("the from number must be + and 2 to 15 digits (E.164, the + written %2B), got {0:?}")]
    From(String),
    /// A query parameter the URL does not take.
    #[error("unknown parameter {0:?} (twilio:// takes from and tls)")]
    Parameter(String),
    /// `tls=` with another value than true or false.
    #[error("tls must be true or false")]
    Tls,
    /// `file://` without a directory.
    #[error("file:// needs a directory, e.g. file://data/sms")]
    Directory,
}

/// An account's auth token: it keys the API's basic auth and the callbacks' signatures, and
/// never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token itself, for the HTTP client and the signature key only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(<redacted>)")
    }
}

/// A Twilio (or Twilio-compatible) account: where its API is, how to sign in, who sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioAccount {
    account_sid: String,
    auth_token: AuthToken,
    api_base: String,
    from: String,
}

impl TwilioAccount {
    /// An account at `api_base` (`https://api.twilio.com`, no trailing slash), sending from
    /// `from` (E.164).
    pub fn new(account_sid: &str, auth_token: AuthToken, api_base: &str, from: &str) -> Self {
        Self {
            account_sid: account_sid.to_owned(),
            auth_token,
            api_base: api_base.trim_end_matches('/').to_owned(),
            from: from.to_owned(),
        }
    }

    /// The account SID (`AC…`), also the basic-auth user.
    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    /// The auth token.
    pub fn auth_token(&self) -> &AuthToken {
        &self.auth_token
    }

    /// `https://host[:port]`, or `http://…` with `tls=false`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The number texts are sent from (E.164).
    pub fn from(&self) -> &str {
        &self.from
    }

    /// The Messages resource texts are POSTed to.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base, self.account_sid
        )
    }
}

/// Where texts go, as `SMS_URL` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsUrl {
    /// A Twilio-compatible Messages API.
    Twilio(TwilioAccount),
    /// One file per text in this directory (development).
    Files(PathBuf),
}

impl SmsUrl {
    /// Reads `twilio://SID:TOKEN@host[:port]?from=%2B…[&tls=false]` or `file://DIR`
    /// (relative `file://data/sms` or absolute `file:///var/sms`).
    ///
    /// # Errors
    /// [`SmsUrlError`] saying what is missing or wrong.
    pub fn parse(text: &str) -> Result<Self, SmsUrlError> {
        let text = text.trim();
        if let Some(dir) = text.strip_prefix("file://") {
            return if dir.is_empty() {
                Err(SmsUrlError::Directory)
            } else {
                Ok(Self::Files(PathBuf::from(dir)))
            };
        }
        match text.split_once("://") {
            Some(("twilio", _)) => parse_twilio(text).map(Self::Twilio),
            Some((scheme, _)) => Err(SmsUrlError::Scheme(scheme.chars().take(20).collect())),
            None => Err(SmsUrlError::NotAUrl),
        }
    }
}

fn parse_twilio(text: &str) -> Result<TwilioAccount, SmsUrlError> {
    let url = url::Url::parse(text).map_err(|_| SmsUrlError::NotAUrl)?;
    let account_sid = decoded(url.username());
    let auth_token = url.password().map(decoded).unwrap_or_default();
    if account_sid.is_empty() || auth_token.is_empty() {
        return Err(SmsUrlError::Credentials);
    }
    if !account_sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(SmsUrlError::AccountSid);
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(SmsUrlError::Host)?;
    let mut from = None;
    let mut tls = true;
    // Read by hand rather than as a form: a `+` written as is stays a plus.
    for pair in url
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match (decoded(key).as_str(), decoded(value).as_str()) {
            ("from", number) => from = Some(sender_number(number)?),
            ("tls", "true") => tls = true,
            ("tls", "false") => tls = false,
            ("tls", _) => return Err(SmsUrlError::Tls),
            (other, _) => return Err(SmsUrlError::Parameter(other.chars().take(40).collect())),
        }
    }
    let from = from.ok_or(SmsUrlError::MissingFrom)?;
    let scheme = if tls { "https" } else { "http" };
    let api_base = match url.port() {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    };
    Ok(TwilioAccount::new(
        &account_sid,
        AuthToken::new(auth_token),
        &api_base,
        &from,
    ))
}

/// The sender in E.164, separators dropped. Only the form is checked: the number is the
/// provider's to vouch for (test numbers and new ranges included), and it refuses one that
/// is not the account's.
fn sender_number(typed: &str) -> Result<String, SmsUrlError> {
    let typed = typed.trim();
    let bad = || SmsUrlError::From(typed.chars().take(40).collect());
    let rest = typed.strip_prefix('+').ok_or_else(bad)?;
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || " -().".contains(c))
    {
        return Err(bad());
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if !(2..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("+{digits}"))
}

fn decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn twilio(url: &str) -> TwilioAccount {
        match SmsUrl::parse(url) {
            Ok(SmsUrl::Twilio(account)) => account,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn a_twilio_url_names_host_account_and_sender() {
        let account = twilio(&format!(
            "twilio://{SID}:s3cr%2Ft@api.twilio.com?from=%2B15550001111"
        ));
        assert_eq!(account.account_sid(), SID);
        assert_eq!(account.auth_token().expose(), "s3cr/t");
        assert_eq!(account.api_base(), "https://api.twilio.com");
        assert_eq!(account.from(), "+15550001111");
        assert_eq!(
            account.messages_url(),
            format!("https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json")
        );
    }

    #[test]
    fn tls_false_speaks_plain_http_to_any_port() {
        let account = twilio(&format!(
            "twilio://{SID}:tok@127.0.0.1:8025?from=%2B442079460958&tls=false"
        ));
        assert_eq!(account.api_base(), "http://127.0.0.1:8025");
        assert_eq!(account.from(), "+442079460958");
        let with_tls = twilio(&format!(
            "twilio://{SID}:tok@sms.example.com:8443?tls=true&from=%2B15550001111"
        ));
        assert_eq!(with_tls.api_base(), "https://sms.example.com:8443");
    }

    #[test]
    fn a_literal_plus_in_from_stays_a_plus() {
        let account = twilio(&format!(
            "twilio://{SID}:tok@api.twilio.com?from=+1 555 000 1111"
        ));
        assert_eq!(account.from(), "+15550001111");
    }

    #[test]
    fn a_file_url_names_a_directory() {
        assert_eq!(
            SmsUrl::parse("file://data/sms"),
            Ok(SmsUrl::Files(PathBuf::from("data/sms")))
        );
        assert_eq!(
            SmsUrl::parse("file:///var/sms"),
            Ok(SmsUrl::Files(PathBuf::from("/var/sms")))
        );
        assert_eq!(SmsUrl::parse("file://"), Err(SmsUrlError::Directory));
    }

    #[test]
    fn bad_urls_are_refused_with_what_to_fix() {
        let cases: Vec<(String, SmsUrlError)> = vec![
            (
                "https://api.twilio.com".into(),
                SmsUrlError::Scheme("https".into()),
            ),
            ("twilio.example.com".into(), SmsUrlError::NotAUrl),
            (
                "twilio://api.twilio.com?from=%2B15550001111".into(),
                SmsUrlError::Credentials,
            ),
            (
                format!("twilio://{SID}@api.twilio.com?from=%2B15550001111"),
                SmsUrlError::Credentials,
            ),
            (
                "twilio://A%2FC:tok@api.twilio.com?from=%2B15550001111".into(),
                SmsUrlError::AccountSid,
            ),
            (
                format!("twilio://{SID}:tok@api.twilio.com"),
                SmsUrlError::MissingFrom,
            ),
            (
                format!("twilio://{SID}:tok@api.twilio.com?from=%2B15550001111&tls=no"),
                SmsUrlError::Tls,
            ),
            (
                format!("twilio://{SID}:tok@api.twilio.com?from=%2B15550001111&region=ie1"),
                SmsUrlError::Parameter("region".into()),
            ),
            (
                format!("twilio://{SID}:tok@api.twilio.com?from=5550001111"),
                SmsUrlError::From("5550001111".into()),
            ),
            (
                format!("twilio://{SID}:tok@api.twilio.com?from=%2Bcall-me"),
                SmsUrlError::From("+call-me".into()),
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(SmsUrl::parse(&url), Err(expected), "{url}");
        }
        assert!(SmsUrlError::MissingFrom.to_string().contains("from="));
    }

    #[test]
    fn errors_and_debug_never_show_the_token() {
        let token = "tok-9f8e7d6c5b4a";
        for url in [
            format!("twilio://{SID}:{token}@api.twilio.com"),
            format!("twilio://{SID}:{token}@api.twilio.com?from=%2B15550001111&tls=maybe"),
            format!("twilio://{SID}:{token}@api.twilio.com?from=%2B1&x={token}"),
            format!("twilio://A-C:{token}@api.twilio.com?from=%2B15550001111"),
            format!("smtp://{SID}:{token}@api.twilio.com"),
        ] {
            let error = SmsUrl::parse(&url).expect_err(&url).to_string();
            assert!(!error.contains(token), "{error}");
        }
        let account = twilio(&format!(
            "twilio://{SID}:{token}@api.twilio.com?from=%2B15550001111"
        ));
        assert!(!format!("{account:?}").contains(token));
    }
}
