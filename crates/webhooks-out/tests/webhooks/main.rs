//! Integration tests: payloads from real bookings, delivered to a local Python receiver that
//! verifies them with the real `standardwebhooks` package, and receivers that fail.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use booking_core::booking::NewBooking;
use booking_core::invitee::{ANSWER_MAX, Answers, Tracking};
use booking_core::{Booking, BookingId, RescheduleToken, TimeRange};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use support::{Receiver, World, hostile_text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhooks_out::{
    DEFAULT_TIMEOUT, TargetPolicy, WebhookClient, WebhookEvent, WebhookSecret, payload, sign,
};

fn secret() -> WebhookSecret {
    WebhookSecret::generate(*b"0123456789abcdef0123456789abcdef")
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

#[tokio::test]
async fn payloads_follow_the_contract_across_a_chain() {
    let world = World::new().await;
    let booked = world
        .book(
            "Ada King Lovelace",
            vec![("Phone Number".into(), "+32 123 12 12 12".into())],
            1,
        )
        .await;
    let moved = world
        .reschedule(&booked, 4, Some("Schedule Conflict"))
        .await;
    let cancelled = world.cancel(&moved, Some("Found another vendor")).await;
    let old = world.current(&booked);

    let b = payload(WebhookEvent::CallBooked, &world.ctx(&booked, None));
    let r = payload(
        WebhookEvent::CallRescheduled,
        &world.ctx(&moved, Some(&old)),
    );
    let c = payload(WebhookEvent::CallCancelled, &world.ctx(&cancelled, None));
    let (b, r, c) = (&b[0], &r[0], &c[0]);

    // 09:30 Berlin (08:30 UTC) on Monday 2027-03-01 is 03:30 in New York.
    assert_eq!(b["event"]["utc_start_time"], "2027-03-01T08:30:00+00:00");
    assert_eq!(b["event"]["start_time"], "2027-03-01T09:30:00+01:00");
    assert_eq!(
        b["event"]["start_time_pretty"],
        "09:30am - Monday, March 1, 2027"
    );
    assert_eq!(
        b["event"]["end_time_pretty"],
        "10:00am - Monday, March 1, 2027"
    );
    assert_eq!(
        b["event"]["invitee_start_time"],
        "2027-03-01T03:30:00-05:00"
    );
    assert_eq!(
        b["event"]["invitee_start_time_pretty"],
        "03:30am - Monday, March 1, 2027"
    );
    assert_eq!(b["event"]["invitee_end_time"], "2027-03-01T04:00:00-05:00");
    assert_eq!(b["event_type"]["duration"], "30");
    assert_eq!(b["event_type"]["durationUnit"], "MINUTES");
    assert_eq!(b["event_type"]["slug"], "intro");
    assert_eq!(b["event_type"]["uuid"], world.link.id().to_string());
    assert_eq!(b["event"]["assigned_to"]["1"], "Hana Host");
    assert_eq!(
        b["event"]["extended_assigned_to"]["1"]["email"],
        "hana@example.com"
    );
    assert_eq!(b["event"]["location"], "http://127.0.0.1:8080/book/intro");
    assert_eq!(b["hookType"], "Call booked");
    assert_eq!(r["hookType"], "Call rescheduled");
    assert_eq!(c["hookType"], "Call cancelled");

    // One uuid for the meeting; the invitee uuid is the row.
    let chain = booked.chain().to_string();
    for doc in [b, r, c] {
        assert_eq!(doc["event"]["uuid"], chain.as_str());
    }
    assert_eq!(b["invitee"]["uuid"], booked.id().to_string());
    assert_eq!(r["invitee"]["uuid"], moved.id().to_string());

    assert_eq!(b["event"]["old_start_time"], Value::Null);
    assert_eq!(r["event"]["old_start_time"], "2027-03-01T09:30:00+01:00");
    assert_eq!(r["event"]["start_time"], "2027-03-01T11:00:00+01:00");
    assert_eq!(c["event"]["old_start_time"], Value::Null);
    assert_eq!(b["invitee"]["is_reschedule"], false);
    assert_eq!(r["invitee"]["is_reschedule"], true);
    assert_eq!(r["invitee"]["reschedule_reason"], "Schedule Conflict");
    assert_eq!(r["event"]["canceled"], false);
    assert_eq!(r["invitee"]["canceled"], false);
    assert_eq!(c["event"]["canceled"], true);
    assert_eq!(c["invitee"]["canceled"], true);
    assert_eq!(c["event"]["canceler_name"], "Ada King Lovelace");
    assert_eq!(c["event"]["cancel_reason"], "Found another vendor");
    assert_eq!(c["invitee"]["cancel_reason"], "Found another vendor");
    assert!(
        c["event"]["canceled_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-03-01T09:00:00+01:00")
    );
    assert_eq!(b["event"]["canceler_name"], Value::Null);

    assert_eq!(b["invitee"]["first_name"], "Ada");
    assert_eq!(b["invitee"]["last_name"], "King Lovelace");
    assert_eq!(b["invitee"]["timezone"], "America/New_York");
    // The spec shows the number as typed; ours are kept and sent in E.164.
    assert_eq!(b["invitee"]["text_reminder_number"], "+32470123456");
    assert_eq!(
        b["questions_and_answers"],
        serde_json::json!([{"question": "Phone Number", "answer": "+32 123 12 12 12"}])
    );
    assert_eq!(
        b["questions_and_responses"],
        serde_json::json!({"question": "Phone Number", "response": "+32 123 12 12 12", "Phone Number": "+32 123 12 12 12"})
    );
    assert_eq!(b["tracking"]["utm_source"], "newsletter");
    assert_eq!(b["tracking"]["first_utm_campaign"], "spring");
    assert_eq!(b["tracking"]["utm_medium"], "");
    assert_eq!(b["tracking"]["utmKey_0"], "utm_source");
    assert_eq!(b["tracking"]["utmValue_1"], "spring");
    assert_eq!(b["tracking"]["utmKey_2"], "");
    assert_eq!(b["tracking"].as_object().unwrap().len(), 20);
}

#[tokio::test]
async fn signed_deliveries_verify_with_the_standardwebhooks_package() {
    let world = World::new().await;
    let booked = world
        .book("Ada Lovelace", vec![("Topic".into(), "Pricing".into())], 1)
        .await;
    let moved = world.reschedule(&booked, 3, None).await;
    let cancelled = world.cancel(&moved, None).await;
    let old = world.current(&booked);
    let receiver = Receiver::start(&secret().expose(), 0.0);
    let client = WebhookClient::new(TargetPolicy::allow_private()).unwrap();
    assert_eq!(client.timeout(), DEFAULT_TIMEOUT);

    for (event, row, previous) in [
        (WebhookEvent::CallBooked, &booked, None),
        (WebhookEvent::CallRescheduled, &moved, Some(&old)),
        (WebhookEvent::CallCancelled, &cancelled, None),
    ] {
        let body = serde_json::to_vec(&payload(event, &world.ctx(row, previous))).unwrap();
        let key = format!("{}:webhook:{}", row.id(), event.name());
        let report = client
            .deliver(&receiver.url("/verify"), &secret(), &key, &body)
            .await;
        assert_eq!(report.status, Some(204), "{event:?}: {report:?}");
        assert!(report.delivered && report.error.is_none());
    }
}

/// `invitee.reconfirmation`: `null` when the booking has no deadline; otherwise the request's
/// delivery, the deadline and the click, in the host's zone, as they happen. The receiver
/// checks the shape of every stage.
#[tokio::test]
async fn reconfirmation_fields_follow_the_request_and_the_answer() {
    let world = World::new().await;
    let plain = world.book("Ada Lovelace", vec![], 1).await;
    let doc = payload(WebhookEvent::CallBooked, &world.ctx(&plain, None));
    assert_eq!(doc[0]["invitee"]["reconfirmation"], Value::Null);

    // 2027-03-03 09:00 UTC, deadline a day before, asked at 08:00 UTC on 2027-03-01.
    let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2027, 3, d, h, 0, 0).unwrap();
    let slot = TimeRange::new(at(3, 9), at(3, 10)).unwrap();
    let checked = Booking::confirmed(NewBooking {
        id: BookingId::from_uuid(uuid::Uuid::from_u128(0x77)),
        host: world.host.id(),
        link: world.link.id(),
        slot,
        blocked: slot,
        token: RescheduleToken::from_bytes([7; 16]),
        invitee: plain.invitee().clone(),
        answers: Answers::default(),
        tracking: Tracking::default(),
        reconfirm_by: Some(at(2, 9)),
        created_at: at(1, 7),
    })
    .result;
    let asked = checked.with_reconfirmation_requested(at(1, 8)).unwrap();
    let yes = asked.reconfirm(at(1, 12)).unwrap().result;
    let fields = |row: &Booking| {
        payload(WebhookEvent::CallBooked, &world.ctx(row, None))[0]["invitee"]["reconfirmation"]
            .clone()
    };
    assert_eq!(
        fields(&checked),
        json!({"requested_at": null, "deadline": "2027-03-02T10:00:00+01:00", "reconfirmed_at": null})
    );
    assert_eq!(
        fields(&asked),
        json!({"requested_at": "2027-03-01T09:00:00+01:00", "deadline": "2027-03-02T10:00:00+01:00", "reconfirmed_at": null})
    );
    assert_eq!(
        fields(&yes),
        json!({"requested_at": "2027-03-01T09:00:00+01:00", "deadline": "2027-03-02T10:00:00+01:00", "reconfirmed_at": "2027-03-01T13:00:00+01:00"})
    );
    let gone = asked.expire_unreconfirmed(at(2, 9)).result;
    let receiver = Receiver::start(&secret().expose(), 0.0);
    let client = WebhookClient::new(TargetPolicy::allow_private()).unwrap();
    for (event, row) in [
        (WebhookEvent::CallBooked, &plain),
        (WebhookEvent::CallBooked, &checked),
        (WebhookEvent::CallBooked, &yes),
        (WebhookEvent::CallCancelled, &gone),
    ] {
        let body = serde_json::to_vec(&payload(event, &world.ctx(row, None))).unwrap();
        let report = client
            .deliver(&receiver.url("/verify"), &secret(), "r", &body)
            .await;
        assert_eq!(report.status, Some(204), "{row:?}: {report:?}");
    }
}

#[tokio::test]
async fn replayed_tampered_and_wrongly_signed_deliveries_are_rejected() {
    let world = World::new().await;
    let booked = world.book("Ada Lovelace", vec![], 1).await;
    let body = serde_json::to_vec(&payload(
        WebhookEvent::CallBooked,
        &world.ctx(&booked, None),
    ))
    .unwrap();
    let receiver = Receiver::start(&secret().expose(), 0.0);
    let client = WebhookClient::new(TargetPolicy::allow_private()).unwrap();
    let url = receiver.url("/verify");

    // Replayed ten minutes later: the timestamp is outside the receiver's tolerance.
    let replay = client
        .deliver_at(&url, &secret(), "msg_1", now() - 600, &body)
        .await;
    assert_eq!(replay.status, Some(401), "{replay:?}");
    assert!(!replay.delivered);

    // Another subscription's secret.
    let other = WebhookSecret::generate([9; 32]);
    let wrong = client.deliver(&url, &other, "msg_2", &body).await;
    assert_eq!(wrong.status, Some(401));

    // A body changed after signing.
    let timestamp = now();
    let signature = sign(&secret(), "msg_3", timestamp, &body);
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'0').unwrap();
    tampered[at] = b'1';
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("webhook-id", "msg_3")
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", &signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    // The untouched original is accepted.
    let fine = client.deliver(&url, &secret(), "msg_3", &body).await;
    assert!(fine.delivered, "{fine:?}");
}

#[tokio::test]
async fn failing_receivers_are_not_delivered() {
    let receiver = Receiver::start(&secret().expose(), 2.0);
    let client =
        WebhookClient::with_timeout(TargetPolicy::allow_private(), Duration::from_millis(800))
            .unwrap();
    let body = br#"[{"hookType":"Call booked"}]"#;

    let failed = client
        .deliver(&receiver.url("/fail"), &secret(), "m1", body)
        .await;
    assert_eq!((failed.status, failed.delivered), (Some(500), false));
    assert!(
        failed.error.as_deref().unwrap().contains("500"),
        "{failed:?}"
    );

    let slow = client
        .deliver(&receiver.url("/slow"), &secret(), "m2", body)
        .await;
    assert_eq!((slow.status, slow.delivered), (None, false), "{slow:?}");
    assert!(
        slow.error
            .as_deref()
            .unwrap()
            .contains("no answer within 800 ms"),
        "{slow:?}"
    );
    assert!((800..2_000).contains(&slow.latency_ms), "{slow:?}");

    let dropped = client
        .deliver(&receiver.url("/drop"), &secret(), "m3", body)
        .await;
    assert_eq!(
        (dropped.status, dropped.delivered),
        (None, false),
        "{dropped:?}"
    );
    assert!(dropped.error.is_some());

    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused = client
        .deliver(&format!("http://127.0.0.1:{port}/"), &secret(), "m4", body)
        .await;
    assert_eq!(
        (refused.status, refused.delivered),
        (None, false),
        "{refused:?}"
    );

    let invalid = client.deliver("not a url", &secret(), "m5", body).await;
    assert!(!invalid.delivered && invalid.error.is_some());
    let bad_id = client
        .deliver(&receiver.url("/verify"), &secret(), "line\r\nbreak", body)
        .await;
    assert!(!bad_id.delivered && bad_id.error.as_deref().unwrap().contains("webhook-id"));
}

#[tokio::test]
async fn the_default_timeout_is_five_seconds() {
    let receiver = Receiver::start(&secret().expose(), 6.5);
    let client = WebhookClient::new(TargetPolicy::allow_private()).unwrap();
    let slow = client
        .deliver(&receiver.url("/slow"), &secret(), "m", b"[]")
        .await;
    assert!(!slow.delivered && slow.status.is_none(), "{slow:?}");
    assert!((5_000..6_400).contains(&slow.latency_ms), "{slow:?}");
}

#[tokio::test]
async fn hostile_input_survives_json_escaped_and_still_verifies() {
    let world = World::new().await;
    let hostile = hostile_text();
    let answer: String = hostile.chars().take(ANSWER_MAX).collect();
    let booked = world
        .book(
            "Zoë <script>alert(1)</script> \"O'Brien\"",
            vec![("Anything else?".into(), answer.clone())],
            1,
        )
        .await;
    let cancelled = world.cancel(&booked, Some(&hostile)).await;
    let document = payload(WebhookEvent::CallCancelled, &world.ctx(&cancelled, None));
    let body = serde_json::to_vec(&document).unwrap();
    let text = std::str::from_utf8(&body).unwrap();
    assert!(
        !text.contains('\n') && !text.contains('\t'),
        "line breaks and tabs are escaped in JSON"
    );
    let back: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(back[0]["event"]["cancel_reason"], hostile.as_str());
    assert_eq!(
        back[0]["questions_and_answers"][0]["answer"],
        answer.as_str()
    );
    assert_eq!(
        back[0]["questions_and_responses"]["Anything else?"],
        answer.as_str()
    );
    assert_eq!(
        back[0]["invitee"]["name"],
        "Zoë <script>alert(1)</script> \"O'Brien\""
    );

    let receiver = Receiver::start(&secret().expose(), 0.0);
    let report = WebhookClient::new(TargetPolicy::allow_private())
        .unwrap()
        .deliver(&receiver.url("/verify"), &secret(), "hostile", &body)
        .await;
    assert!(report.delivered, "{report:?}");
}

/// A loopback listener that answers every connection with 204 and counts them.
async fn counting_receiver() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = vec![0; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, connections)
}

#[tokio::test]
async fn a_target_is_checked_again_where_the_delivery_connects() {
    let (port, connections) = counting_receiver().await;
    let strict = WebhookClient::new(TargetPolicy::public_only()).unwrap();
    // `localhost` stands for a name that was public when the subscription was checked and
    // points at loopback by the time of sending (DNS rebinding); the rest are loopback
    // written as addresses, in every form a URL or an IPv6 embedding allows.
    for host in [
        "localhost",
        "127.0.0.1",
        "127.1",
        "0x7f000001",
        "2130706433",
        "[::1]",
        "[::127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:0:7f00:1]",
        "[64:ff9b::7f00:1]",
        "[2002:7f00:1::1]",
    ] {
        let url = format!("http://{host}:{port}/hook");
        let report = strict.deliver(&url, &secret(), "m", b"[]").await;
        assert!(
            !report.delivered && report.status.is_none(),
            "{url}: {report:?}"
        );
        assert!(
            report
                .error
                .as_deref()
                .unwrap_or_default()
                .contains("non-public"),
            "{url}: {report:?}"
        );
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "nothing connected");

    // The same receiver is reachable when private targets are allowed.
    let open = WebhookClient::new(TargetPolicy::allow_private()).unwrap();
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("http://{host}:{port}/hook");
        let report = open.deliver(&url, &secret(), "m", b"[]").await;
        assert!(report.delivered, "{url}: {report:?}");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}
