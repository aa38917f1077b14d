//! A fake Twilio Messages API on 127.0.0.1, for tests of the SMS adapter and of the binary end
//! to end.
//!
//! [`FakeTwilio::start`] serves `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` as
//! Twilio documents it: form-encoded `To`, `From`, `Body`, HTTP basic auth with the account
//! SID and auth token, `201 Created` with the Message resource's JSON (`sid`, `status`
//! `queued`, …), errors as `{"code","message","more_info","status"}`. Every request is
//! recorded ([`FakeTwilio::messages`]), accepted or not, with the credentials it carried and
//! its content type. [`FakeTwilio::fail_next`] makes the next requests fail the way Twilio
//! does (500, 429 with `Retry-After`, 400 with error 21211). [`FakeTwilio::reply`] plays a
//! person answering a text: it POSTs the inbound message to a URL, signed with
//! `X-Twilio-Signature` as Twilio signs it (computed here, apart from the adapter).

mod http;

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use base64::Engine as _;

/// The account SID the fake serves (`AC` and 32 hex digits, as Twilio's are).
pub const ACCOUNT_SID: &str = "AC5ef8732a3c49700934481addd5ce1659";
/// The auth token that goes with [`ACCOUNT_SID`].
pub const AUTH_TOKEN: &str = "fake-twilio-auth-token-2f7c";

/// One request to the Messages resource, as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeMessage {
    /// The `sid` answered (`SM…`), or `None` when the request was refused.
    pub sid: Option<String>,
    /// The account SID in the path.
    pub path_account: String,
    /// `To`.
    pub to: String,
    /// `From`.
    pub from: String,
    /// `Body`.
    pub body: String,
    /// The basic-auth user and password sent, if any.
    pub auth: Option<(String, String)>,
    /// The request's `Content-Type`.
    pub content_type: String,
}

/// How the next request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 500 with error 20500 ("An internal server error has occurred").
    ServerError,
    /// 429 with error 20429 ("Too Many Requests") and `Retry-After: seconds`.
    Throttled {
        /// The `Retry-After` value.
        retry_after_seconds: u64,
    },
    /// 400 with error 21211 ("The 'To' number … is not a valid phone number.").
    InvalidNumber,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) messages: Vec<FakeMessage>,
    pub(crate) failures: VecDeque<Failure>,
    pub(crate) unmatched: Vec<String>,
    pub(crate) counter: u64,
}

/// A running fake. [`FakeTwilio::stop`] ends it; otherwise it lives as long as the runtime.
#[derive(Debug)]
pub struct FakeTwilio {
    base_url: String,
    state: Arc<Mutex<State>>,
    server: ServerHandle,
}

impl FakeTwilio {
    /// Starts the fake on a free port of 127.0.0.1, inside the current Tokio runtime.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = web::Data::from(Arc::clone(&state));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .configure(http::configure)
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            base_url,
            state,
            server: handle,
        })
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop(false).await;
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `SMS_URL` that points Slotkeeper here, sending from `from` (E.164).
    pub fn sms_url(&self, from: &str) -> String {
        let host = self.base_url.trim_start_matches("http://");
        let from = from.replace('+', "%2B");
        format!("twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@{host}?from={from}&tls=false")
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every request to the Messages resource so far, in order, refused ones included.
    pub fn messages(&self) -> Vec<FakeMessage> {
        self.state().messages.clone()
    }

    /// The texts accepted so far.
    pub fn accepted(&self) -> Vec<FakeMessage> {
        self.messages()
            .into_iter()
            .filter(|m| m.sid.is_some())
            .collect()
    }

    /// The next `count` requests fail with `failure` (after checking credentials).
    pub fn fail_next(&self, count: usize, failure: Failure) {
        let mut state = self.state();
        for _ in 0..count {
            state.failures.push_back(failure);
        }
    }

    /// Requests that matched no route (a test's first clue when the adapter calls a wrong URL).
    pub fn unmatched(&self) -> Vec<String> {
        self.state().unmatched.clone()
    }

    /// A person with number `from` answers `body` to a text sent from `to`: POSTs the inbound
    /// message to `url` the way Twilio does (form fields `MessageSid`, `AccountSid`, `From`,
    /// `To`, `Body`, `NumMedia` …), signed with [`AUTH_TOKEN`]. Returns the answer's status,
    /// content type and body.
    ///
    /// # Errors
    /// When `url` cannot be reached.
    pub async fn reply(
        url: &str,
        from: &str,
        to: &str,
        body: &str,
    ) -> Result<(u16, String, String), reqwest::Error> {
        let form = inbound_form(from, to, body);
        let signature = signature(AUTH_TOKEN, url, &form);
        Self::post_inbound(url, &form, &signature).await
    }

    /// [`FakeTwilio::reply`] with the signature given (a forged or stale one).
    ///
    /// # Errors
    /// When `url` cannot be reached.
    pub async fn reply_signed_with(
        url: &str,
        from: &str,
        to: &str,
        body: &str,
        signature: &str,
    ) -> Result<(u16, String, String), reqwest::Error> {
        Self::post_inbound(url, &inbound_form(from, to, body), signature).await
    }

    async fn post_inbound(
        url: &str,
        form: &[(String, String)],
        signature: &str,
    ) -> Result<(u16, String, String), reqwest::Error> {
        let response = reqwest::Client::new()
            .post(url)
            .header("X-Twilio-Signature", signature)
            .header("User-Agent", "TwilioProxy/1.1")
            .form(form)
            .send()
            .await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, content_type, response.text().await?))
    }
}

/// The form Twilio posts for an inbound SMS.
fn inbound_form(from: &str, to: &str, body: &str) -> Vec<(String, String)> {
    let sid = format!(
        "SM{:032x}",
        u128::from(chrono::Utc::now().timestamp_subsec_nanos())
    );
    [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid.as_str()),
        ("NumMedia", "0"),
        ("SmsSid", sid.as_str()),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", to),
        ("NumSegments", "1"),
        ("MessageSid", sid.as_str()),
        ("AccountSid", ACCOUNT_SID),
        ("From", from),
        ("ApiVersion", "2010-04-01"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `X-Twilio-Signature` as Twilio's security documentation describes it: base64 of
/// HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by name).
pub fn signature(auth_token: &str, url: &str, form: &[(String, String)]) -> String {
    let mut fields: Vec<&(String, String)> = form.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    let mut data = String::from(url);
    for (name, value) in fields {
        data.push_str(name);
        data.push_str(value);
    }
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    );
    base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()))
}
