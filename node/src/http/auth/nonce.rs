//! The replay cache: every (key, nonce) pair accepted within the signature
//! window is remembered until the window has passed, so the same signed
//! request cannot be accepted twice.
//!
//! Only requests whose signature and digest verified reach the cache, so an
//! attacker without a key cannot fill it; entries expire with the window, so
//! it holds at most what known keys sent within it; and a hard cap answers
//! "busy" rather than forgetting a nonce early (forgetting would reopen the
//! replay the cache exists to close).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// What the cache says about a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceCheck {
    /// First use: remembered now.
    Fresh,
    /// Seen before within the window.
    Replayed,
    /// The cache is full of live nonces.
    Full,
}

struct Inner {
    seen: HashMap<(String, String), u64>,
    order: VecDeque<(u64, (String, String))>,
}

/// Nonces seen within the window, per key.
pub(crate) struct NonceCache {
    inner: Mutex<Inner>,
    max: usize,
}

impl NonceCache {
    /// A cache holding at most `max` live nonces.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                seen: HashMap::new(),
                order: VecDeque::new(),
            }),
            max,
        }
    }

    /// Remembers `nonce` of `key` until `until` (Unix seconds) unless it was
    /// seen; `now` expires older entries first.
    pub(crate) fn check(&self, key: &str, nonce: &str, now: u64, until: u64) -> NonceCheck {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((expiry, _)) = inner.order.front() {
            if *expiry >= now {
                break;
            }
            if let Some((_, k)) = inner.order.pop_front()
                && inner.seen.get(&k).is_some_and(|e| *e < now)
            {
                inner.seen.remove(&k);
            }
        }
        let k = (key.to_string(), nonce.to_string());
        if inner.seen.contains_key(&k) {
            return NonceCheck::Replayed;
        }
        if inner.seen.len() >= self.max {
            return NonceCheck::Full;
        }
        inner.seen.insert(k.clone(), until);
        // Entries are mostly in expiry order; an out-of-order one only
        // stays a little longer than needed.
        inner.order.push_back((until, k));
        NonceCheck::Fresh
    }

    /// Live nonces.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().map_or(0, |i| i.seen.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_accepted_once_per_key_within_the_window() {
        let c = NonceCache::new(10);
        assert_eq!(c.check("k", "n", 100, 400), NonceCheck::Fresh);
        assert_eq!(c.check("k", "n", 200, 500), NonceCheck::Replayed);
        assert_eq!(c.check("other", "n", 200, 500), NonceCheck::Fresh);
    }

    #[test]
    fn entries_expire_after_the_window_and_a_full_cache_refuses() {
        let c = NonceCache::new(2);
        assert_eq!(c.check("k", "a", 100, 400), NonceCheck::Fresh);
        assert_eq!(c.check("k", "b", 100, 400), NonceCheck::Fresh);
        assert_eq!(c.check("k", "c", 100, 400), NonceCheck::Full);
        assert_eq!(c.check("k", "c", 401, 700), NonceCheck::Fresh);
        assert_eq!(c.len(), 1);
    }
}
