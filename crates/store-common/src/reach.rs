//! The first connection to a database server, within a time limit: a refused connection is
//! tried again (the server may still be starting) until the limit, anything else fails at
//! once, and the caller learns the cause either way — sqlx's pool would instead retry a
//! refused or unanswered connection silently until its acquire timeout and then report only
//! that it timed out.

use std::future::Future;
use std::time::Duration;

/// Why the first connection failed.
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    /// Nothing answered, or the server kept refusing, until the limit.
    #[error("no connection within {} s{}", .limit.as_secs_f64(), .last.as_ref().map_or_else(String::new, |e| format!(" (last attempt: {e})")))]
    TimedOut {
        /// The time limit.
        limit: Duration,
        /// The last refusal, if the server refused rather than stayed silent.
        last: Option<sqlx::Error>,
    },
    /// The server answered with an error (authentication, unknown database, TLS, …), or the
    /// name did not resolve.
    #[error(transparent)]
    Failed(sqlx::Error),
}

/// Runs `attempt` until it connects, within `limit`; see the module docs.
///
/// # Errors
/// [`Unreachable`] with the cause.
pub async fn first_connection<C, F, Fut>(limit: Duration, mut attempt: F) -> Result<C, Unreachable>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<C, sqlx::Error>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(50);
    let mut last = None;
    loop {
        match tokio::time::timeout_at(deadline, attempt()).await {
            Ok(Ok(connection)) => return Ok(connection),
            Ok(Err(sqlx::Error::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                last = Some(sqlx::Error::Io(e));
            }
            Ok(Err(e)) => return Err(Unreachable::Failed(e)),
            Err(_) => return Err(Unreachable::TimedOut { limit, last }),
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Err(Unreachable::TimedOut { limit, last });
        }
        // The last pause ends at the limit, for one more try there.
        tokio::time::sleep_until((now + pause).min(deadline)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> sqlx::Error {
        sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())
    }

    #[tokio::test]
    async fn a_refusing_server_is_tried_again_until_it_answers() {
        let mut tries = 0;
        let connected = first_connection(Duration::from_secs(5), || {
            tries += 1;
            let now = tries;
            async move { if now < 4 { Err(refused()) } else { Ok(now) } }
        })
        .await
        .expect("connects on the fourth try");
        assert_eq!(connected, 4);
    }

    #[tokio::test]
    async fn refusals_until_the_limit_are_reported_with_the_last_one() {
        let err = first_connection(Duration::from_millis(300), || async {
            Err::<(), _>(refused())
        })
        .await
        .expect_err("never connects");
        let text = err.to_string();
        assert!(text.starts_with("no connection within 0.3 s"), "{text}");
        assert!(text.contains("refused"), "{text}");
    }

    #[tokio::test]
    async fn silence_is_cut_off_at_the_limit() {
        let err = first_connection(Duration::from_millis(200), || {
            std::future::pending::<Result<(), sqlx::Error>>()
        })
        .await
        .expect_err("never answers");
        assert!(
            matches!(err, Unreachable::TimedOut { last: None, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn other_errors_end_it_at_once() {
        let mut tries = 0;
        let err = first_connection(Duration::from_secs(3), || {
            tries += 1;
            async { Err::<(), _>(sqlx::Error::Protocol("bad".into())) }
        })
        .await
        .expect_err("fails");
        assert!(matches!(err, Unreachable::Failed(_)));
        assert_eq!(tries, 1);
    }
}
