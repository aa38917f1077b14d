//! Text messages on the web side: the provider's reply callback (`POST /sms/inbound`) with
//! Twilio's signature checked by the real adapter, and what the booking form promises about
//! texts with and without SMS configured.

use std::sync::Arc;

use actix_web::test::{TestRequest, call_service};
use booking_core::ports::{BookingStore, TextOptOuts};
use fake_twilio::AUTH_TOKEN;
use sms_out::{AuthToken, TwilioSignature};

use crate::helpers::*;
use crate::service;

const ANN: &str = "+447911123456";
const OURS: &str = "+15550001111";

fn with_texts(app: &TestApp, replies: bool) -> ::web::AppState {
    let check: Option<Arc<dyn booking_core::text_replies::ReplySignature>> =
        replies.then(|| Arc::new(TwilioSignature::new(&AuthToken::new(AUTH_TOKEN))) as _);
    app.state.clone().with_texts(::web::TextSide {
        replies: check,
        opt_outs: Arc::new(app.store.clone()),
    })
}

fn encode(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".into(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A reply as Twilio posts it to `path`, signed for the public URL `http://book.test{path}`
/// with `token`.
fn reply(path: &str, from: &str, body: &str, token: &str) -> TestRequest {
    let form: Vec<(String, String)> = [
        ("MessageSid", "SM11111111111111111111111111111111"),
        ("AccountSid", fake_twilio::ACCOUNT_SID),
        ("From", from),
        ("To", OURS),
        ("Body", body),
        ("NumMedia", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = fake_twilio::signature(token, &format!("http://book.test{path}"), &form);
    TestRequest::post()
        .uri(path)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("X-Twilio-Signature", signature))
        .set_payload(encode(&form))
}

#[actix_web::test]
async fn a_signed_stop_opts_out_and_start_lifts_it() {
    let mut app = setup().await;
    app.state = with_texts(&app, true);
    let svc = service!(app);
    let resp = call_service(
        &svc,
        reply("/sms/inbound", ANN, " Stop ", AUTH_TOKEN).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert!(header(&resp, "content-type").starts_with("text/xml"));
    assert!(body(resp).await.ends_with("<Response/>"));
    assert!(app.store.is_opted_out(ANN).await.unwrap(), "STOP recorded");

    let hello = call_service(
        &svc,
        reply("/sms/inbound", ANN, "thanks!", AUTH_TOKEN).to_request(),
    )
    .await;
    assert_eq!(hello.status(), 200);
    assert!(
        app.store.is_opted_out(ANN).await.unwrap(),
        "other words change nothing"
    );

    let start = call_service(
        &svc,
        reply("/sms/inbound?src=x", ANN, "START", AUTH_TOKEN).to_request(),
    )
    .await;
    assert_eq!(start.status(), 200, "the query is part of the signed URL");
    assert!(
        !app.store.is_opted_out(ANN).await.unwrap(),
        "START lifts it"
    );
}

#[actix_web::test]
async fn a_bad_signature_is_refused_and_records_nothing() {
    let mut app = setup().await;
    app.state = with_texts(&app, true);
    let svc = service!(app);
    let forged = call_service(
        &svc,
        reply("/sms/inbound", ANN, "STOP", "not-the-token").to_request(),
    )
    .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(header(&forged, "content-type"), "application/problem+json");
    assert!(body(forged).await.contains("bad-signature"));

    let unsigned = reply("/sms/inbound", ANN, "STOP", AUTH_TOKEN)
        .insert_header(("X-Twilio-Signature", ""))
        .to_request();
    assert_eq!(call_service(&svc, unsigned).await.status(), 403);

    // Signed for another URL: the signature covers where it was sent.
    let elsewhere = reply("/sms/inbound?x=1", ANN, "STOP", AUTH_TOKEN)
        .uri("/sms/inbound")
        .to_request();
    assert_eq!(call_service(&svc, elsewhere).await.status(), 403);
    assert!(
        !app.store.is_opted_out(ANN).await.unwrap(),
        "nothing recorded"
    );
}

#[actix_web::test]
async fn replies_are_taken_only_when_the_provider_can_send_them() {
    let app = setup().await;
    let svc = service!(app);
    let none = call_service(
        &svc,
        reply("/sms/inbound", ANN, "STOP", AUTH_TOKEN).to_request(),
    )
    .await;
    assert_eq!(none.status(), 404, "no SMS_URL");

    let mut files = setup().await;
    files.state = with_texts(&files, false);
    let svc = service!(files);
    let resp = call_service(
        &svc,
        reply("/sms/inbound", ANN, "STOP", AUTH_TOKEN).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404, "the file adapter takes no replies");
    assert!(!files.store.is_opted_out(ANN).await.unwrap());

    let get = TestRequest::get().uri("/sms/inbound").to_request();
    assert_eq!(call_service(&svc, get).await.status(), 405);
}

fn form_page_uri() -> String {
    format!("/book/intro?start={}", rfc(at(9, 0)).replace('+', "%2B"))
}

#[actix_web::test]
async fn the_phone_field_promises_texts_only_when_they_can_be_sent() {
    let app = setup().await;
    let svc = service!(app);
    let page =
        body(call_service(&svc, TestRequest::get().uri(&form_page_uri()).to_request()).await).await;
    assert!(page.contains("no text messages are sent"), "{page}");
    assert!(!page.contains("text reminders"));
    assert!(!page.contains("Reply STOP"));

    let mut texting = setup().await;
    texting.state = with_texts(&texting, true);
    let svc = service!(texting);
    let page =
        body(call_service(&svc, TestRequest::get().uri(&form_page_uri()).to_request()).await).await;
    assert!(
        page.contains("We may text you about this booking"),
        "{page}"
    );
    assert!(page.contains("Reply STOP"));
    assert!(!page.contains("no text messages are sent"));
}

#[actix_web::test]
async fn the_form_asks_for_the_country_code_and_keeps_numbers_in_e164() {
    let app = setup().await;
    let svc = service!(app);
    let post = |phone: &str| {
        let pairs = [
            ("start".to_owned(), rfc(at(9, 0))),
            ("name".to_owned(), "Ann".to_owned()),
            ("email".to_owned(), "ann@example.org".to_owned()),
            ("phone".to_owned(), phone.to_owned()),
        ];
        TestRequest::post()
            .uri("/book/intro")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(encode(&pairs))
            .to_request()
    };
    let resp = call_service(&svc, post("030 1234567")).await;
    assert_eq!(resp.status(), 422);
    let page = body(resp).await;
    assert!(
        page.contains("must start with + and the country code"),
        "{page}"
    );
    assert!(page.contains(r#"value="030 1234567""#), "typed value kept");

    let resp = call_service(&svc, post("+49 1")).await;
    assert_eq!(resp.status(), 422);
    assert!(body(resp).await.contains("is not a valid phone number"));
    assert!(app.store.bookings().is_empty());

    let resp = call_service(&svc, post("+49 (30) 123-4567")).await;
    assert!(
        resp.status().is_success() || resp.status().is_redirection(),
        "{}",
        resp.status()
    );
    let booked = app.store.bookings();
    assert_eq!(booked.len(), 1);
    let phone = booked[0].invitee().phone().expect("phone kept");
    assert_eq!(phone.as_str(), "+49301234567");
    let again = app
        .store
        .booking(booked[0].id())
        .await
        .unwrap()
        .expect("row");
    assert_eq!(
        again.invitee().phone().and_then(|p| p.e164()),
        Some("+49301234567")
    );
}

#[actix_web::test]
async fn the_api_names_the_country_code_rule() {
    let app = setup().await;
    let svc = service!(app);
    let request = TestRequest::post()
        .uri("/api/v1/links/intro/bookings")
        .insert_header(("content-type", "application/json"))
        .set_payload(
            serde_json::json!({
                "start": rfc(at(9, 0)),
                "invitee": {"name": "Ann", "email": "ann@example.org", "timezone": "Europe/Berlin", "phone": "(212) 555-0100"}
            })
            .to_string(),
        )
        .to_request();
    let resp = call_service(&svc, request).await;
    assert_eq!(resp.status(), 422);
    assert!(
        body(resp)
            .await
            .contains("must start with + and the country code")
    );
}
