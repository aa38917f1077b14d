//! The landing page at `/`: the site's name, the login, and the links of exactly the hosts
//! who ticked "Show my links on the home page" on `/links` (a CSRF-checked form).

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

fn listing(csrf: &str, listed: bool) -> actix_web::test::TestRequest {
    if listed {
        form(
            "/settings/home-listing",
            &[("csrf", csrf), ("listed", "on")],
        )
    } else {
        form("/settings/home-listing", &[("csrf", csrf)])
    }
}

#[actix_web::test]
async fn the_home_page_lists_only_the_links_of_hosts_who_opted_in() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut anonymous = Browser::default();
    let resp = send!(svc, anonymous, get("/"));
    assert_eq!(resp.status(), 200);
    let html = body(resp).await;
    assert!(html.contains("book.test"), "names the site: {html}");
    assert!(html.contains("href=\"/login\""), "{html}");
    assert!(
        !html.contains("/book/intro") && !html.contains("/book/otto-call"),
        "off by default: {html}"
    );

    let mut hana = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let links = body(send!(svc, hana, get("/links"))).await;
    assert!(links.contains("Show my links on the home page"), "{links}");
    assert!(
        !links.contains("value=\"on\" checked"),
        "unticked until chosen: {links}"
    );
    let token = csrf!(svc, hana);
    let resp = send!(svc, hana, listing(&token, true));
    assert_eq!(resp.status(), 303);
    assert_eq!(header(&resp, "location"), "/links?done=listed");
    let links = body(send!(svc, hana, get("/links?done=listed"))).await;
    assert!(links.contains("value=\"on\" checked"), "{links}");

    let html = body(send!(svc, anonymous, get("/"))).await;
    assert!(
        html.contains("Hana Host") && html.contains("href=\"/book/intro\""),
        "{html}"
    );
    assert!(html.contains("Intro call"), "{html}");
    assert!(
        !html.contains("otto-call") && !html.contains("Otto Other"),
        "Otto did not opt in: {html}"
    );

    // Without the CSRF token nothing changes; a host turns only their own listing off.
    let resp = send!(svc, hana, listing("wrong", false));
    assert_eq!(resp.status(), 403);
    assert!(
        body(send!(svc, anonymous, get("/")))
            .await
            .contains("/book/intro")
    );
    let mut otto = logged_in!(svc, "otto@example.com", OTTO_PASSWORD);
    let token = csrf!(svc, otto);
    assert_eq!(send!(svc, otto, listing(&token, false)).status(), 303);
    assert!(
        body(send!(svc, anonymous, get("/")))
            .await
            .contains("/book/intro")
    );

    let token = csrf!(svc, hana);
    assert_eq!(send!(svc, hana, listing(&token, false)).status(), 303);
    let html = body(send!(svc, anonymous, get("/"))).await;
    assert!(!html.contains("/book/intro"), "{html}");
}

#[actix_web::test]
async fn listing_needs_a_login() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut anonymous = Browser::default();
    let resp = send!(svc, anonymous, listing("x", true));
    assert!(
        resp.status() == 303 || resp.status() == 403,
        "{}",
        resp.status()
    );
    assert!(
        body(send!(svc, anonymous, get("/")))
            .await
            .contains("No booking links are listed here")
    );
}
