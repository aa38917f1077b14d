//! Sign-in against the Microsoft identity platform: authorization code + PKCE and refresh,
//! with the `oauth2` crate over the workspace's reqwest.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;

use booking_core::calendar::{OAuthTokens, ProviderError, Secret};
use chrono::{TimeDelta, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::http::{HeaderMap, StatusCode};
use oauth2::{
    AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    HttpRequest, HttpResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use thiserror::Error;

use crate::{ConfigError, MicrosoftConfig, REQUEST_TIMEOUT, SCOPES, parse_retry_after};

/// The identity platform's endpoints for one app registration.
#[derive(Clone)]
pub(crate) struct Endpoints {
    client_id: ClientId,
    client_secret: ClientSecret,
    auth_url: AuthUrl,
    token_url: TokenUrl,
    http: reqwest::Client,
}

impl fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("client_id", &self.client_id.as_str())
            .field("auth_url", &self.auth_url.as_str())
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

/// A token endpoint answer the caller should retry (no answer, 429, 5xx): `oauth2` itself
/// only sees "not 200", so the HTTP client closure sorts these out first.
#[derive(Debug, Error)]
enum TokenTransport {
    #[error("token endpoint unreachable: {0}")]
    Unreachable(&'static str),
    #[error("token endpoint busy: HTTP {status}")]
    Busy {
        status: u16,
        retry_after: Option<TimeDelta>,
    },
}

impl Endpoints {
    pub(crate) fn new(config: MicrosoftConfig) -> Result<Self, ConfigError> {
        let base = format!(
            "{}/{}/oauth2/v2.0",
            config.authority_url.trim_end_matches('/'),
            config.tenant
        );
        let authorize = format!("{base}/authorize");
        let token = format!("{base}/token");
        let auth_url = AuthUrl::new(authorize.clone()).map_err(|_| ConfigError::InvalidUrl {
            setting: "authority_url",
            value: authorize,
        })?;
        let token_url = TokenUrl::new(token.clone()).map_err(|_| ConfigError::InvalidUrl {
            setting: "authority_url",
            value: token,
        })?;
        // No redirects: a token endpoint that redirects is misconfigured, and following one
        // would resend the code and secret (oauth2's own advice).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(ConfigError::Http)?;
        Ok(Self {
            client_id: ClientId::new(config.client_id),
            client_secret: ClientSecret::new(config.client_secret.expose().to_owned()),
            auth_url,
            token_url,
            http,
        })
    }

    fn client(
        &self,
    ) -> BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        // Microsoft takes the client secret in the form body.
        BasicClient::new(self.client_id.clone())
            .set_client_secret(self.client_secret.clone())
            .set_auth_uri(self.auth_url.clone())
            .set_token_uri(self.token_url.clone())
            .set_auth_type(AuthType::RequestBody)
    }

    pub(crate) fn authorize_url(
        &self,
        state: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<String, ProviderError> {
        let redirect = redirect_url(redirect_uri)?;
        let verifier = PkceCodeVerifier::new(pkce_verifier.expose().to_owned());
        let (url, _) = self
            .client()
            .set_redirect_uri(redirect)
            .authorize_url(|| CsrfToken::new(state.to_owned()))
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&verifier))
            .url();
        Ok(url.into())
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &Secret,
        redirect_uri: &str,
    ) -> Result<OAuthTokens, ProviderError> {
        let redirect = redirect_url(redirect_uri)?;
        let answer = self
            .client()
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.expose().to_owned()))
            .set_redirect_uri(Cow::Owned(redirect))
            .request_async(&TokenHttp(self))
            .await
            .map_err(|e| token_error(e, "exchange the authorization code"))?;
        Ok(tokens(&answer))
    }

    pub(crate) async fn refresh(
        &self,
        refresh_token: &Secret,
    ) -> Result<OAuthTokens, ProviderError> {
        let refresh = RefreshToken::new(refresh_token.expose().to_owned());
        let answer = self
            .client()
            .exchange_refresh_token(&refresh)
            .add_scopes(SCOPES.iter().map(|s| Scope::new((*s).to_owned())))
            .request_async(&TokenHttp(self))
            .await
            .map_err(|e| token_error(e, "refresh the access token"))?;
        Ok(tokens(&answer))
    }

    /// oauth2's HTTP client: reqwest, with unreachable/busy answers turned into errors that
    /// keep what a retry needs.
    async fn send(
        http: reqwest::Client,
        request: HttpRequest,
    ) -> Result<HttpResponse, TokenTransport> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let response = http
            .request(parts.method, url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                TokenTransport::Unreachable(if e.is_timeout() {
                    "timed out"
                } else {
                    "request failed"
                })
            })?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(parse_retry_after);
            return Err(TokenTransport::Busy {
                status: status.as_u16(),
                retry_after,
            });
        }
        let headers: HeaderMap = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|_| TokenTransport::Unreachable("the answer broke off"))?;
        let mut answer = HttpResponse::new(body.to_vec());
        *answer.status_mut() = status;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}

/// [`Endpoints::send`] as oauth2's client, with a boxed `Send` future (a closure's future is
/// not `Send` for every lifetime, which the async trait needs).
struct TokenHttp<'a>(&'a Endpoints);

impl<'c> AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = TokenTransport;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TokenTransport>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(Endpoints::send(self.0.http.clone(), request))
    }
}

fn redirect_url(redirect_uri: &str) -> Result<RedirectUrl, ProviderError> {
    RedirectUrl::new(redirect_uri.to_owned()).map_err(|_| {
        ProviderError::Permanent(format!("redirect URI {redirect_uri:?} is not a URL"))
    })
}

fn tokens(answer: &oauth2::basic::BasicTokenResponse) -> OAuthTokens {
    OAuthTokens {
        access_token: Secret::new(answer.access_token().secret().clone()),
        refresh_token: answer
            .refresh_token()
            .map(|t| Secret::new(t.secret().clone())),
        expires_at: answer
            .expires_in()
            .and_then(|d| TimeDelta::from_std(d).ok())
            .map(|d| Utc::now() + d),
    }
}

/// `invalid_grant` (revoked, expired, or a code/verifier that does not match) → unauthorized;
/// unreachable or busy → transient; anything else (a refused client, a broken answer) →
/// permanent. Messages carry error codes only, never the tokens.
fn token_error(
    error: RequestTokenError<TokenTransport, oauth2::basic::BasicErrorResponse>,
    what: &str,
) -> ProviderError {
    match error {
        RequestTokenError::ServerResponse(answer) => {
            let message = format!("cannot {what}: {}", answer.error());
            if *answer.error() == BasicErrorResponseType::InvalidGrant {
                ProviderError::Unauthorized(message)
            } else {
                ProviderError::Permanent(message)
            }
        }
        RequestTokenError::Request(TokenTransport::Busy {
            status,
            retry_after,
        }) => ProviderError::Transient {
            message: format!("cannot {what}: HTTP {status}"),
            retry_after,
        },
        RequestTokenError::Request(transport @ TokenTransport::Unreachable(_)) => {
            ProviderError::Transient {
                message: format!("cannot {what}: {transport}"),
                retry_after: None,
            }
        }
        RequestTokenError::Parse(_, _) => {
            ProviderError::Permanent(format!("cannot {what}: unreadable token answer"))
        }
        RequestTokenError::Other(text) => {
            ProviderError::Permanent(format!("cannot {what}: {text}"))
        }
    }
}

/// A fresh PKCE verifier (32 random bytes, base64url: 43 characters).
pub(crate) fn pkce_verifier() -> Secret {
    let (_, verifier) = PkceCodeChallenge::new_random_sha256();
    Secret::new(verifier.secret().clone())
}
