//! A tiny HTTP/1.1 client over `TcpStream` (one connection per request, `Connection: close`),
//! and the few JSON and HTML reads the chaos run needs from the answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a request may take before it counts as unanswered.
const TIMEOUT: Duration = Duration::from_secs(15);

/// What became of a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Nobody listened: the request was never sent (the instance is down); safe to retry.
    Down,
    /// Sent, but no whole answer came back (the instance died meanwhile): the write may or
    /// may not have happened.
    NoAnswer,
    /// An answer.
    Answer(Answer),
}

/// A status, the headers (names lowercased) and the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the `name` cookie this answer sets, if any.
    pub(crate) fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .find_map(|(_, v)| {
                let pair = v.split(';').next()?;
                let (n, value) = pair.split_once('=')?;
                (n.trim() == name).then(|| value.trim().to_owned())
            })
    }
}

/// One request to `port` on loopback: `method path`, with extra `headers` and `body`.
pub(crate) fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return Reply::Down;
    };
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body.as_bytes()).is_err() {
        // Written in part at most: the server may have read it all and acted.
        return Reply::NoAnswer;
    }
    let mut raw = Vec::new();
    if stream.read_to_end(&mut raw).is_err() {
        return Reply::NoAnswer;
    }
    parse(&raw).map_or(Reply::NoAnswer, Reply::Answer)
}

fn parse(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[split + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        match length {
            // A body cut short means the server died while answering.
            Some(n) if rest.len() < n => return None,
            Some(n) => rest[..n].to_vec(),
            None => rest.to_vec(),
        }
    };
    Some(Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// The string value of the first `"key":"…"` in a compact JSON text (serde's output), without
/// unescaping (the values read here are ids, tokens and status names).
pub(crate) fn json_str(json: &str, key: &str) -> Option<String> {
    let marker = format!("\"{key}\":\"");
    let start = json.find(&marker)? + marker.len();
    let end = json[start..].find('"')?;
    Some(json[start..start + end].to_owned())
}

/// The value of the hidden `csrf` input of an HTML form.
pub(crate) fn csrf_field(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\"")?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let value = tag.find("value=\"")? + "value=\"".len();
    let end = tag[value..].find('"')?;
    Some(tag[value..value + end].to_owned())
}

/// `application/x-www-form-urlencoded` of one value.
pub(crate) fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_plain_and_chunked_and_cut_ones_are_not() {
        let plain = b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\nSet-Cookie: sk=abc; Path=/\r\n\r\n{\"id\":\"x\"}";
        let a = parse(plain).unwrap();
        assert_eq!((a.status, a.body.as_str()), (201, "{\"id\":\"x\""));
        assert_eq!(a.cookie("sk").as_deref(), Some("abc"));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse(chunked).unwrap().body, "abcde");
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").is_none());
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab").is_none());
    }

    #[test]
    fn json_and_form_fields_are_found() {
        let json = r#"{"id":"a1","status":"confirmed","reschedule_token":"t0"}"#;
        assert_eq!(json_str(json, "status").as_deref(), Some("confirmed"));
        assert_eq!(json_str(json, "reschedule_token").as_deref(), Some("t0"));
        assert_eq!(json_str(json, "next_id"), None);
        let html = r#"<form><input type="hidden" name="csrf" value="c5f"><input name="x"></form>"#;
        assert_eq!(csrf_field(html).as_deref(), Some("c5f"));
        assert_eq!(form_encode("a b@c"), "a%20b%40c");
    }
}
