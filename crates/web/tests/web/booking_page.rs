//! The month picker on the booking and reschedule pages: the date grid, the reader's clock and
//! zone, the page's weight, input kept through refusals, and truthful refusals.

use actix_web::test::{TestRequest, call_service};
use booking_core::availability::{AvailabilityRules, DayHours, DayPeriod, RulesDraft};
use booking_core::link::{BookingLink, LinkSettings, Slug};
use booking_core::ports::BookingStore;
use booking_core::{HostId, LinkId, TimeZoneName};
use chrono::{NaiveDate, TimeDelta};

use crate::helpers::*;
use crate::service;

/// Saves a link on the test host: `minutes` long and apart, weekdays 09:00–17:00 Berlin,
/// with every day of March 2027 closed when `closed_in_march`.
async fn add_link(app: &TestApp, slug: &str, id: u128, minutes: i64, closed_in_march: bool) {
    let zone = TimeZoneName::parse("Europe/Berlin").unwrap();
    let mut draft = RulesDraft::weekdays(
        zone,
        DayPeriod::parse("09:00-17:00").unwrap(),
        TimeDelta::minutes(minutes),
    );
    if closed_in_march {
        for day in 1..=31 {
            let date = NaiveDate::from_ymd_opt(2027, 3, day).unwrap();
            draft.overrides.insert(date, DayHours::closed());
        }
    }
    let settings = LinkSettings {
        title: format!("{slug} call"),
        rules: AvailabilityRules::new(draft).unwrap(),
        reconfirmation: None,
        create_deal: false,
        questions: vec![],
    };
    let link = BookingLink::new(
        LinkId::from_uuid(uuid::Uuid::from_u128(id)),
        HostId::from_uuid(uuid::Uuid::from_u128(1)),
        Slug::parse(slug).unwrap(),
        settings,
    )
    .unwrap()
    .with_details(
        Some("First line\nSecond line"),
        Some("https://meet.example.com/hana"),
    )
    .unwrap();
    app.store.save_link(&link).await.unwrap();
}

async fn get(app: &TestApp, uri: &str, language: Option<&str>) -> (u16, String) {
    let svc = service!(app);
    let mut req = TestRequest::get().uri(uri);
    if let Some(language) = language {
        req = req.insert_header(("accept-language", language));
    }
    let resp = call_service(&svc, req.to_request()).await;
    (resp.status().as_u16(), body(resp).await)
}

async fn post(app: &TestApp, uri: &str, pairs: &[(&str, &str)]) -> (u16, String) {
    let svc = service!(app);
    let body_text = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let req = TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(body_text);
    let resp = call_service(&svc, req.to_request()).await;
    (resp.status().as_u16(), body(resp).await)
}

#[actix_web::test]
async fn the_month_is_a_date_grid_with_the_open_days_as_buttons() {
    let app = setup().await;
    let (status, page) = get(&app, "/book/intro", None).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"role="grid""#) && page.contains(">March 2027<"),
        "{page}"
    );
    assert_eq!(
        page.matches(r#"role="gridcell""#).count(),
        31,
        "a cell per day"
    );
    // March 2027 has 23 weekdays; the link is open on each of them and on no weekend.
    assert_eq!(page.matches(r#"name="day""#).count(), 23);
    assert_eq!(page.matches(r#"aria-disabled="true""#).count(), 8);
    assert!(page.contains(r#"<td role="gridcell" aria-disabled="true">6</td>"#));
    assert!(page.contains(r#"aria-selected="true"><button name="day" value="2027-03-01""#));
    assert!(
        page.contains(r#"name="show" value="2027-04""#),
        "next month"
    );
    assert!(
        !page.contains("Previous month"),
        "no month before the current one"
    );

    let (_, page) = get(&app, "/book/intro?day=2027-03-04&tz=Europe/Berlin", None).await;
    assert!(page.contains(r#"aria-selected="true"><button name="day" value="2027-03-04""#));
    assert!(page.contains(">Thursday, March 4<"));
    assert!(
        page.contains(r#"value="2027-03-04T08:00:00Z""#),
        "that day's times"
    );
    assert!(!page.contains(r#"value="2027-03-01T08:00:00Z""#));
}

#[actix_web::test]
async fn the_grid_opens_on_the_first_month_with_free_times() {
    let app = setup().await;
    add_link(&app, "april", 10, 30, true).await;
    let (_, page) = get(&app, "/book/april", None).await;
    assert!(page.contains(">April 2027<"), "{page}");
    assert_eq!(page.matches(r#"role="gridcell""#).count(), 30);
    assert!(page.contains(r#"aria-selected="true"><button name="day" value="2027-04-01""#));
    assert!(
        page.contains(r#"name="show" value="2027-03""#),
        "March can be shown"
    );
    let (_, march) = get(&app, "/book/april?show=2027-03", None).await;
    assert_eq!(march.matches(r#"name="day""#).count(), 0);
    assert!(march.contains("No free times this month"));
}

#[actix_web::test]
async fn the_clock_follows_the_language_and_the_toggle() {
    let app = setup().await;
    let uri = "/book/intro?tz=Europe/Berlin";
    let (_, us) = get(&app, uri, Some("en-US,en;q=0.9")).await;
    assert!(us.contains(">9:00 AM<") && us.contains(">1:30 PM<"), "{us}");
    assert!(us.contains(r#"value="12" checked"#));
    let (_, gb) = get(&app, uri, Some("en-GB,en;q=0.9")).await;
    assert!(gb.contains(">09:00<") && gb.contains(">13:30<") && !gb.contains("AM<"));
    let (_, toggled) = get(&app, &format!("{uri}&clock=24"), Some("en-US")).await;
    assert!(toggled.contains(">09:00<") && !toggled.contains(">9:00 AM<"));
    let (_, toggled) = get(&app, &format!("{uri}&clock=12"), Some("de-DE")).await;
    assert!(toggled.contains(">9:00 AM<"));
}

#[actix_web::test]
async fn the_zone_box_lists_a_few_zones_with_offsets_and_all_of_them_on_demand() {
    let app = setup().await;
    let (_, page) = get(&app, "/book/intro", None).await;
    assert!(page.contains(r#"<option value="America/New_York">(UTC−05:00) New York</option>"#));
    assert!(page.contains(r#"<span id="tz-now">(UTC+01:00) Berlin</span>"#));
    let first_load = page.matches("<option").count();
    assert!(first_load < 25, "{first_load} zones on first load");
    assert!(
        page.contains("data-autodetect"),
        "the browser may pick the zone"
    );

    let (_, all) = get(&app, "/book/intro?zones=all&tz=Europe/Berlin", None).await;
    assert!(all.matches("<option").count() > 300);
    assert!(!all.contains("data-autodetect"));

    let (status, json) = get(&app, "/book/zones.json?q=york", None).await;
    assert_eq!(status, 200);
    let zones: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        zones,
        serde_json::json!([{"name": "America/New_York", "label": "(UTC−05:00) New York"}])
    );
    let (_, json) = get(&app, "/book/zones.json", None).await;
    let zones: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(zones.len() > 300);

    let (_, tokyo) = get(&app, "/book/intro?tz=tokyo", None).await;
    assert!(
        tokyo.contains(r#"value="Asia/Tokyo""#) && tokyo.contains(">17:00<"),
        "09:00 Berlin is 17:00 in Tokyo"
    );
    let (_, unknown) = get(&app, "/book/intro?tz=Atlantis", None).await;
    assert!(unknown.contains("“Atlantis” is not a time zone we know"));
}

#[actix_web::test]
async fn the_booking_page_of_a_busy_link_stays_under_15_kib() {
    let app = setup().await;
    add_link(&app, "busy", 11, 5, false).await;
    let (status, page) = get(&app, "/book/busy?tz=Europe/Berlin", Some("en-US")).await;
    assert_eq!(status, 200);
    assert_eq!(
        page.matches(r#"name="start""#).count(),
        96,
        "09:00–17:00 every 5 minutes"
    );
    println!("booking page: {} bytes", page.len());
    assert!(page.len() <= 15 * 1024, "{} bytes", page.len());
    // Without a zone in the URL (first load) it is no heavier.
    let (_, page) = get(&app, "/book/busy", Some("en-US")).await;
    assert!(page.len() <= 15 * 1024, "{} bytes", page.len());

    let booking = book_on(&app, "busy", at(9, 0)).await;
    let uri = format!("/book/reschedule/{}", booking.token().expose());
    let (status, page) = get(&app, &uri, Some("en-US")).await;
    assert_eq!(status, 200);
    println!("reschedule page: {} bytes", page.len());
    assert!(page.len() <= 20 * 1024, "{} bytes", page.len());
}

async fn book_on(
    app: &TestApp,
    slug: &str,
    start: chrono::DateTime<chrono::Utc>,
) -> booking_core::booking::Booking {
    use booking_core::invitee::{Answers, Email, Invitee, PersonName, Tracking};
    let invitee = Invitee::new(
        PersonName::parse("Ada").unwrap(),
        Email::parse("ada@example.org").unwrap(),
        None,
        TimeZoneName::parse("Europe/Berlin").unwrap(),
    );
    let request = booking_core::service::BookingRequest {
        start,
        invitee,
        answers: Answers::default(),
        tracking: Tracking::default(),
    };
    app.state
        .scheduler
        .book(&Slug::parse(slug).unwrap(), request)
        .await
        .unwrap()
}

#[actix_web::test]
async fn the_details_column_names_the_host_and_keeps_line_breaks() {
    let app = setup().await;
    add_link(&app, "detailed", 12, 30, false).await;
    let (_, page) = get(&app, "/book/detailed", None).await;
    assert!(page.contains(r#"<span class="avatar" aria-hidden="true">HH</span><span class="host-name">Hana Host</span>"#));
    assert!(page.contains("<li>30 minutes</li>"));
    assert!(page.contains(r#"<a class="join" href="https://meet.example.com/hana""#));
    assert!(page.contains("<p class=\"description\">First line\nSecond line</p>"));
    let booking = book_on(&app, "detailed", at(9, 0)).await;
    let token = booking.token().expose();
    for kind in ["cancel", "reschedule", "reconfirm"] {
        let (_, page) = get(&app, &format!("/book/{kind}/{token}"), None).await;
        assert!(page.contains("https://meet.example.com/hana"), "{kind}");
        assert!(page.contains("First line\nSecond line"), "{kind}");
    }
}

#[actix_web::test]
async fn a_taken_time_keeps_everything_typed_and_offers_the_days_other_times() {
    let app = setup().await;
    book(&app, at(9, 0)).await;
    let start = rfc(at(9, 0));
    let (status, page) = post(
        &app,
        "/book/intro",
        &[
            ("start", &start),
            ("tz", "Europe/Berlin"),
            ("clock", "24"),
            ("name", "Bo Brown"),
            ("email", "bo@example.org"),
            ("phone", "+14155552671"),
            ("q0", "Budget\nand timing"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(page.contains("that time was just taken"), "{page}");
    assert!(page.contains(r#"value="Bo Brown""#) && page.contains(r#"value="bo@example.org""#));
    assert!(page.contains(r#"value="+14155552671""#));
    assert!(page.contains(">Budget\nand timing</textarea>"));
    assert!(page.contains(&format!(
        r#"type="radio" name="start" value="{}""#,
        rfc(at(9, 30))
    )));
    assert!(
        !page.contains(&format!(r#"value="{start}""#)),
        "the taken time is gone"
    );
    assert!(app.store.bookings().len() == 1);

    // Picking another of the offered times with the kept input books it.
    let other = rfc(at(9, 30));
    let (status, _) = post(
        &app,
        "/book/intro",
        &[
            ("start", &other),
            ("tz", "Europe/Berlin"),
            ("name", "Bo Brown"),
            ("email", "bo@example.org"),
            ("q0", "Budget"),
        ],
    )
    .await;
    assert_eq!(status, 303);
}

#[actix_web::test]
async fn a_validation_error_keeps_phone_and_answers() {
    let app = setup().await;
    let start = rfc(at(9, 0));
    let (status, page) = post(
        &app,
        "/book/intro",
        &[
            ("start", &start),
            ("name", "Bo"),
            ("email", "nope"),
            ("phone", "+14155552671"),
            ("q0", "Line one\nLine two"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains(r#"value="+14155552671""#) && page.contains(">Line one\nLine two</textarea>")
    );
    assert!(
        page.contains(&format!(r#"name="start" value="{start}""#)),
        "the chosen time stays"
    );
}

#[actix_web::test]
async fn rescheduling_outside_the_hosts_hours_says_so_and_keeps_the_reason() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    book_on(&app, "intro", at(11, 0)).await;
    let uri = format!("/book/reschedule/{}", booking.token().expose());
    let late = rfc(at(20, 0));
    let (status, page) = post(
        &app,
        &uri,
        &[
            ("start", &late),
            ("tz", "Europe/Berlin"),
            ("reason", "Clash\nwith travel"),
        ],
    )
    .await;
    assert_eq!(status, 409);
    assert!(page.contains("outside the host's hours"), "{page}");
    assert!(!page.contains("just taken"));
    assert!(page.contains(">Clash\nwith travel</textarea>"));

    let taken = rfc(at(11, 0));
    let (status, page) = post(
        &app,
        &uri,
        &[("start", &taken), ("tz", "Europe/Berlin"), ("reason", "x")],
    )
    .await;
    assert_eq!(status, 409);
    assert!(
        page.contains("that time was just taken") && !page.contains("outside the host's hours")
    );
}

#[actix_web::test]
async fn moving_between_days_keeps_the_chosen_time_and_the_reason() {
    let app = setup().await;
    let booking = book(&app, at(9, 0)).await;
    let token = booking.token().expose();
    let chosen = rfc(at(10, 0));
    let uri = format!(
        "/book/reschedule/{token}?tz=Europe/Berlin&clock=24&month=2027-03&date=2027-03-01&day=2027-03-02&start={}&reason=Line%20one%0ALine%20two",
        enc(&chosen)
    );
    let (status, page) = get(&app, &uri, None).await;
    assert_eq!(status, 200);
    assert!(page.contains(">Tuesday, March 2<"), "{page}");
    assert!(page.contains(&format!(
        r#"name="start" value="{chosen}" required checked"#
    )));
    assert!(
        page.contains("Monday, March 1, 11:00"),
        "the choice is named beside the other day"
    );
    assert!(page.contains(">Line one\nLine two</textarea>"));
    assert!(
        page.contains(r#"formmethod="get""#),
        "picker buttons ask with GET inside the posting form"
    );
    // Submitting from there moves the booking.
    let (status, _) = post(
        &app,
        &format!("/book/reschedule/{token}"),
        &[("start", &chosen), ("reason", "Line one\nLine two")],
    )
    .await;
    assert_eq!(status, 303);
}

fn enc(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
