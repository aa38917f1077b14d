//! The SMS adapters for real: the Twilio sender against the local fake Twilio over HTTP, the
//! file sender on a real directory, and the signature check against the fake's own signing.

use std::time::Duration;

use booking_core::ports::{NotifyError, TextSender};
use fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, Failure, FakeTwilio};
use sms_out::{FileTexts, SmsAdapters, SmsUrl, TwilioTexts};

const FROM: &str = "+15550001111";
const ANN: &str = "+447911123456";

fn sender_for(fake: &FakeTwilio) -> TwilioTexts {
    match SmsUrl::parse(&fake.sms_url(FROM)).expect("SMS_URL") {
        SmsUrl::Twilio(account) => {
            TwilioTexts::with_timeout(&account, Duration::from_secs(5)).expect("client")
        }
        other => panic!("not a Twilio URL: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_reaches_the_api_form_encoded_with_basic_auth() {
    let fake = FakeTwilio::start().await.expect("fake");
    let sender = sender_for(&fake);
    let body = "Reminder: Intro call tomorrow 09:00 (Europe/Paris) — café & co, 100% + more\nhttps://book.example.com/book/reschedule/abc";
    sender
        .send_text(ANN, body, "outbox-key-1")
        .await
        .expect("sent");
    let messages = fake.messages();
    assert_eq!(messages.len(), 1, "{:?}", fake.unmatched());
    let message = &messages[0];
    assert!(message.sid.as_deref().is_some_and(|s| s.starts_with("SM")));
    assert_eq!(message.path_account, ACCOUNT_SID);
    assert_eq!(message.to, ANN);
    assert_eq!(message.from, FROM);
    assert_eq!(
        message.body, body,
        "the body arrives intact through form encoding"
    );
    assert_eq!(
        message.auth,
        Some((ACCOUNT_SID.to_owned(), AUTH_TOKEN.to_owned()))
    );
    assert_eq!(message.content_type, "application/x-www-form-urlencoded");
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_sorted_into_transient_and_permanent() {
    let fake = FakeTwilio::start().await.expect("fake");
    let sender = sender_for(&fake);

    fake.fail_next(1, Failure::ServerError);
    let down = sender.send_text(ANN, "hi", "k1").await.expect_err("500");
    assert!(matches!(down, NotifyError::Transient(_)), "{down:?}");
    assert!(down.to_string().contains("500"), "{down}");

    fake.fail_next(
        1,
        Failure::Throttled {
            retry_after_seconds: 30,
        },
    );
    let throttled = sender.send_text(ANN, "hi", "k1").await.expect_err("429");
    assert!(
        matches!(throttled, NotifyError::Transient(_)),
        "{throttled:?}"
    );
    assert!(
        throttled.to_string().contains("Retry-After 30 s"),
        "Retry-After is carried along: {throttled}"
    );
    assert!(throttled.to_string().contains("20429"), "{throttled}");

    fake.fail_next(1, Failure::InvalidNumber);
    let invalid = sender.send_text(ANN, "hi", "k1").await.expect_err("400");
    assert!(invalid.is_permanent(), "{invalid:?}");
    assert!(invalid.to_string().contains("21211"), "{invalid}");

    sender
        .send_text(ANN, "hi", "k1")
        .await
        .expect("then it works");
    assert_eq!(fake.accepted().len(), 1);
    assert_eq!(fake.messages().len(), 4);
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_are_permanent_and_never_shown() {
    let fake = FakeTwilio::start().await.expect("fake");
    let url = fake.sms_url(FROM).replace(AUTH_TOKEN, "wrong-token-1a2b3c");
    let SmsUrl::Twilio(account) = SmsUrl::parse(&url).expect("url") else {
        panic!("not Twilio");
    };
    let sender = TwilioTexts::new(&account).expect("client");
    let error = sender.send_text(ANN, "hi", "k").await.expect_err("401");
    assert!(error.is_permanent(), "{error:?}");
    assert!(error.to_string().contains("20003"), "{error}");
    assert!(!error.to_string().contains("wrong-token-1a2b3c"));
    assert!(!format!("{sender:?}").contains("wrong-token-1a2b3c"));
    assert!(fake.accepted().is_empty());
    fake.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let url = format!(
        "twilio://{ACCOUNT_SID}:{AUTH_TOKEN}@127.0.0.1:{port}?from=%2B15550001111&tls=false"
    );
    let SmsUrl::Twilio(account) = SmsUrl::parse(&url).expect("url") else {
        panic!("not Twilio");
    };
    let sender = TwilioTexts::with_timeout(&account, Duration::from_secs(2)).expect("client");
    let error = sender.send_text(ANN, "hi", "k").await.expect_err("refused");
    assert!(matches!(error, NotifyError::Transient(_)), "{error:?}");
    assert!(!error.to_string().contains(AUTH_TOKEN));
}

#[tokio::test]
async fn the_file_sender_writes_one_file_per_text() {
    let dir = tempfile::tempdir().expect("dir");
    let texts = FileTexts::new(dir.path().join("sms"));
    texts
        .send_text(ANN, "first try", "reminder:01/abc")
        .await
        .expect("written");
    texts
        .send_text(ANN, "Reminder: tomorrow 09:00", "reminder:01/abc")
        .await
        .expect("retried");
    texts
        .send_text("+12125550100", "Other", "reminder:02")
        .await
        .expect("written");
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("sms"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["reminder_01_abc.txt", "reminder_02.txt"]);
    let text = std::fs::read_to_string(texts.path_for("reminder:01/abc")).expect("read");
    assert_eq!(text, "To: +447911123456\n\nReminder: tomorrow 09:00\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapters_follow_the_url() {
    let dir = tempfile::tempdir().expect("dir");
    let files = SmsAdapters::for_url(
        &SmsUrl::parse(&format!("file://{}", dir.path().display())).expect("url"),
    )
    .expect("adapters");
    assert!(files.replies.is_none(), "no replies come back to files");
    files.sender.send_text(ANN, "hi", "k").await.expect("sent");
    assert!(dir.path().join("k.txt").exists());

    let fake = FakeTwilio::start().await.expect("fake");
    let twilio =
        SmsAdapters::for_url(&SmsUrl::parse(&fake.sms_url(FROM)).expect("url")).expect("adapters");
    twilio.sender.send_text(ANN, "hi", "k").await.expect("sent");
    assert_eq!(fake.accepted().len(), 1);
    let replies = twilio.replies.expect("replies are checked");
    let url = "https://book.example.com/sms/inbound";
    let form = vec![
        ("From".to_owned(), ANN.to_owned()),
        ("To".to_owned(), FROM.to_owned()),
        ("Body".to_owned(), "STOP".to_owned()),
    ];
    let signed = fake_twilio::signature(AUTH_TOKEN, url, &form);
    assert!(
        replies.verify(url, &form, &signed),
        "the fake's signing agrees"
    );
    assert!(!replies.verify(url, &form, &fake_twilio::signature("other", url, &form)));
    fake.stop().await;
}
