//! Response headers: a restrictive Content-Security-Policy everywhere, and the extra privacy
//! headers of pages whose URL holds a token. Also the log redaction of tokens, and the
//! percent-encoding of query components for the URLs we put in `Location`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;

/// Scripts and styles only from this site; no framing, no plugins, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers sent with every response.
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
}

/// Adds the headers of a page or API response that carries a token: it must not leak through
/// the Referer header of links on the page, nor be kept in a cache.
pub(crate) fn token_page(
    builder: &mut actix_web::HttpResponseBuilder,
) -> &mut actix_web::HttpResponseBuilder {
    builder
        .insert_header((
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Replaces every 32-hex-character path segment with `<token>`, for access logs.
pub fn redact_tokens(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let hexish =
                segment.len() >= 32 && segment.bytes().take(32).all(|b| b.is_ascii_hexdigit());
            if hexish { "<token>" } else { segment }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes a query component.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted_from_paths() {
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            redact_tokens(&format!("/book/cancel/{token}")),
            "/book/cancel/<token>"
        );
        assert_eq!(
            redact_tokens(&format!("/api/v1/bookings/by-token/{token}/reschedule")),
            "/api/v1/bookings/by-token/<token>/reschedule"
        );
        assert_eq!(redact_tokens("/book/intro"), "/book/intro");
    }
}
