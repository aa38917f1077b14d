//! [`CommitSignal`]: the in-process wake-up of outbox workers both stores raise after a
//! commit that wrote outbox entries (and the Postgres store also on other instances'
//! notifications).

use async_trait::async_trait;
use booking_core::ports::OutboxWake;
use tokio::sync::watch;

/// A count of wake-ups that only rises, shared by the store's clones and every worker that
/// waits on it.
#[derive(Debug, Clone)]
pub struct CommitSignal {
    count: std::sync::Arc<watch::Sender<u64>>,
}

impl Default for CommitSignal {
    fn default() -> Self {
        Self {
            count: std::sync::Arc::new(watch::Sender::new(0)),
        }
    }
}

impl CommitSignal {
    /// Wakes every waiting worker, and makes the next wait of one that has not seen it yet
    /// return at once.
    pub fn raise(&self) {
        self.count.send_modify(|n| *n = n.wrapping_add(1));
    }
}

#[async_trait]
impl OutboxWake for CommitSignal {
    fn seen(&self) -> u64 {
        *self.count.borrow()
    }

    async fn wait_after(&self, seen: u64) {
        let mut changes = self.count.subscribe();
        // The sender lives as long as `self`, so this ends only by a raise.
        let _ = changes.wait_for(|n| *n != seen).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_raise_between_seen_and_wait_is_not_lost() {
        let signal = CommitSignal::default();
        let seen = signal.seen();
        signal.raise();
        tokio::time::timeout(Duration::from_secs(5), signal.wait_after(seen))
            .await
            .expect("a raise after `seen` ends the wait at once");
    }

    #[tokio::test]
    async fn a_wait_lasts_until_the_next_raise() {
        let signal = CommitSignal::default();
        let seen = signal.seen();
        let waiting = tokio::time::timeout(Duration::from_millis(50), signal.wait_after(seen));
        assert!(
            waiting.await.is_err(),
            "nothing was committed: still waiting"
        );
        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.wait_after(seen).await }
        });
        tokio::task::yield_now().await;
        signal.raise();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("the waiter ran");
    }
}
