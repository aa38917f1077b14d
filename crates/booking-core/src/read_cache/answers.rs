//! Finished answers (a rendered page, a serialised slot list) kept beside the [`ReadCache`],
//! so a page asked again within the same second is not built again.
//!
//! An answer is exact when its key names everything it was built from but the cached reads:
//! the caller builds it *as of* the whole second it is asked in ([`whole_second`]) and puts
//! that second in the key's place here, so two requests in one second get the very answer an
//! uncached build would give them both. The cached reads (the link, its host, the host's busy
//! ranges) are covered by the [`ReadCache`]'s generations: every answer carries the [`Stamp`]
//! it was built under and is used only while that stamp is current, so a commit in this
//! process, a change announced by another instance and a dropped cache all retire it at once.
//! Only the current second's answers are kept (a later second's first answer drops the rest),
//! and at most `capacity` of them, so memory stays bounded whatever keys the requests make.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Utc};

use super::{ReadCache, Stamp};
use crate::ids::HostId;

/// `now` cut to its whole second: the instant a cached answer is built as of.
pub fn whole_second(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

#[derive(Debug)]
struct Kept<V> {
    host: HostId,
    stamp: Stamp,
    value: V,
}

#[derive(Debug)]
struct Second<K, V> {
    at: i64,
    answers: HashMap<K, Kept<V>>,
}

/// The answers of the current second, keyed by `K`, each valid while the generations of the
/// host it is about stay as they were when it was built.
#[derive(Debug)]
pub struct Answers<K, V> {
    reads: Arc<ReadCache>,
    capacity: usize,
    second: Mutex<Second<K, V>>,
}

impl<K: Hash + Eq, V: Clone> Answers<K, V> {
    /// Answers retired by `reads`' changes, at most `capacity` at once.
    pub fn new(reads: Arc<ReadCache>, capacity: usize) -> Self {
        Self {
            reads,
            capacity,
            second: Mutex::new(Second {
                at: i64::MIN,
                answers: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Second<K, V>> {
        // Entries are inserted or dropped whole; a panic elsewhere leaves them usable.
        self.second.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The links' epoch: read it before reading the link an answer will be built from.
    pub fn links_epoch(&self) -> u64 {
        self.reads.links_epoch()
    }

    /// The stamp of an answer about `host` about to be built: `epoch` from
    /// [`Answers::links_epoch`], read before its link; take it before the busy ranges are.
    pub fn stamp(&self, epoch: u64, host: HostId) -> Stamp {
        self.reads.stamp(epoch, host)
    }

    /// The answer to `key` built as of `as_of`, while nothing it was built from has changed.
    pub fn get(&self, as_of: DateTime<Utc>, key: &K) -> Option<V> {
        let (host, stamp, value) = {
            let second = self.lock();
            if second.at != as_of.timestamp() {
                return None;
            }
            let kept = second.answers.get(key)?;
            (kept.host, kept.stamp, kept.value.clone())
        };
        self.reads.is_current(host, stamp).then_some(value)
    }

    /// Keeps `value`, the answer to `key` about `host` built as of `as_of` under `stamp`.
    /// An answer of an earlier second than the kept ones, or built under a stamp already
    /// outdated, is not kept.
    pub fn keep(&self, as_of: DateTime<Utc>, key: K, host: HostId, stamp: Stamp, value: V) {
        if !self.reads.is_current(host, stamp) {
            return;
        }
        let at = as_of.timestamp();
        let mut second = self.lock();
        if at < second.at {
            return;
        }
        if at > second.at || second.answers.len() >= self.capacity {
            second.answers.clear();
            second.at = at;
        }
        second.answers.insert(key, Kept { host, stamp, value });
    }

    /// How many answers are kept now.
    pub fn len(&self) -> usize {
        self.lock().answers.len()
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read_cache::CacheChange;
    use chrono::TimeZone;

    fn host(n: u128) -> HostId {
        HostId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn at(seconds: i64, nanos: u32) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, nanos).unwrap()
    }

    fn answers(capacity: usize) -> (Arc<ReadCache>, Answers<&'static str, u32>) {
        let reads = Arc::new(ReadCache::new());
        (reads.clone(), Answers::new(reads, capacity))
    }

    #[test]
    fn an_answer_serves_its_own_second_only() {
        let (_, cache) = answers(8);
        let stamp = cache.stamp(cache.links_epoch(), host(1));
        cache.keep(whole_second(at(0, 300)), "page", host(1), stamp, 7);
        assert_eq!(
            cache.get(whole_second(at(0, 900_000_000)), &"page"),
            Some(7)
        );
        assert_eq!(cache.get(whole_second(at(1, 0)), &"page"), None);
        assert_eq!(cache.get(whole_second(at(0, 5)), &"other"), None);
    }

    #[test]
    fn a_change_of_the_hosts_bookings_retires_its_answers_only() {
        let (reads, cache) = answers(8);
        let epoch = cache.links_epoch();
        let now = whole_second(at(0, 0));
        cache.keep(now, "one", host(1), cache.stamp(epoch, host(1)), 1);
        cache.keep(now, "two", host(2), cache.stamp(epoch, host(2)), 2);
        reads.apply(CacheChange::Bookings(host(1)));
        assert_eq!(cache.get(now, &"one"), None);
        assert_eq!(cache.get(now, &"two"), Some(2));
    }

    #[test]
    fn a_link_change_or_a_dropped_cache_retires_every_answer() {
        let (reads, cache) = answers(8);
        let now = whole_second(at(0, 0));
        let keep = |key| {
            cache.keep(
                now,
                key,
                host(2),
                cache.stamp(cache.links_epoch(), host(2)),
                2,
            )
        };
        keep("a");
        reads.apply(CacheChange::Links(host(1)));
        assert_eq!(cache.get(now, &"a"), None);
        keep("b");
        reads.forget_all();
        assert_eq!(cache.get(now, &"b"), None);
    }

    #[test]
    fn an_answer_built_across_a_change_is_not_kept() {
        let (reads, cache) = answers(8);
        let now = whole_second(at(0, 0));
        let epoch = cache.links_epoch();
        let stamp = cache.stamp(epoch, host(1));
        reads.apply(CacheChange::Bookings(host(1)));
        cache.keep(now, "late", host(1), stamp, 1);
        assert!(cache.is_empty());
        // The epoch read before the link counts too.
        reads.apply(CacheChange::Links(host(3)));
        cache.keep(now, "late", host(1), cache.stamp(epoch, host(1)), 1);
        assert!(cache.is_empty());
    }

    #[test]
    fn memory_stays_bounded_by_second_and_by_capacity() {
        let (_, cache) = answers(2);
        let stamp = cache.stamp(cache.links_epoch(), host(1));
        let (first, next) = (whole_second(at(0, 0)), whole_second(at(1, 0)));
        cache.keep(first, "a", host(1), stamp, 1);
        cache.keep(first, "b", host(1), stamp, 2);
        cache.keep(first, "c", host(1), stamp, 3);
        assert_eq!(cache.len(), 1, "over capacity the second starts over");
        cache.keep(next, "d", host(1), stamp, 4);
        assert_eq!((cache.len(), cache.get(first, &"c")), (1, None));
        cache.keep(first, "late", host(1), stamp, 5);
        assert_eq!(
            cache.get(next, &"late"),
            None,
            "an earlier second's answer is not kept"
        );
    }
}
