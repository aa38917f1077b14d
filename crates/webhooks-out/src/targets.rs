//! Which webhook targets may be reached. A subscriber chooses the URL, so without a check a
//! host account could make the server post to addresses only it can reach (cloud metadata
//! endpoints, databases on the private network, the loopback interface). By default every
//! address the target's name resolves to must be public; the binary's
//! `WEBHOOKS_ALLOW_PRIVATE_TARGETS=true` lifts that for development and tests.
//!
//! [`is_public`] is the pure address check; [`TargetPolicy::check`] adds URL parsing and name
//! resolution. Both the outbox dispatcher and the host JSON API use them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use async_trait::async_trait;
use booking_core::ports::{TargetCheck, TargetRefused};

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
        if let Some(ip) = addresses.iter().find(|ip| !is_public(**ip)) {
            return Err(TargetRefused(format!(
                "{host} resolves to the non-public address {ip} (set WEBHOOKS_ALLOW_PRIVATE_TARGETS=true to allow)"
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl TargetCheck for TargetPolicy {
    async fn check(&self, url: &str) -> Result<(), TargetRefused> {
        TargetPolicy::check(self, url).await
    }
}

/// Whether `ip` is reachable on the public internet (not loopback, private, link-local,
/// shared, unspecified, multicast, broadcast or documentation space).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // 100.64.0.0/10, carrier-grade NAT
        || (a == 100 && (64..128).contains(&b))
        // 198.18.0.0/15, benchmarking
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local
        || (first & 0xfe00) == 0xfc00
        // fe80::/10 link-local
        || (first & 0xffc0) == 0xfe80
        // 2001:db8::/32 documentation
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn the_policy_refuses_private_targets_unless_allowed() {
        let strict = TargetPolicy::public_only();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]/x",
            "http://169.254.169.254/latest/meta-data",
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
