//! One memory budget per run, shared by the guest's linear memory and the
//! memory the host holds on the guest's behalf.
//!
//! The policy's `memory_mb` is one cap over both: the guest's memories grow
//! through wasmtime's resource limiter ([`super::MemoryCap`]), and host code
//! reserves bytes here *before* it allocates state for the guest (aggregate
//! groups, scan batches and dictionaries, the run log, the converted output).
//! A reservation that would take guest + host past the cap is refused, so a
//! guest cannot make the host allocate what it could not allocate itself.
//!
//! The account is thread-safe (atomics), so a decode-ahead thread can hold
//! reservations for the batches it has queued; a [`Reservation`] gives its
//! bytes back when dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::meter::HostAbort;

/// The memory account of one run: a cap, the guest's linear memory and the
/// host's reservations, with their peaks.
///
/// `total` (guest + host) is the one figure checked against the cap, updated
/// by compare-and-swap, so a reservation on another thread and a guest growth
/// on the run thread can never both slip past it.
#[derive(Debug)]
pub struct MemoryAccount {
    cap: u64,
    total: AtomicU64,
    guest: AtomicU64,
    peak: AtomicU64,
    host_peak: AtomicU64,
    host_refused: AtomicBool,
}

impl MemoryAccount {
    /// An account capped at `cap` bytes.
    pub fn new(cap: u64) -> Arc<Self> {
        Arc::new(Self {
            cap,
            total: AtomicU64::new(0),
            guest: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            host_peak: AtomicU64::new(0),
            host_refused: AtomicBool::new(false),
        })
    }

    /// The cap, bytes.
    pub fn cap(&self) -> u64 {
        self.cap
    }

    /// Bytes in use now (guest linear memory plus host reservations).
    pub fn used(&self) -> u64 {
        self.total.load(Ordering::Acquire)
    }

    /// Bytes still free under the cap.
    pub fn headroom(&self) -> u64 {
        self.cap.saturating_sub(self.used())
    }

    /// Highest guest + host total reached.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Acquire)
    }

    /// Highest host reservation total reached.
    pub fn host_peak(&self) -> u64 {
        self.host_peak.load(Ordering::Acquire)
    }

    /// Bytes the host holds reserved now.
    pub fn host_used(&self) -> u64 {
        self.used().saturating_sub(self.guest())
    }

    /// Whether a host reservation was ever refused in this run.
    pub fn host_refused(&self) -> bool {
        self.host_refused.load(Ordering::Acquire)
    }

    /// Reserves `bytes` of host memory, or refuses when guest + host would
    /// pass the cap. Nothing is reserved on refusal.
    pub fn reserve(self: &Arc<Self>, bytes: u64) -> Result<Reservation, HostAbort> {
        self.reserve_raw(bytes)?;
        Ok(Reservation {
            account: self.clone(),
            bytes,
        })
    }

    /// Reserves `bytes` without a guard; the caller must
    /// [`release_raw`](Self::release_raw) them. Prefer [`Self::reserve`].
    pub fn reserve_raw(&self, bytes: u64) -> Result<(), HostAbort> {
        if self.add(bytes) {
            self.host_peak.fetch_max(self.host_used(), Ordering::AcqRel);
            Ok(())
        } else {
            self.host_refused.store(true, Ordering::Release);
            Err(HostAbort::Memory)
        }
    }

    /// Gives back `bytes` reserved earlier with [`Self::reserve_raw`].
    pub fn release_raw(&self, bytes: u64) {
        let _ = self
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_sub(bytes))
            });
    }

    /// Adds `bytes` to the total if it stays within the cap.
    fn add(&self, bytes: u64) -> bool {
        let added = self
            .total
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                t.checked_add(bytes).filter(|n| *n <= self.cap)
            });
        match added {
            Ok(before) => {
                self.peak.fetch_max(before + bytes, Ordering::AcqRel);
                true
            }
            Err(_) => false,
        }
    }

    /// Sets the guest's linear memory total to `bytes` if guest + host stays
    /// within the cap; returns whether it did. Called on the run thread only.
    pub(crate) fn set_guest(&self, bytes: u64) -> bool {
        let old = self.guest();
        if bytes >= old {
            if !self.add(bytes - old) {
                return false;
            }
        } else {
            self.release_raw(old - bytes);
        }
        self.guest.store(bytes, Ordering::Release);
        true
    }

    /// The guest's linear memory total.
    pub(crate) fn guest(&self) -> u64 {
        self.guest.load(Ordering::Acquire)
    }
}

/// Host memory reserved against a run's cap, given back on drop.
#[derive(Debug)]
#[must_use = "a reservation is released as soon as it is dropped"]
pub struct Reservation {
    account: Arc<MemoryAccount>,
    bytes: u64,
}

impl Reservation {
    /// An empty reservation on `account`, to [`grow`](Self::grow) later.
    pub fn empty(account: &Arc<MemoryAccount>) -> Self {
        Self {
            account: account.clone(),
            bytes: 0,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Holds `more` bytes as well, or refuses (keeping what it held).
    pub fn grow(&mut self, more: u64) -> Result<(), HostAbort> {
        self.account.reserve_raw(more)?;
        self.bytes += more;
        Ok(())
    }

    /// Gives back `less` bytes (at most what is held).
    pub fn shrink(&mut self, less: u64) {
        let less = less.min(self.bytes);
        self.account.release_raw(less);
        self.bytes -= less;
    }

    /// Moves `other`'s bytes into this reservation.
    pub fn absorb(&mut self, mut other: Reservation) {
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.account.release_raw(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_and_host_share_one_cap() {
        let a = MemoryAccount::new(100);
        assert!(a.set_guest(60));
        let r = a.reserve(40).unwrap();
        assert_eq!(a.used(), 100);
        assert_eq!(a.reserve(1).unwrap_err(), HostAbort::Memory);
        assert!(!a.set_guest(61), "the guest cannot grow into host memory");
        drop(r);
        assert_eq!(a.used(), 60);
        assert!(a.set_guest(100));
        assert_eq!(a.peak(), 100);
        assert_eq!(a.host_peak(), 40);
        assert!(a.host_refused());
    }

    #[test]
    fn reservations_grow_shrink_and_release_on_drop() {
        let a = MemoryAccount::new(1000);
        let mut r = Reservation::empty(&a);
        r.grow(300).unwrap();
        r.grow(300).unwrap();
        assert!(r.grow(500).is_err());
        assert_eq!(r.bytes(), 600);
        r.shrink(100);
        assert_eq!(a.host_used(), 500);
        let other = a.reserve(200).unwrap();
        r.absorb(other);
        assert_eq!(a.host_used(), 700);
        drop(r);
        assert_eq!(a.host_used(), 0);
    }

    #[test]
    fn huge_requests_are_refused_not_wrapped() {
        let a = MemoryAccount::new(u64::MAX - 1);
        let _r = a.reserve(10).unwrap();
        assert!(a.reserve(u64::MAX).is_err());
        assert_eq!(a.host_used(), 10);
    }
}
