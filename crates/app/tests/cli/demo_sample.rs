//! `demo` keeps its sample booking's identity across runs: the same booking while it is on,
//! a new one when it was cancelled — never another attendee's booking.

use super::{Demo, http, http_json, split, tempdir};

fn stop(mut demo: Demo) {
    demo.child.kill().unwrap();
    demo.child.wait().unwrap();
}

/// The token at the end of a printed `/book/cancel/{token}` URL.
fn token_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn the_demo_never_labels_another_booking_as_its_sample() {
    let dir = tempdir("demo-sample");
    let first = Demo::start(&dir);
    let sample = token_of(&first.url("cancel:"));
    let (base, _) = split(&first.url("Booking page:"));

    // Someone else books the demo link, later than the sample.
    let (status, slots) = http(&base, "GET", "/api/v1/links/intro/slots", None);
    assert_eq!(status, 200, "{slots}");
    let start = slots
        .split("\"start\":\"")
        .filter_map(|rest| rest.split('"').next())
        .last()
        .expect("a slot")
        .to_owned();
    let (status, booked) = http_json(
        &base,
        "/api/v1/links/intro/bookings",
        &format!(
            r#"{{"start":"{start}","invitee":{{"name":"Otto Other","email":"otto@example.com","timezone":"UTC"}}}}"#
        ),
    );
    assert_eq!(status, 201, "{booked}");
    let other = booked
        .split("\"reschedule_token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the other booking's token")
        .to_owned();
    assert_ne!(other, sample);
    stop(first);

    // While the sample is on, a second run shows the same booking.
    let second = Demo::start(&dir);
    assert_eq!(token_of(&second.url("cancel:")), sample, "the same sample");
    let (base, _) = split(&second.url("Booking page:"));
    let (status, _) = http(
        &base,
        "POST",
        &format!("/book/cancel/{sample}"),
        Some("reason=testing"),
    );
    assert_eq!(status, 303);
    stop(second);

    // Cancelled: a third run makes a new sample rather than showing Otto's booking.
    let third = Demo::start(&dir);
    let fresh = token_of(&third.url("cancel:"));
    assert_ne!(fresh, sample, "the cancelled sample is not shown");
    assert_ne!(fresh, other, "another attendee's booking is not the sample");
    let (base, _) = split(&third.url("Booking page:"));
    let (status, page) = http(&base, "GET", &format!("/book/cancel/{fresh}"), None);
    assert_eq!(status, 200);
    assert!(page.contains("Intro call"), "{page}");
    stop(third);
    std::fs::remove_dir_all(&dir).unwrap();
}
