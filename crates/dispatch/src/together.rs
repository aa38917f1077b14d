//! [`all`]: runs a handful of futures at once on the current task and collects their outputs
//! in order, so a worker can have several deliveries of its batch in flight.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

/// Every future of `futures`, polled together until all are done; outputs in input order.
pub(crate) async fn all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut running: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut outputs: Vec<Option<F::Output>> = running.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in running.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::Barrier;

    #[tokio::test]
    async fn runs_the_futures_at_once_and_keeps_their_order() {
        // Each waits for all three: one after the other, the first would wait for ever.
        let barrier = Arc::new(Barrier::new(3));
        let futures = [3, 1, 2]
            .into_iter()
            .map(|n| {
                let barrier = barrier.clone();
                async move {
                    barrier.wait().await;
                    n
                }
            })
            .collect();
        let outputs = tokio::time::timeout(Duration::from_secs(10), super::all(futures))
            .await
            .expect("the three ran together");
        assert_eq!(outputs, vec![3, 1, 2]);
    }
}
