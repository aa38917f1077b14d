//! The SMTP mailer's connections, against a small SMTP server of the test's own that counts
//! sessions and messages and can end a session after each message (as a server does when a
//! kept connection has been idle too long).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mailer_smtp::{MailError, Mailbox, Mailer, Message, SmtpMailer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Counts {
    sessions: AtomicUsize,
    messages: AtomicUsize,
}

/// Serves on a free port; `one_message_per_session` closes each session after its message.
async fn server(one_message_per_session: bool) -> (u16, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let counts = Arc::new(Counts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            shared.sessions.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(session(stream, shared.clone(), one_message_per_session));
        }
    });
    (port, counts)
}

async fn session(stream: TcpStream, counts: Arc<Counts>, one_message: bool) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        match line.get(..4).unwrap_or("").to_ascii_uppercase().as_str() {
            "EHLO" => write.write_all(b"250-test\r\n250 8BITMIME\r\n").await?,
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                }
                counts.messages.fetch_add(1, Ordering::SeqCst);
                write.write_all(b"250 accepted\r\n").await?;
                if one_message {
                    return Ok(());
                }
            }
            "QUIT" => return write.write_all(b"221 bye\r\n").await,
            _ => write.write_all(b"250 ok\r\n").await?,
        }
    }
}

fn mailer(url: &str) -> SmtpMailer {
    let sender: Mailbox = "Slotkeeper <noreply@slotkeeper.test>".parse().unwrap();
    SmtpMailer::from_url(url, sender).unwrap()
}

fn message(n: usize) -> Message {
    Message::builder()
        .from("Slotkeeper <noreply@slotkeeper.test>".parse().unwrap())
        .to(format!("attendee{n}@example.test").parse().unwrap())
        .subject(format!("Mail {n}"))
        .body(String::from("Hello"))
        .unwrap()
}

#[tokio::test]
async fn mails_one_after_another_share_one_connection() {
    let (port, counts) = server(false).await;
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}"));
    for n in 0..3 {
        mailer.send(&message(n)).await.unwrap();
    }
    assert_eq!(counts.messages.load(Ordering::SeqCst), 3);
    assert_eq!(counts.sessions.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_replaced_without_a_failed_mail() {
    let (port, counts) = server(true).await;
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}"));
    for n in 0..3 {
        mailer.send(&message(n)).await.unwrap();
    }
    assert_eq!(counts.messages.load(Ordering::SeqCst), 3);
    assert_eq!(counts.sessions.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn starttls_asked_for_and_not_offered_sends_nothing_and_may_be_retried() {
    let (port, counts) = server(false).await;
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}?tls=starttls"));
    let error = mailer.send(&message(0)).await.unwrap_err();
    assert!(matches!(error, MailError::NoStartTls(_)), "{error:?}");
    assert!(!error.is_permanent());
    assert_eq!(counts.messages.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_server_nobody_listens_on_is_named_and_may_be_retried() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}"));
    let error = mailer.send(&message(0)).await.unwrap_err();
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
    assert!(!error.is_permanent());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_and_may_be_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts and keeps the connection, but never greets.
    let held = tokio::spawn(async move { listener.accept().await });
    let mailer = mailer(&format!("smtp://127.0.0.1:{port}"))
        .with_timeout(std::time::Duration::from_millis(200));
    let error = mailer.send(&message(0)).await.unwrap_err();
    assert!(matches!(error, MailError::TimedOut(_)), "{error:?}");
    assert!(!error.is_permanent());
    held.abort();
}
