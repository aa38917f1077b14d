//! The fake's own contract: Graph's JSON shapes on the wire, the validation handshake and the
//! notifications it sends, checked with plain HTTP (no adapter in between).

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use fake_graph::{FakeGraph, Lifecycle};
use serde_json::{Value, json};

/// A webhook receiver like Slotkeeper's: echoes `validationToken` as text/plain, keeps
/// notification bodies and answers 202. With `echo_wrong`, it answers the handshake wrongly.
struct Receiver {
    url: String,
    validations: Arc<Mutex<Vec<String>>>,
    notifications: Arc<Mutex<Vec<Value>>>,
}

async fn receiver(echo_wrong: bool) -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let url = format!(
        "http://{}/hook",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let validations = Arc::new(Mutex::new(Vec::new()));
    let notifications = Arc::new(Mutex::new(Vec::new()));
    let (v, n) = (Arc::clone(&validations), Arc::clone(&notifications));
    let server = HttpServer::new(move || {
        let (v, n) = (Arc::clone(&v), Arc::clone(&n));
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let (v, n) = (Arc::clone(&v), Arc::clone(&n));
                async move {
                    let query =
                        web::Query::<std::collections::HashMap<String, String>>::from_query(
                            req.query_string(),
                        )
                        .map(web::Query::into_inner)
                        .unwrap_or_default();
                    if let Some(token) = query.get("validationToken") {
                        v.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(token.clone());
                        let answer = if echo_wrong {
                            "nope".to_owned()
                        } else {
                            token.clone()
                        };
                        return HttpResponse::Ok().content_type("text/plain").body(answer);
                    }
                    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    n.lock().unwrap_or_else(|e| e.into_inner()).push(json);
                    HttpResponse::Accepted().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap_or_else(|e| panic!("{e}"))
    .run();
    tokio::spawn(server);
    Receiver {
        url,
        validations,
        notifications,
    }
}

async fn post(fake: &FakeGraph, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn subscription_body(url: &str) -> Value {
    let expiry = chrono::Utc::now() + chrono::TimeDelta::days(2);
    json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "lifecycleNotificationUrl": url,
        "resource": "me/events",
        "expirationDateTime": expiry.to_rfc3339(),
        "clientState": "secret-state",
    })
}

#[tokio::test]
async fn subscription_create_runs_the_validation_handshake_when_asked() {
    let fake = FakeGraph::start().await.unwrap_or_else(|e| panic!("{e}"));
    let (token, _) = fake.issue_tokens();
    let hook = receiver(false).await;
    fake.set_validation(true);
    let (status, body) = post(
        &fake,
        &token,
        "/v1.0/subscriptions",
        subscription_body(&hook.url),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["clientState"], "secret-state");
    assert_eq!(body["resource"], "me/events");
    assert!(
        body["expirationDateTime"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    let validations = hook
        .validations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(
        validations.len(),
        1,
        "one URL, validated once: {validations:?}"
    );

    let wrong = receiver(true).await;
    let (status, body) = post(
        &fake,
        &token,
        "/v1.0/subscriptions",
        subscription_body(&wrong.url),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "InvalidRequest");
    assert_eq!(fake.subscriptions().len(), 1);
}

#[tokio::test]
async fn notifications_reach_the_receiver_in_graphs_shape() {
    let fake = FakeGraph::start().await.unwrap_or_else(|e| panic!("{e}"));
    let (token, _) = fake.issue_tokens();
    let hook = receiver(false).await;
    let (_, body) = post(
        &fake,
        &token,
        "/v1.0/subscriptions",
        subscription_body(&hook.url),
    )
    .await;
    let id = body["id"].as_str().unwrap_or_default().to_owned();
    let start = chrono::Utc::now() + chrono::TimeDelta::days(1);
    let event = fake.host_creates_event("Dentist", start, start + chrono::TimeDelta::hours(1));

    let change = fake
        .change_notification(&id, "updated", &event)
        .unwrap_or_else(|| panic!("no subscription"));
    assert_eq!(
        FakeGraph::notify(&hook.url, &change)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        202
    );
    let forged = change.clone().with_client_state("forged");
    FakeGraph::notify(&hook.url, &forged)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lifecycle = fake
        .lifecycle_notification(&id, Lifecycle::ReauthorizationRequired)
        .unwrap_or_else(|| panic!("none"));
    FakeGraph::notify(&hook.url, &lifecycle)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fake.change_notification("unknown", "updated", &event)
            .is_none()
    );

    let seen = hook
        .notifications
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    assert_eq!(seen.len(), 3);
    let item = &seen[0]["value"][0];
    assert_eq!(item["subscriptionId"], id.as_str());
    assert_eq!(item["changeType"], "updated");
    assert_eq!(item["clientState"], "secret-state");
    assert_eq!(item["resourceData"]["id"], event.as_str());
    assert!(
        item["resource"]
            .as_str()
            .is_some_and(|r| r.ends_with(&format!("/Events/{event}")))
    );
    assert_eq!(seen[1]["value"][0]["clientState"], "forged");
    assert_eq!(
        seen[2]["value"][0]["lifecycleEvent"],
        "reauthorizationRequired"
    );
    assert!(seen[2]["value"][0].get("changeType").is_none());
}

#[tokio::test]
async fn errors_use_graphs_and_the_identity_platforms_shapes() {
    let fake = FakeGraph::start().await.unwrap_or_else(|e| panic!("{e}"));
    let client = reqwest::Client::new();
    let missing = client
        .get(format!("{}/v1.0/me/events/AAMkNope=", fake.base_url()))
        .bearer_auth(fake.issue_tokens().0)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(missing.status().as_u16(), 404);
    let body: Value =
        serde_json::from_str(&missing.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(body["error"]["code"], "ErrorItemNotFound");
    assert!(body["error"]["message"].is_string());

    let (_, refresh) = fake.issue_tokens();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
        ("client_id", fake_graph::CLIENT_ID),
        ("client_secret", fake_graph::CLIENT_SECRET),
        ("scope", "offline_access Calendars.ReadWrite User.Read"),
    ];
    let encoded: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let token_url = format!("{}/common/oauth2/v2.0/token", fake.base_url());
    let send = || {
        client
            .post(&token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encoded.clone())
            .send()
    };
    let ok: Value = serde_json::from_str(
        &send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    for field in [
        "token_type",
        "scope",
        "expires_in",
        "access_token",
        "refresh_token",
    ] {
        assert!(ok.get(field).is_some(), "{field} missing: {ok}");
    }
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["scope"], "Calendars.ReadWrite User.Read");

    fake.revoke_grant();
    let refused = send().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value =
        serde_json::from_str(&refused.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("AADSTS"))
    );
}
