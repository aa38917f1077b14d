//! The write load's HTTP clients: one thread per client, each with its own kept-alive
//! connection, sending its requests one after another until they run out or the time is up,
//! timing every answered request and keeping the bodies of the 2xx answers (the next phase
//! reads the tokens off them).

use std::time::{Duration, Instant};

use super::keepalive::Conn;

/// One POST.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) path: String,
    pub(crate) body: String,
}

/// What a phase did, over all clients.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    /// Latencies of every answered request, sorted.
    pub(crate) latencies: Vec<Duration>,
    pub(crate) ok: usize,
    /// Answers other than 2xx, and requests that got no answer.
    pub(crate) failed: usize,
    /// The first failure's status and text, to show when there are any.
    pub(crate) first_failure: Option<String>,
    /// From the first request to the last answer.
    pub(crate) elapsed: Duration,
}

impl Figures {
    pub(crate) fn per_second(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `p`-quantile (0..=1) of the latencies in milliseconds (nearest rank).
    pub(crate) fn quantile_ms(&self, p: f64) -> f64 {
        quantile_ms(&self.latencies, p)
    }
}

/// The `p`-quantile of sorted latencies in milliseconds; 0 for none.
pub(crate) fn quantile_ms(sorted: &[Duration], p: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0.0;
    };
    let rank = ((sorted.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(last);
    sorted[rank].as_secs_f64() * 1000.0
}

/// Runs one client per request list against `port` for at most `limit`; the figures and,
/// per client, the bodies of its 2xx answers in order.
pub(crate) fn drive<I>(port: u16, clients: Vec<I>, limit: Duration) -> (Figures, Vec<Vec<String>>)
where
    I: Iterator<Item = Request> + Send,
{
    let started = Instant::now();
    let until = started + limit;
    let results: Vec<Client> = std::thread::scope(|scope| {
        let handles: Vec<_> = clients
            .into_iter()
            .map(|requests| scope.spawn(move || client(port, requests, until)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let elapsed = started.elapsed();
    let mut figures = Figures {
        elapsed,
        ..Figures::default()
    };
    let mut bodies = Vec::new();
    for c in results {
        figures.latencies.extend(c.latencies);
        figures.failed += c.failed;
        figures.first_failure = figures.first_failure.or(c.first_failure);
        figures.ok += c.ok.len();
        bodies.push(c.ok);
    }
    figures.latencies.sort_unstable();
    (figures, bodies)
}

/// One client's share.
#[derive(Debug, Default)]
struct Client {
    latencies: Vec<Duration>,
    ok: Vec<String>,
    failed: usize,
    first_failure: Option<String>,
}

fn client(port: u16, requests: impl Iterator<Item = Request>, until: Instant) -> Client {
    let mut conn = Conn::new(port);
    let mut done = Client::default();
    for request in requests {
        if Instant::now() >= until {
            break;
        }
        let sent = Instant::now();
        match conn.post(&request.path, &request.body) {
            Ok((status, body)) => {
                done.latencies.push(sent.elapsed());
                if (200..300).contains(&status) {
                    done.ok.push(body);
                } else {
                    done.failed += 1;
                    done.first_failure
                        .get_or_insert_with(|| format!("{status} {}", cut(&body)));
                }
            }
            Err(e) => {
                done.failed += 1;
                done.first_failure.get_or_insert(e);
            }
        }
    }
    done
}

fn cut(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let ms = |n: u64| Duration::from_millis(n);
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert!((quantile_ms(&sorted, 0.5) - 50.0).abs() < 1e-9);
        assert!((quantile_ms(&sorted, 0.99) - 99.0).abs() < 1e-9);
        assert!((quantile_ms(&sorted, 1.0) - 100.0).abs() < 1e-9);
        assert!((quantile_ms(&[ms(7)], 0.99) - 7.0).abs() < 1e-9);
        assert!(quantile_ms(&[], 0.99).abs() < 1e-9);
    }
}
