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

/// Paths whose next segment is a reschedule token (`/book/cancel/<token>`, …).
const TOKEN_ROUTES: [&[&str]; 5] = [
    &["book", "confirmed"],
    &["book", "reschedule"],
    &["book", "cancel"],
    &["book", "reconfirm"],
    &["api", "v1", "bookings", "by-token"],
];

/// What the token routes have after the token; any other segment there is redacted too.
const AFTER_TOKEN: [&str; 4] = ["invite.ics", "reschedule", "cancel", "reconfirm"];

/// The path an access log may show: percent-decoded (as often as it decodes, so no encoding
/// hides a token from the check), with every segment holding 32 hex digits in a row replaced
/// by `<token>`, every segment after a token route's prefix by `<token>` (or `<redacted>`
/// past the token) whatever its form, and control characters escaped (no forged log lines).
pub fn redact_tokens(path: &str) -> String {
    let decoded = fully_decoded(path);
    let segments: Vec<&str> = decoded.split('/').collect();
    let token_at = token_position(&segments);
    segments
        .iter()
        .enumerate()
        .map(|(i, segment)| match token_at {
            Some(t) if i == t => "<token>".to_owned(),
            Some(t) if i > t && !AFTER_TOKEN.contains(segment) => "<redacted>".to_owned(),
            _ if holds_token(segment) => "<token>".to_owned(),
            _ => printable(segment),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `segment` with its control characters escaped (`\u{a}`), so a log line stays one line.
fn printable(segment: &str) -> String {
    segment
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `path` percent-decoded until nothing more decodes (a few rounds at most).
fn fully_decoded(path: &str) -> String {
    let mut text = path.to_owned();
    for _ in 0..8 {
        let next = percent_encoding::percent_decode_str(&text)
            .decode_utf8_lossy()
            .into_owned();
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// Where the token sits when `segments` are under a token route, matched as loosely as any
/// router might (case, empty segments and `\` ignored).
fn token_position(segments: &[&str]) -> Option<usize> {
    let words: Vec<(usize, String)> = segments
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.split('\\').map(move |w| (i, w.to_ascii_lowercase())))
        .filter(|(_, w)| !w.is_empty())
        .collect();
    TOKEN_ROUTES.iter().find_map(|route| {
        let prefix = words.get(..route.len())?;
        let matches = prefix
            .iter()
            .zip(route.iter())
            .all(|((_, w), r)| w.as_str() == *r);
        let last = prefix.last()?.0;
        matches.then_some(last + 1)
    })
}

/// Whether `segment` has 32 hex digits in a row: a token, however it is dressed up.
pub(crate) fn holds_token(segment: &str) -> bool {
    let mut run = 0;
    segment.bytes().any(|b| {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        run >= 32
    })
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
        assert_eq!(
            redact_tokens(&format!("/book/confirmed/{token}/invite.ics")),
            "/book/confirmed/<token>/invite.ics"
        );
        assert_eq!(redact_tokens("/book/intro"), "/book/intro");
        assert_eq!(
            redact_tokens("/calendar/bookings/0f0e5c1a-2b3c-4d5e-8f90-123456789abc"),
            "/calendar/bookings/0f0e5c1a-2b3c-4d5e-8f90-123456789abc"
        );
    }

    /// Every way of writing a token in a path that a router (or a reader of the log) could
    /// turn back into it.
    fn disguises(token: &str) -> Vec<String> {
        let all_encoded: String = token.bytes().map(|b| format!("%{b:02X}")).collect();
        let lower_encoded: String = token.bytes().map(|b| format!("%{b:02x}")).collect();
        vec![
            token.to_owned(),
            token.to_ascii_uppercase(),
            format!("%{:02X}{}", token.as_bytes()[0], &token[1..]),
            format!("{}%{:02x}", &token[..31], token.as_bytes()[31]),
            all_encoded.clone(),
            lower_encoded,
            all_encoded.replace('%', "%25"),
            all_encoded.replace('%', "%2525"),
            format!("{token};x=1"),
            format!("x{token}"),
            format!("{}%2F{}", &token[..16], &token[16..]),
            format!("{}/{}", &token[..16], &token[16..]),
            format!("{}%00{}", &token[..16], &token[16..]),
            format!("{}%0A{}", &token[..16], &token[16..]),
            token[..20].to_owned(),
        ]
    }

    #[test]
    fn no_encoding_of_a_token_route_shows_the_token() {
        let token = "6511c0ffee0123456789abcdef012345";
        let halves = [&token[..16], &token[16..]];
        let routes = [
            "/book/cancel/{}",
            "/book/reschedule/{}",
            "/book/reconfirm/{}",
            "/book/confirmed/{}",
            "/book/confirmed/{}/invite.ics",
            "/api/v1/bookings/by-token/{}",
            "/api/v1/bookings/by-token/{}/cancel",
            "//book//cancel/{}",
            "/book/%63ancel/{}",
            "/BOOK/Cancel/{}",
            "/book\\cancel/{}",
            "/api/v1/bookings%2Fby-token/{}",
        ];
        for route in routes {
            for disguise in disguises(token) {
                let path = route.replace("{}", &disguise);
                let logged = redact_tokens(&path);
                for shown in [logged.to_ascii_lowercase(), fully_decoded(&logged)] {
                    assert!(
                        !shown.contains(&token[..20]) && halves.iter().all(|h| !shown.contains(h)),
                        "{path} logged as {logged}"
                    );
                }
                assert!(!logged.contains('\n'), "{path} logged as {logged}");
            }
        }
    }

    #[test]
    fn a_token_is_redacted_wherever_it_appears() {
        let token = "0123456789abcdef0123456789abcdef";
        for path in [
            format!("/book/%{:02X}{}", token.as_bytes()[0], &token[1..]),
            format!("/anything/{token}/else"),
            format!("/book/x%2F{token}"),
        ] {
            let logged = redact_tokens(&path);
            assert!(
                !fully_decoded(&logged).contains(&token[1..]),
                "{path} → {logged}"
            );
        }
    }

    #[test]
    fn control_characters_cannot_forge_log_lines() {
        let logged = redact_tokens("/book/intro%0AGET%20/forged%0D");
        assert!(!logged.contains('\n') && !logged.contains('\r'), "{logged}");
    }
}
