//! One kept-alive HTTP/1.1 connection to a server on loopback, for the write load's clients:
//! requests go one after another over the same socket (the chaos client opens one per
//! request, which would measure connection set-up rather than the write path). Answers must
//! carry a `Content-Length`, as actix-web's JSON answers do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long one request may take before the run gives up on it.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A connection, opened on first use and again after the server closed it.
#[derive(Debug)]
pub(crate) struct Conn {
    port: u16,
    stream: Option<BufReader<TcpStream>>,
}

impl Conn {
    pub(crate) fn new(port: u16) -> Self {
        Self { port, stream: None }
    }

    /// POSTs `body` as JSON to `path`; the status and the body of the answer.
    pub(crate) fn post(&mut self, path: &str, body: &str) -> Result<(u16, String), String> {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let reused = self.stream.is_some();
        match self.exchange(head.as_bytes()) {
            Ok(answer) => Ok(answer),
            // A kept connection the server had closed while idle fails before any answer
            // byte: the request was not read, so it is sent once more on a new one.
            Err(Failure::Closed) if reused => {
                self.stream = None;
                self.exchange(head.as_bytes()).map_err(|e| e.to_string())
            }
            Err(e) => {
                self.stream = None;
                Err(e.to_string())
            }
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<(u16, String), Failure> {
        if self.stream.is_none() {
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
                .map_err(|e| Failure::Io(format!("connecting: {e}")))?;
            stream.set_nodelay(true).map_err(Failure::io)?;
            stream
                .set_read_timeout(Some(TIMEOUT))
                .map_err(Failure::io)?;
            self.stream = Some(BufReader::new(stream));
        }
        let reader = self.stream.as_mut().ok_or(Failure::Closed)?;
        if reader.get_mut().write_all(request).is_err() {
            return Err(Failure::Closed);
        }
        let (status, length, close) = read_head(reader)?;
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(Failure::io)?;
        if close {
            self.stream = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Why an exchange failed.
#[derive(Debug)]
enum Failure {
    /// The connection was closed before any byte of an answer came.
    Closed,
    Io(String),
}

impl Failure {
    fn io(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => f.write_str("the server closed the connection"),
            Self::Io(e) => f.write_str(e),
        }
    }
}

/// The status, `Content-Length` and whether the server closes after this answer.
fn read_head(reader: &mut impl BufRead) -> Result<(u16, usize, bool), Failure> {
    let mut line = String::new();
    if reader.read_line(&mut line).map_err(Failure::io)? == 0 {
        return Err(Failure::Closed);
    }
    let status = parse_status(&line)?;
    let (mut length, mut close) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(Failure::io)? == 0 {
            return Err(Failure::Io("the answer's head was cut off".into()));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
    }
    let length = length.ok_or_else(|| Failure::Io("an answer without Content-Length".into()))?;
    Ok((status, length, close))
}

fn parse_status(line: &str) -> Result<u16, Failure> {
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Failure::Io(format!("not an HTTP status line: {line:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_give_status_length_and_close() {
        let mut kept = "HTTP/1.1 201 Created\r\ncontent-length: 12\r\n\r\n".as_bytes();
        assert!(matches!(read_head(&mut kept), Ok((201, 12, false))));
        let mut closing =
            "HTTP/1.1 409 Conflict\r\nConnection: close\r\nContent-Length: 3\r\n\r\n".as_bytes();
        assert!(matches!(read_head(&mut closing), Ok((409, 3, true))));
        let mut chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".as_bytes();
        assert!(matches!(read_head(&mut chunked), Err(Failure::Io(_))));
        assert!(matches!(
            read_head(&mut "".as_bytes()),
            Err(Failure::Closed)
        ));
    }
}
