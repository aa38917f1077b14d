//! Where the instances deliver to, counting every delivery: a tiny SMTP server (RFC 5321's
//! happy path) that counts accepted messages per `Message-ID`, and a webhook receiver that
//! counts POSTs per `webhook-id`. A delivery counts when the sink accepted it (SMTP `250` after
//! the data, HTTP `200`), so a sender killed after that and before recording it shows up as a
//! second count of the same id.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// Deliveries per id.
pub(crate) type Counts = Arc<Mutex<HashMap<String, usize>>>;

/// A running sink: its port and its counts.
#[derive(Debug)]
pub(crate) struct Sink {
    pub(crate) port: u16,
    pub(crate) counts: Counts,
}

impl Sink {
    pub(crate) fn snapshot(&self) -> HashMap<String, usize> {
        self.counts.lock().expect("sink counts").clone()
    }
}

fn start(serve: fn(TcpStream, &Counts) -> std::io::Result<()>) -> Result<Sink, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("sink: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let counts = Counts::default();
    let shared = counts.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let counts = shared.clone();
            std::thread::spawn(move || {
                // A sender killed mid-conversation just ends it.
                let _ = serve(stream, &counts);
            });
        }
    });
    Ok(Sink { port, counts })
}

/// An SMTP server on loopback accepting every message.
pub(crate) fn smtp() -> Result<Sink, String> {
    start(smtp_session)
}

/// A webhook receiver on loopback answering 200 to every POST.
pub(crate) fn webhooks() -> Result<Sink, String> {
    start(webhook_request)
}

fn smtp_session(stream: TcpStream, counts: &Counts) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 chaos-sink ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-chaos-sink\r\n250 8BITMIME\r\n")?,
            "DATA" => {
                out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                let Some(id) = read_message(&mut lines)? else {
                    return Ok(());
                };
                *counts.lock().expect("sink counts").entry(id).or_default() += 1;
                out.write_all(b"250 accepted\r\n")?;
            }
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
}

/// Reads a message up to its lone `.` line; its `Message-ID`, or `None` when the sender went
/// away first (that message was not delivered).
fn read_message(lines: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut id = String::from("no-message-id");
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(Some(id));
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("message-id")
        {
            id = value.trim().to_owned();
        }
    }
}

/// Answers the POSTs of one connection, keeping it open between them as HTTP/1.1 senders
/// expect (a sender's connection pool then reuses it).
fn webhook_request(mut stream: TcpStream, counts: &Counts) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    while let Some(id) = read_post(&mut reader)? {
        *counts.lock().expect("sink counts").entry(id).or_default() += 1;
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
    }
    Ok(())
}

/// Reads one request with its body; its `webhook-id`, or `None` when the sender closed the
/// connection before a request began.
fn read_post(reader: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let (mut id, mut length) = (None, 0usize);
    let mut line = String::new();
    let mut started = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return if started {
                Err(std::io::ErrorKind::UnexpectedEof.into())
            } else {
                Ok(None)
            };
        }
        started = true;
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "webhook-id" => id = Some(value.trim().to_owned()),
                "content-length" => length = value.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(id.unwrap_or_else(|| "no-webhook-id".to_owned())))
}
