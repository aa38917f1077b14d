//! The finished answers of the slots API and the picker pages (booking page, reschedule page),
//! kept for the second they are asked in with booking-core's `read_cache::answers`: a page is
//! built as of its whole second, so the same request in the same second gets the same bytes,
//! and the read cache's generations retire an answer the moment a booking, link or host it
//! was built from changes here or on another instance.

use std::future::Future;
use std::sync::Arc;

use actix_web::web::Bytes;
use booking_core::read_cache::ReadCache;
use booking_core::read_cache::answers::Answers;
use booking_core::{BookingId, HostId};
use chrono::{DateTime, Utc};

use crate::AppState;
use crate::errors::Failure;

/// Most answers kept at once (of the current second).
const CAPACITY: usize = 1024;

/// What an answer is the answer to, besides the second it is built as of and the cached
/// reads: every input of the handler that can change what it renders.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AnswerKey {
    /// The slots API: the link, the window (after its defaults) and the offsets' zone.
    Slots {
        slug: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: Option<String>,
    },
    /// The booking page's picker: the link, the query as sent and the clock it resolved to
    /// (the only thing `Accept-Language` decides).
    BookingPage {
        slug: String,
        query: String,
        clock: &'static str,
    },
    /// The reschedule page of one row of one booking, by its token (the page's form posts to
    /// it).
    Reschedule {
        booking: BookingId,
        version: u64,
        token: String,
        query: String,
        clock: &'static str,
    },
}

/// The web side's answer cache.
pub(crate) type AnswerCache = Answers<AnswerKey, Bytes>;

pub(crate) fn answer_cache(reads: Arc<ReadCache>) -> AnswerCache {
    Answers::new(reads, CAPACITY)
}

/// The answer to `key` kept as of `as_of`, while nothing it was built from has changed: the
/// kept answer remembers its host and generations, so it is found before the link is read.
pub(crate) fn kept(state: &AppState, as_of: DateTime<Utc>, key: &AnswerKey) -> Option<Bytes> {
    state.answers.as_ref()?.get(as_of, key)
}

/// The links' epoch before an answer's link is read (0 without a cache).
pub(crate) fn links_epoch(state: &AppState) -> u64 {
    state.answers.as_ref().map_or(0, |a| a.links_epoch())
}

/// `build`'s answer to `key` about `host` as of `as_of`, kept for the rest of the second.
/// `epoch` is [`links_epoch`] read before the link `build` uses; `build` must read what blocks
/// the host only when awaited.
pub(crate) async fn build_and_keep(
    state: &AppState,
    as_of: DateTime<Utc>,
    key: AnswerKey,
    (host, epoch): (HostId, u64),
    build: impl Future<Output = Result<Bytes, Failure>>,
) -> Result<Bytes, Failure> {
    let Some(cache) = &state.answers else {
        return build.await;
    };
    let stamp = cache.stamp(epoch, host);
    let built = build.await?;
    cache.keep(as_of, key, host, stamp, built.clone());
    Ok(built)
}
