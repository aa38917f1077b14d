//! Where a host lands after logging in: the page they asked for (`next`) when it is a page of
//! this site, else the dashboard. `next` comes from the query string, so anyone can craft it;
//! it is read the way a browser reads a `Location` header (the WHATWG URL parser of the `url`
//! crate), so what is checked is what the browser would follow.

/// Where a host goes when `next` is missing or not acceptable.
const DASHBOARD: &str = "/calendar";

/// A base no request ever carries: it only stands for "this site" while `next` is resolved.
const THIS_SITE: &str = "http://this-site.invalid/";

/// The path (with query and fragment) to send a host to after logging in: `next` when it
/// resolves to this site, written out in the parser's normalised, percent-encoded form;
/// otherwise the dashboard.
///
/// Refused: anything not starting with one `/` (`//host`, `/\host`, `https:`), and any control
/// character — browsers silently drop tabs and newlines, so `/\t/evil.example` would become
/// `//evil.example`, and a newline cannot go into a header at all.
pub(crate) fn after_login(next: Option<&str>) -> String {
    next.and_then(same_site_path)
        .unwrap_or_else(|| DASHBOARD.to_owned())
}

fn same_site_path(next: &str) -> Option<String> {
    if !next.starts_with('/') || next.chars().any(char::is_control) {
        return None;
    }
    let site = url::Url::parse(THIS_SITE).ok()?;
    let target = site.join(next).ok()?;
    if target.origin() != site.origin() {
        return None;
    }
    let path = &target[url::Position::BeforePath..];
    // Dot segments can collapse into a leading `//` (`/..//evil.example`), which a browser
    // would again read as another host.
    (!path.starts_with("//")).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_of_this_site_are_kept() {
        for (next, expected) in [
            ("/deals", "/deals"),
            ("/calendar?tab=past", "/calendar?tab=past"),
            (
                "/calendar/bookings/1#history",
                "/calendar/bookings/1#history",
            ),
            ("/links/./new", "/links/new"),
            ("/a b", "/a%20b"),
        ] {
            assert_eq!(after_login(Some(next)), expected, "{next:?}");
        }
    }

    #[test]
    fn anything_else_lands_on_the_dashboard() {
        for next in [
            "/\t/evil.example",
            "/\n/x",
            "/\r/x",
            "/\x0b/x",
            "/\x00/x",
            "/\u{85}/x",
            "\t//evil.example",
            " //evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            "/..//evil.example",
            "/./\\evil.example",
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(after_login(Some(next)), DASHBOARD, "{next:?}");
        }
        assert_eq!(after_login(None), DASHBOARD);
    }
}
