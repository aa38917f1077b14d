//! `/links`: the host's own links only; creating and editing with every setting; invalid
//! input answered with 422, every message and the form as typed; another host's link 404.

use booking_core::LinkId;
use booking_core::link::Slug;
use booking_core::ports::BookingStore;
use chrono::{NaiveDate, TimeDelta, Weekday};

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

fn full_form<'a>(csrf: &'a str, slug: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("slug", slug),
        ("title", "Deep dive"),
        ("description", "We go through your numbers."),
        ("location", "https://meet.example.com/deep"),
        ("time_zone", "America/New_York"),
        ("duration_minutes", "45"),
        ("interval_minutes", "15"),
        ("buffer_before_minutes", "10"),
        ("buffer_after_minutes", "5"),
        ("minimum_notice_minutes", "240"),
        ("max_days_ahead", "30"),
        ("hours_mon", "09:00-12:00, 13:00-17:00"),
        ("hours_wed", "10:00-16:00"),
        (
            "date_overrides",
            "2027-03-03 closed\n2027-03-06 10:00-12:00",
        ),
        ("questions", "Company?\nTeam size?"),
        ("create_deal", "on"),
        ("reconfirm_ask_minutes", "2880"),
        ("reconfirm_cancel_minutes", "1440"),
    ]
}

#[actix_web::test]
async fn the_list_shows_only_the_hosts_own_links() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let html = body(send!(svc, b, get("/links"))).await;
    assert!(
        html.contains("Intro call") && html.contains("http://book.test/book/intro"),
        "{html}"
    );
    assert!(!html.contains("otto-call"));
}

#[actix_web::test]
async fn a_link_is_created_with_every_setting_and_edited() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    assert_eq!(send!(svc, b, get("/links/new")).status(), 200);
    let resp = send!(svc, b, form("/links", &full_form(&csrf, "deep-dive")));
    assert_eq!(resp.status(), 303, "{}", body(resp).await);
    let link = app
        .store
        .link_by_slug(&Slug::parse("deep-dive").unwrap())
        .await
        .unwrap()
        .expect("saved");
    assert_eq!(link.host(), app.hana.id());
    assert_eq!(link.description(), Some("We go through your numbers."));
    assert_eq!(link.location(), Some("https://meet.example.com/deep"));
    let rules = link.rules();
    assert_eq!(rules.zone().name(), "America/New_York");
    assert_eq!(
        (
            rules.duration(),
            rules.interval(),
            rules.buffer_before(),
            rules.buffer_after()
        ),
        (
            TimeDelta::minutes(45),
            TimeDelta::minutes(15),
            TimeDelta::minutes(10),
            TimeDelta::minutes(5)
        )
    );
    assert_eq!(
        (rules.minimum_notice(), rules.max_days_ahead()),
        (TimeDelta::hours(4), Some(30))
    );
    assert_eq!(rules.weekly().day(Weekday::Mon).periods().len(), 2);
    assert!(rules.weekly().day(Weekday::Tue).is_closed());
    assert!(
        rules
            .hours_on(NaiveDate::from_ymd_opt(2027, 3, 3).unwrap())
            .is_closed()
    );
    assert_eq!(link.questions(), ["Company?", "Team size?"]);
    assert!(link.create_deal());
    let policy = link.reconfirmation().unwrap();
    assert_eq!(
        (policy.ask_before(), policy.cancel_before()),
        (TimeDelta::hours(48), TimeDelta::hours(24))
    );

    let edit = format!("/links/{}", link.id());
    let html = body(send!(svc, b, get(&edit))).await;
    assert!(
        html.contains(r#"value="09:00-12:00, 13:00-17:00""#),
        "{html}"
    );
    assert!(html.contains("2027-03-03 closed"));
    let mut changed = full_form(&csrf, "deep-dive");
    changed.retain(|(k, _)| *k != "create_deal" && !k.starts_with("reconfirm"));
    changed.push(("title", "Deeper dive"));
    changed.retain(|(k, v)| !(*k == "title" && *v == "Deep dive"));
    let resp = send!(svc, b, form(&edit, &changed));
    assert_eq!(resp.status(), 303);
    let link = app.store.link(link.id()).await.unwrap().unwrap();
    assert_eq!(link.title(), "Deeper dive");
    assert!(!link.create_deal() && link.reconfirmation().is_none());
}

#[actix_web::test]
async fn invalid_input_comes_back_with_every_message_and_what_was_typed() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = send!(
        svc,
        b,
        form(
            "/links",
            &[
                ("csrf", &csrf),
                ("slug", "Not A Slug"),
                ("title", ""),
                ("time_zone", "Mars/Olympus"),
                ("duration_minutes", "0"),
                ("buffer_before_minutes", "-5"),
                ("hours_tue", "18:00-09:00"),
                ("date_overrides", "someday closed"),
                ("reconfirm_ask_minutes", "120"),
                ("reconfirm_cancel_minutes", "300"),
                ("questions", "Kept question?"),
            ]
        )
    );
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    for message in [
        "slug must be 1-64 characters",
        "title must be 1 to 200 characters",
        "Mars/Olympus",
        "must be between 0 and 527040 minutes",
        "18:00-09:00",
        "is not a date like 2027-03-01",
        "ask for reconfirmation earlier than the auto-cancel deadline",
    ] {
        assert!(html.contains(message), "{message}: {html}");
    }
    assert!(html.contains(r#"value="Not A Slug""#) && html.contains("Kept question?"));
    assert!(
        app.store
            .link_by_slug(&Slug::parse("not-a-slug").unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[actix_web::test]
async fn a_taken_slug_is_refused_on_the_slug_field() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let resp = send!(svc, b, form("/links", &full_form(&csrf, "otto-call")));
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("already taken"));
    let otto = app
        .store
        .link_by_slug(&Slug::parse("otto-call").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(otto.host(), app.otto.id(), "Otto keeps his link");
}

#[actix_web::test]
async fn another_hosts_link_is_not_found() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let theirs = LinkId::from_uuid(uuid::Uuid::from_u128(4));
    assert_eq!(
        send!(svc, b, get(&format!("/links/{theirs}"))).status(),
        404
    );
    let resp = send!(
        svc,
        b,
        form(&format!("/links/{theirs}"), &full_form(&csrf, "otto-call"))
    );
    assert_eq!(resp.status(), 404);
    assert_eq!(
        app.store.link(theirs).await.unwrap().unwrap().title(),
        "Otto's call"
    );
}

#[actix_web::test]
async fn the_workflow_matrix_is_edited_with_a_preset_and_unknown_fields_are_refused() {
    let app = setup().await;
    let svc = service!(app.state);
    let mut b = logged_in!(svc, "hana@example.com", HANA_PASSWORD);
    let csrf = csrf!(svc, b);
    let html = body(send!(svc, b, get("/links/new"))).await;
    assert!(
        html.contains(r#"name="step0_trigger""#),
        "the matrix is offered"
    );
    assert!(
        html.contains("no_show_follow_up"),
        "the presets are offered"
    );

    let mut fields = full_form(&csrf, "steps");
    fields.retain(|(k, _)| !k.starts_with("reconfirm"));
    fields.extend([
        ("reconfirm_ask_minutes", "90"),
        ("reconfirm_cancel_minutes", "45"),
        ("workflow_custom", "on"),
        ("reconfirm_by_text", "on"),
        ("step0_trigger", "before_start"),
        ("step0_minutes", "30"),
        ("step0_action", "text_attendee"),
        ("step1_trigger", "booked"),
        ("step1_action", "email_host"),
        ("step1_subject", "Booked: {attendee_name}"),
        ("step1_body", "At {start}"),
        ("add_preset", "no_show_follow_up"),
    ]);
    let resp = send!(svc, b, form("/links", &fields));
    assert_eq!(resp.status(), 303, "{}", body(resp).await);
    let link = app
        .store
        .link_by_slug(&Slug::parse("steps").unwrap())
        .await
        .unwrap()
        .expect("saved");
    let policy = link.reconfirmation().unwrap();
    assert_eq!(policy.ask_before(), TimeDelta::minutes(90));
    let workflow = link.workflow().expect("its own workflow");
    let steps: Vec<(&str, &str)> = workflow
        .steps()
        .iter()
        .map(|s| (s.trigger().name(), s.action().name()))
        .collect();
    assert_eq!(
        steps,
        [
            ("before_start", "text_attendee"),
            ("booked", "email_host"),
            ("no_show", "email_attendee")
        ]
    );
    assert!(!workflow.reconfirm_by_email() && workflow.reconfirm_by_text());
    let html = body(send!(svc, b, get(&format!("/links/{}", link.id())))).await;
    assert!(html.contains("Booked: {attendee_name}"), "{html}");
    assert!(html.contains("= 1 h 30 min before the meeting"), "{html}");

    let mut bad = full_form(&csrf, "bad-steps");
    bad.extend([
        ("workflow_custom", "on"),
        ("reconfirm_by_email", "on"),
        ("step0_trigger", "booked"),
        ("step0_action", "email_attendee"),
        ("step0_subject", "Hi {nickname}"),
        ("step0_body", "Hello"),
    ]);
    let resp = send!(svc, b, form("/links", &bad));
    assert_eq!(resp.status(), 422);
    let html = body(resp).await;
    assert!(html.contains("unknown field {nickname}"), "{html}");
    assert!(
        html.contains("Hi {nickname}"),
        "the row comes back as typed"
    );
}
