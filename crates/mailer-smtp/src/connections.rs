//! SMTP connections of our own making, kept open between mails.
//!
//! lettre speaks the protocol ([`AsyncSmtpConnection`]); the TCP socket is ours so that it can
//! send without Nagle's algorithm. lettre writes a message's body and its final `.` as two
//! writes; with Nagle on, the small second write waits until the server acknowledges the
//! body, and a server with nothing to say yet acknowledges it only when its delayed-ACK timer
//! fires (~40 ms on Linux). Every mail then took ~45 ms on loopback, whatever the server's
//! speed. `smtps://` (TLS from the first byte) is the exception: lettre must wrap the socket
//! it opens itself, so those connections keep Nagle on.
//!
//! Up to [`IDLE_CONNECTIONS`] connections wait between mails; one is checked with `NOOP`
//! before it is used again, and dropped after [`IDLE_FOR`] unused (servers close idle
//! sessions after a few minutes).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

use crate::MailError;

/// Connections kept open between mails: as many as the outbox workers send at once (2
/// workers × `dispatch::IN_FLIGHT`).
pub(crate) const IDLE_CONNECTIONS: usize = 64;
/// How long an unused connection is kept.
pub(crate) const IDLE_FOR: Duration = Duration::from_secs(60);
/// How long one mail may take, from finding or opening its connection to the server's
/// answer (a silent server must not hold a delivery, and its outbox lease, for ever).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Security {
    /// Plain text (a relay on a trusted network, a local test server).
    Plain,
    /// Plain text upgraded by `STARTTLS`, which the server must offer.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// Where the mail goes and how to log in.
#[derive(Clone)]
pub(crate) struct Server {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) security: Security,
    /// The TLS settings (the name the certificate must carry) for `StartTls` and `Tls`.
    pub(crate) tls: Option<TlsParameters>,
    pub(crate) credentials: Option<Credentials>,
}

/// An open connection waiting for the next mail.
struct Parked {
    connection: AsyncSmtpConnection,
    since: Instant,
}

/// The connections to one server.
pub(crate) struct Connections {
    server: Server,
    hello: ClientId,
    idle: Mutex<Vec<Parked>>,
    timeout: Duration,
}

impl Connections {
    pub(crate) fn new(server: Server) -> Self {
        Self {
            server,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            timeout: TIMEOUT,
        }
    }

    /// Gives each mail `limit` instead of [`TIMEOUT`].
    pub(crate) fn with_timeout(mut self, limit: Duration) -> Self {
        self.timeout = limit;
        self
    }

    /// Sends `email` to `envelope`'s recipients on an idle connection or a new one, all within
    /// the time limit ([`TIMEOUT`] by default); the connection is kept for the next mail unless something went wrong on
    /// it.
    pub(crate) async fn send(&self, envelope: &Envelope, email: &[u8]) -> Result<(), MailError> {
        tokio::time::timeout(self.timeout, self.send_now(envelope, email))
            .await
            .map_err(|_| MailError::TimedOut(self.timeout))?
    }

    async fn send_now(&self, envelope: &Envelope, email: &[u8]) -> Result<(), MailError> {
        let mut connection = self.checkout().await?;
        match connection.send(envelope, email).await {
            Ok(_) => {
                if !connection.has_broken() {
                    self.park(connection);
                }
                Ok(())
            }
            Err(e) => {
                connection.abort().await;
                Err(MailError::Smtp(e))
            }
        }
    }

    /// The most recently parked connection that still answers, or a new one.
    async fn checkout(&self) -> Result<AsyncSmtpConnection, MailError> {
        while let Some(mut parked) = self.unpark() {
            if parked.since.elapsed() < IDLE_FOR && parked.connection.test_connected().await {
                return Ok(parked.connection);
            }
            parked.connection.abort().await;
        }
        self.connect().await
    }

    fn unpark(&self) -> Option<Parked> {
        self.idle.lock().expect("idle SMTP connections").pop()
    }

    fn park(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().expect("idle SMTP connections");
        if idle.len() < IDLE_CONNECTIONS {
            idle.push(Parked {
                connection,
                since: Instant::now(),
            });
        }
        // Otherwise it is dropped, closing the socket: enough are waiting.
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, MailError> {
        let server = &self.server;
        let mut connection = match server.security {
            Security::Plain | Security::StartTls => {
                let socket = tcp(&server.host, server.port).await?;
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello).await?
            }
            Security::Tls => {
                AsyncSmtpConnection::connect_tokio1(
                    (server.host.as_str(), server.port),
                    None,
                    &self.hello,
                    server.tls.clone(),
                    None,
                )
                .await?
            }
        };
        if let (Security::StartTls, Some(tls)) = (server.security, &server.tls) {
            if !connection.can_starttls() {
                connection.abort().await;
                return Err(MailError::NoStartTls(server.host.clone()));
            }
            connection.starttls(tls.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &server.credentials {
            connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(connection)
    }
}

/// A TCP connection to `host:port` that sends each write at once (`TCP_NODELAY`).
pub(crate) async fn tcp(host: &str, port: u16) -> Result<TcpStream, MailError> {
    let socket = TcpStream::connect((host, port))
        .await
        .map_err(|source| MailError::Connect {
            server: format!("{host}:{port}"),
            source,
        })?;
    socket
        .set_nodelay(true)
        .map_err(|source| MailError::Connect {
            server: format!("{host}:{port}"),
            source,
        })?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sockets_send_without_nagle() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let socket = tcp("127.0.0.1", port).await.unwrap();
        assert!(socket.nodelay().unwrap());
    }
}
