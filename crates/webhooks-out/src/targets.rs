//! Which webhook targets may be reached. A subscriber chooses the URL, so without a check a
//! host account could make the server post to addresses only it can reach (cloud metadata
//! endpoints, databases on the private network, the loopback interface). By default every
//! address the target's name resolves to must be public; the binary's
//! `WEBHOOKS_ALLOW_PRIVATE_TARGETS=true` lifts that for development and tests.
//!
//! [`is_public`] is the pure address check; [`TargetPolicy::check`] adds URL parsing and name
//! resolution. Both the outbox dispatcher and the host JSON API use them. A name can be
//! re-pointed between that check and the connection (DNS rebinding), so the webhook client
//! checks again as it connects: it resolves names through [`CheckedResolver`], which hands
//! the connector only addresses the policy allows, and refuses IP literals the same way.

use std::net::{IpAddr, SocketAddr};

use async_trait::async_trait;
use booking_core::ports::{TargetCheck, TargetRefused};

use crate::special::is_public;

/// Whether private, loopback and link-local addresses may be webhook targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    allow_private: bool,
}

impl TargetPolicy {
    /// Public addresses only (production).
    pub const fn public_only() -> Self {
        Self {
            allow_private: false,
        }
    }

    /// Any address (development, tests).
    pub const fn allow_private() -> Self {
        Self {
            allow_private: true,
        }
    }

    /// Whether private addresses are allowed.
    pub const fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks `url`: `http`/`https`, no credentials, and — unless private targets are
    /// allowed — every address its host resolves to is public. Checked when a subscription
    /// is made and again before every delivery (names can be re-pointed).
    ///
    /// # Errors
    /// [`TargetRefused`] saying why.
    pub async fn check(&self, url: &str) -> Result<(), TargetRefused> {
        let parsed = url::Url::parse(url).map_err(|e| TargetRefused(format!("not a URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TargetRefused("only http:// and https:// URLs".into()));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(TargetRefused(
                "credentials in the URL are not allowed".into(),
            ));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) => d.to_owned(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(TargetRefused("no host".into())),
        };
        if self.allow_private {
            return Ok(());
        }
        let port = parsed.port_or_known_default().unwrap_or(443);
        let addresses: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| TargetRefused(format!("cannot resolve {host} ({e})")))?
            .map(|a| a.ip())
            .collect();
        if addresses.is_empty() {
            return Err(TargetRefused(format!("{host} has no address")));
        }
        refuse_non_public(&host, &addresses)
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

/// Refuses when any of the addresses `host` resolved to is not public: a name is judged by
/// all of its addresses, as the connector may pick any of them.
fn refuse_non_public(host: &str, addresses: &[IpAddr]) -> Result<(), TargetRefused> {
    match addresses.iter().find(|ip| !is_public(**ip)) {
        Some(ip) => Err(TargetRefused(format!(
            "{host} resolves to the non-public address {ip} (set WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow)"
        ))),
        None => Ok(()),
    }
}

/// The webhook client's name resolver under [`TargetPolicy::public_only`]: resolves with the
/// system resolver and refuses a name any of whose addresses is not public, so the address a
/// delivery connects to is one that was just checked.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CheckedResolver;

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the connector puts in the URL's port.
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let ips: Vec<IpAddr> = found.iter().map(SocketAddr::ip).collect();
            refuse_non_public(&host, &ips)?;
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(addrs)
        })
    }
}

#[async_trait]
impl TargetCheck for TargetPolicy {
    async fn check(&self, url: &str) -> Result<(), TargetRefused> {
        TargetPolicy::check(self, url).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_policy_refuses_private_targets_unless_allowed() {
        let strict = TargetPolicy::public_only();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::1]/",
            "http://[fec0::1]/",
            "http://192.0.0.1/",
            "ftp://example.com/",
            "https://user:pw@example.com/",
        ] {
            assert!(strict.check(url).await.is_err(), "{url}");
        }
        assert!(
            TargetPolicy::allow_private()
                .check("http://127.0.0.1:8080/hook")
                .await
                .is_ok()
        );
        assert!(
            TargetPolicy::allow_private()
                .check("file:///etc/passwd")
                .await
                .is_err()
        );
    }
}
