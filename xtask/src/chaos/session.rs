//! Sessions live in the database, not in an instance: the host logs in on one instance,
//! cancels a booking from the dashboard (with the session's CSRF token) on the next, logs out
//! on a third, and the cookie is then refused on every instance.

use super::http::{Answer, Reply, csrf_field, form_encode, request};

/// The session cookie's name (crates/web/src/host/auth.rs).
const COOKIE: &str = "sk_session";

fn answer(reply: Reply, what: &str) -> Result<Answer, String> {
    match reply {
        Reply::Answer(a) => Ok(a),
        other => Err(format!("session check: {what}: {other:?}")),
    }
}

fn post_form(port: u16, path: &str, cookie: &str, form: &str) -> Result<Answer, String> {
    let cookie = format!("{COOKIE}={cookie}");
    let headers = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Cookie", cookie.as_str()),
    ];
    answer(request(port, "POST", path, &headers, form), path)
}

fn get(port: u16, path: &str, cookie: &str) -> Result<Answer, String> {
    let cookie = format!("{COOKIE}={cookie}");
    answer(request(port, "GET", path, &[("Cookie", &cookie)], ""), path)
}

/// Logs in on `ports[0]` and returns the session cookie.
fn log_in(port: u16, email: &str, password: &str) -> Result<String, String> {
    let page = answer(request(port, "GET", "/login", &[], ""), "login page")?;
    let form_cookie = page.cookie(COOKIE).ok_or("the login page set no cookie")?;
    let csrf = csrf_field(&page.body).ok_or("the login page has no CSRF field")?;
    let form = format!(
        "csrf={}&email={}&password={}",
        form_encode(&csrf),
        form_encode(email),
        form_encode(password)
    );
    let done = post_form(port, "/login", &form_cookie, &form)?;
    if done.status != 303 {
        return Err(format!("login answered {}", done.status));
    }
    done.cookie(COOKIE)
        .ok_or_else(|| "login set no session cookie".to_owned())
}

/// Whether `cookie` opens the dashboard on `port` (200), or is sent to the login (303).
fn opens_dashboard(port: u16, cookie: &str) -> Result<bool, String> {
    let page = get(port, "/calendar", cookie)?;
    match page.status {
        200 => Ok(true),
        303 if page
            .header("location")
            .is_some_and(|l| l.starts_with("/login")) =>
        {
            Ok(false)
        }
        other => Err(format!("/calendar answered {other}")),
    }
}

/// The whole round; `booking` (32 hex digits) is a confirmed booking of the host's, which
/// ends cancelled. The instances are `ports[i % n]`, so with one instance all three steps
/// happen on it.
pub(crate) fn prove(
    ports: &[u16],
    email: &str,
    password: &str,
    booking: &str,
) -> Result<(), String> {
    let on = |i: usize| ports[i % ports.len()];
    let cookie = log_in(on(0), email, password)?;
    let id = format!(
        "{}-{}-{}-{}-{}",
        &booking[..8],
        &booking[8..12],
        &booking[12..16],
        &booking[16..20],
        &booking[20..]
    );
    let page = get(on(1), &format!("/calendar/bookings/{id}"), &cookie)?;
    if page.status != 200 {
        return Err(format!(
            "the booking page on the second instance answered {}",
            page.status
        ));
    }
    let csrf = csrf_field(&page.body).ok_or("the booking page has no CSRF field")?;
    let form = format!("csrf={}&reason=chaos", form_encode(&csrf));
    let done = post_form(
        on(1),
        &format!("/calendar/bookings/{id}/cancel"),
        &cookie,
        &form,
    )?;
    if done.status != 303
        || !done
            .header("location")
            .is_some_and(|l| l.contains("done=cancelled"))
    {
        return Err(format!(
            "cancelling on the second instance answered {}",
            done.status
        ));
    }
    if !opens_dashboard(on(2), &cookie)? {
        return Err("the third instance did not know the session".into());
    }
    let out = post_form(
        on(2),
        "/logout",
        &cookie,
        &format!("csrf={}", form_encode(&csrf)),
    )?;
    if out.status != 303 {
        return Err(format!(
            "logout on the third instance answered {}",
            out.status
        ));
    }
    for i in 0..ports.len().max(3) {
        if opens_dashboard(on(i), &cookie)? {
            return Err(format!(
                "instance {} still took the cookie after logout",
                i % ports.len()
            ));
        }
    }
    Ok(())
}
