//! The webhook subscription API: create (secret shown once), list without secrets, read,
//! switch off and on, delete; 422 for bad URLs and events; 401 without a key; another host's
//! subscription is 404; a signed test event reaches a local receiver when private targets are
//! allowed and is refused (422, nothing sent) when they are not.

use std::sync::{Arc, Mutex};

use actix_web::test::{TestRequest, call_service};
use booking_core::subscriptions::{
    ALL_EVENTS, SubscriptionId, SubscriptionSecret, TargetUrl, WebhookSubscription,
    WebhookSubscriptions,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use webhooks_out::TargetPolicy;

use crate::helpers::*;
use crate::{csrf, logged_in, send, service};

/// Creates an API key for the host through the settings page.
macro_rules! key_for {
    ($svc:expr, $email:expr, $password:expr) => {{
        let mut b = logged_in!($svc, $email, $password);
        let csrf = csrf!($svc, b);
        let resp = send!(
            $svc,
            b,
            form("/settings/api-keys", &[("csrf", &csrf), ("label", "hooks")])
        );
        assert_eq!(resp.status(), 201);
        let html = body(resp).await;
        let start = html.find(r#"<code id="new-key">"#).unwrap() + r#"<code id="new-key">"#.len();
        html[start..start + 35].to_owned()
    }};
}

fn call(method: &str, uri: &str, key: Option<&str>, json_body: Option<Value>) -> TestRequest {
    let req = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        _ => unreachable!(),
    }
    .uri(uri);
    let req = match key {
        Some(k) => req.insert_header(("authorization", format!("Bearer {k}"))),
        None => req,
    };
    match json_body {
        Some(b) => req
            .insert_header(("content-type", "application/json"))
            .set_payload(b.to_string()),
        None => req,
    }
}

async fn json_of(resp: actix_web::dev::ServiceResponse) -> Value {
    serde_json::from_str(&body(resp).await).unwrap()
}

/// A receiver on 127.0.0.1 that answers every request 200 and keeps each request's head
/// (lowercased) and body.
pub(crate) async fn receiver() -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break (String::from_utf8_lossy(&data).into_owned(), String::new());
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let head = text[..end].to_ascii_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        break (head, text[end + 4..].to_owned());
                    }
                }
            };
            keep.lock().unwrap().push((head, body));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            let _ = stream.shutdown().await;
        }
    });
    (url, seen)
}

fn header_of(head: &str, name: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

#[actix_web::test]
async fn create_list_switch_and_delete() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let key = key_for!(svc, "hana@example.com", HANA_PASSWORD);

    let resp = call_service(
        &svc,
        call(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({"url": "https://hooks.example.com/in", "events": ["callCancelled", "callBooked"]})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "cache-control"), "no-store");
    let location = header(&resp, "location");
    let created = json_of(resp).await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/webhooks/{id}"));
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(webhooks_out::WebhookSecret::parse(&secret).is_ok());
    assert_eq!(created["events"], json!(["callBooked", "callCancelled"]));
    assert_eq!(created["active"], true);

    // Defaults: every event, active.
    let resp = call_service(
        &svc,
        call(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({"url": "http://second.example.com/x", "active": false})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let second = json_of(resp).await;
    assert_eq!(
        second["events"],
        json!(["callBooked", "callRescheduled", "callCancelled"])
    );
    assert_eq!(second["active"], false);
    assert_ne!(second["secret"], created["secret"]);

    let resp = call_service(
        &svc,
        call("GET", "/api/v1/webhooks", Some(&key), None).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let text = body(resp).await;
    assert!(
        !text.contains("whsec_") && !text.contains("secret"),
        "{text}"
    );
    let list: Value = serde_json::from_str(&text).unwrap();
    let hooks = list["webhooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0]["id"], id.as_str());
    assert_eq!(hooks[0]["url"], "https://hooks.example.com/in");

    let one = format!("/api/v1/webhooks/{id}");
    let resp = call_service(&svc, call("GET", &one, Some(&key), None).to_request()).await;
    assert_eq!(resp.status(), 200);
    assert!(json_of(resp).await.get("secret").is_none());

    let resp = call_service(
        &svc,
        call("PATCH", &one, Some(&key), Some(json!({"active": false}))).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await["active"], false);
    let resp = call_service(
        &svc,
        call(
            "POST",
            &format!("{one}/active"),
            Some(&key),
            Some(json!({"active": true})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let stored = WebhookSubscriptions::subscriptions(&app.store, app.hana.id())
        .await
        .unwrap();
    assert!(stored.iter().any(|s| s.id.to_string() == id && s.active));
    let resp = call_service(
        &svc,
        call("PATCH", &one, Some(&key), Some(json!({"active": "no"}))).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 400);

    let resp = call_service(
        &svc,
        call("GET", &format!("{one}/deliveries"), Some(&key), None).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(json_of(resp).await["deliveries"], json!([]));

    let resp = call_service(&svc, call("DELETE", &one, Some(&key), None).to_request()).await;
    assert_eq!(resp.status(), 204);
    let resp = call_service(&svc, call("DELETE", &one, Some(&key), None).to_request()).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    let list = json_of(
        call_service(
            &svc,
            call("GET", "/api/v1/webhooks", Some(&key), None).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(list["webhooks"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn bad_urls_and_events_are_422() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let key = key_for!(svc, "hana@example.com", HANA_PASSWORD);
    for (input, word) in [
        (json!({"url": "ftp://example.com/x"}), "url"),
        (json!({"url": "javascript:alert(1)"}), "url"),
        (json!({"url": "https://"}), "url"),
        (json!({"url": "https://user:pw@example.com/"}), "url"),
        (
            json!({"url": "https://e.com/", "events": ["meetingStarted"]}),
            "meetingStarted",
        ),
        (json!({"url": "https://e.com/", "events": []}), "events"),
    ] {
        let resp = call_service(
            &svc,
            call("POST", "/api/v1/webhooks", Some(&key), Some(input.clone())).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 422, "{input}");
        assert_eq!(header(&resp, "content-type"), "application/problem+json");
        let problem = json_of(resp).await;
        assert!(
            problem["detail"].as_str().unwrap().contains(word),
            "{problem}"
        );
    }
    for malformed in [
        json!({"events": ["callBooked"]}),
        json!({"url": "https://e.com/", "secret": "whsec_x"}),
    ] {
        let resp = call_service(
            &svc,
            call("POST", "/api/v1/webhooks", Some(&key), Some(malformed)).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 400);
    }
    assert!(
        WebhookSubscriptions::subscriptions(&app.store, app.hana.id())
            .await
            .unwrap()
            .is_empty()
    );
}

#[actix_web::test]
async fn a_key_is_required_and_other_hosts_subscriptions_are_404() {
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    for (method, uri) in [("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks")] {
        let resp = call_service(
            &svc,
            call(method, uri, None, Some(json!({"url": "https://e.com/"}))).to_request(),
        )
        .await;
        assert_eq!(resp.status(), 401, "{method} {uri}");
        assert!(header(&resp, "www-authenticate").starts_with("Bearer"));
    }
    let hana = key_for!(svc, "hana@example.com", HANA_PASSWORD);
    let otto = key_for!(svc, "otto@example.com", OTTO_PASSWORD);
    let created = json_of(
        call_service(
            &svc,
            call(
                "POST",
                "/api/v1/webhooks",
                Some(&hana),
                Some(json!({"url": "https://hooks.example.com/in"})),
            )
            .to_request(),
        )
        .await,
    )
    .await;
    let one = format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap());
    let resp = call_service(&svc, call("GET", &one, None, None).to_request()).await;
    assert_eq!(resp.status(), 401);
    for (method, uri, input) in [
        ("GET", one.clone(), None),
        ("PATCH", one.clone(), Some(json!({"active": false}))),
        (
            "POST",
            format!("{one}/active"),
            Some(json!({"active": false})),
        ),
        ("GET", format!("{one}/deliveries"), None),
        ("POST", format!("{one}/test"), None),
        ("DELETE", one.clone(), None),
        ("GET", "/api/v1/webhooks/not-a-uuid".to_owned(), None),
    ] {
        let resp = call_service(&svc, call(method, &uri, Some(&otto), input).to_request()).await;
        assert_eq!(resp.status(), 404, "{method} {uri}");
        assert_eq!(header(&resp, "content-type"), "application/problem+json");
    }
    let list = json_of(
        call_service(
            &svc,
            call("GET", "/api/v1/webhooks", Some(&otto), None).to_request(),
        )
        .await,
    )
    .await;
    assert_eq!(list["webhooks"], json!([]));
    let still = WebhookSubscriptions::subscriptions(&app.store, app.hana.id())
        .await
        .unwrap();
    assert_eq!(still.len(), 1);
    assert!(still[0].active);
}

#[actix_web::test]
async fn without_subscriptions_configured_the_routes_are_404() {
    let app = setup().await;
    let svc = service!(app.state);
    let key = key_for!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = call_service(
        &svc,
        call("GET", "/api/v1/webhooks", Some(&key), None).to_request(),
    )
    .await;
    assert_eq!(resp.status(), 404);
}

#[actix_web::test]
async fn a_test_event_is_signed_delivered_and_logged() {
    let (url, seen) = receiver().await;
    let app = setup_webhooks(TargetPolicy::allow_private()).await;
    let svc = service!(app.state);
    let key = key_for!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = call_service(
        &svc,
        call(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({"url": url})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let id = json_of(resp).await["id"].as_str().unwrap().to_owned();

    let resp = call_service(
        &svc,
        call(
            "POST",
            &format!("/api/v1/webhooks/{id}/test"),
            Some(&key),
            None,
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 200);
    let report = json_of(resp).await;
    assert_eq!(report["delivered"], true, "{report}");
    assert_eq!(report["status"], 200);
    assert!(report["error"].is_null());
    assert!(report["latency_ms"].is_u64());
    let webhook_id = report["webhook_id"].as_str().unwrap().to_owned();
    // Shaped like a real delivery's outbox key: `{subscription}:webhook:test:{nonce}`.
    let nonce = webhook_id
        .strip_prefix(&format!("{id}:webhook:test:"))
        .unwrap_or_else(|| panic!("{webhook_id}"));
    assert_eq!(nonce.len(), 32, "{webhook_id}");

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (head, sent) = &requests[0];
    assert!(head.starts_with("post /hooks "), "{head}");
    assert!(
        header_of(head, "webhook-signature").starts_with("v1,"),
        "{head}"
    );
    assert_eq!(header_of(head, "webhook-id"), webhook_id);
    assert!(!header_of(head, "webhook-timestamp").is_empty());
    let payload: Value = serde_json::from_str(sent).unwrap();
    assert_eq!(payload[0]["hookType"], "Test");
    assert_eq!(payload[0]["subscription"], id.as_str());

    let log = json_of(
        call_service(
            &svc,
            call(
                "GET",
                &format!("/api/v1/webhooks/{id}/deliveries"),
                Some(&key),
                None,
            )
            .to_request(),
        )
        .await,
    )
    .await;
    let entries = log["deliveries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["webhook_id"], webhook_id.as_str());
    assert_eq!(entries[0]["status"], 200);
    assert_eq!(entries[0]["attempt"], 1);
    assert_eq!(entries[0]["delivered"], true);
    assert!(entries[0]["at"].is_string());
}

#[actix_web::test]
async fn private_targets_are_refused_unless_allowed() {
    let (url, seen) = receiver().await;
    let app = setup_webhooks(TargetPolicy::public_only()).await;
    let svc = service!(app.state);
    let key = key_for!(svc, "hana@example.com", HANA_PASSWORD);
    let resp = call_service(
        &svc,
        call(
            "POST",
            "/api/v1/webhooks",
            Some(&key),
            Some(json!({"url": url})),
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert!(
        json_of(resp).await["detail"]
            .as_str()
            .unwrap()
            .contains("non-public")
    );

    // One made before the policy changed (here: straight in the store) is not tested either.
    let id = SubscriptionId::from_uuid(uuid::Uuid::from_u128(99));
    WebhookSubscriptions::create_subscription(
        &app.store,
        &WebhookSubscription {
            id,
            host: app.hana.id(),
            url: TargetUrl::parse(&url).unwrap(),
            secret: SubscriptionSecret::parse(
                &webhooks_out::WebhookSecret::generate([5; 32]).expose(),
            )
            .unwrap(),
            events: ALL_EVENTS.into_iter().collect(),
            active: true,
            created_at: at(6, 0),
        },
    )
    .await
    .unwrap();
    let resp = call_service(
        &svc,
        call(
            "POST",
            &format!("/api/v1/webhooks/{id}/test"),
            Some(&key),
            None,
        )
        .to_request(),
    )
    .await;
    assert_eq!(resp.status(), 422);
    assert_eq!(header(&resp, "content-type"), "application/problem+json");
    assert!(seen.lock().unwrap().is_empty());
}
