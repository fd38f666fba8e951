//! The run pool: runs execute on a bounded set of blocking worker threads,
//! never on the async reactor, behind a bounded queue.
//!
//! A run is admitted only while fewer than `workers + queue` runs are in
//! flight (else `503 busy.queue-full` with `Retry-After`) and while its key
//! has fewer than `per_key_runs` in flight (else `429 busy.key-limit`). An
//! admitted run waits for one of `workers` permits, then runs on tokio's
//! blocking pool. It is owned by a spawned task, not by the request: a
//! client that disconnects does not cancel a run, so its event is still
//! recorded.
//!
//! Defends against overload (bounded memory and threads: the queue bound,
//! then a fast refusal), against one key starving the others (its own
//! in-flight cap; each run is bounded by its policy's wall-clock limit, so
//! a slow or hostile guest holds one worker for at most that long), and
//! against losing runs at shutdown ([`RunPool::drain`] waits for every
//! admitted run to finish).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use crate::http::problem::ApiError;
use crate::http::telemetry::Metrics;

/// The bounded pool.
pub(crate) struct RunPool {
    workers: Arc<Semaphore>,
    worker_count: usize,
    queue: usize,
    per_key: usize,
    per_key_workers: usize,
    in_flight: AtomicUsize,
    by_key: Mutex<HashMap<String, KeySlot>>,
    closed: AtomicBool,
    retry_after: u64,
    metrics: Metrics,
}

/// One key's runs in flight and its share of the workers.
struct KeySlot {
    in_flight: usize,
    workers: Arc<Semaphore>,
}

/// An admitted run's place in the pool; released when dropped.
pub(crate) struct Ticket {
    pool: Arc<RunPool>,
    key: String,
    workers: Arc<Semaphore>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.pool.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut by_key = self.pool.by_key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = by_key.get_mut(&self.key) {
            slot.in_flight -= 1;
            if slot.in_flight == 0 {
                by_key.remove(&self.key);
            }
        }
    }
}

impl RunPool {
    /// A pool of `workers` threads with `queue` places, `per_key` runs in
    /// flight per key, of which at most `per_key_workers` execute at once.
    pub(crate) fn new(
        workers: usize,
        queue: usize,
        per_key: usize,
        per_key_workers: usize,
        retry_after: u64,
        metrics: Metrics,
    ) -> Self {
        Self {
            workers: Arc::new(Semaphore::new(workers)),
            worker_count: workers,
            queue,
            per_key,
            per_key_workers: per_key_workers.clamp(1, workers.max(1)),
            in_flight: AtomicUsize::new(0),
            by_key: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            retry_after,
            metrics,
        }
    }

    /// Runs admitted and not finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Admits a run of `key`, or says why not.
    pub(crate) fn admit(self: &Arc<Self>, key: &str) -> Result<Ticket, ApiError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ApiError::busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting-down",
                "the node is shutting down and takes no new runs; retry against it once it is back",
                self.retry_after,
            ));
        }
        let mut by_key = self.by_key.lock().unwrap_or_else(|p| p.into_inner());
        let mine = by_key.get(key).map_or(0, |s| s.in_flight);
        if mine >= self.per_key {
            return Err(ApiError::busy(
                StatusCode::TOO_MANY_REQUESTS,
                "key-limit",
                format!(
                    "your key has {mine} runs queued or running, the most this node allows one key; wait for one to finish"
                ),
                self.retry_after,
            ));
        }
        let bound = self.worker_count + self.queue;
        if self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < bound).then_some(n + 1)
            })
            .is_err()
        {
            return Err(ApiError::busy(
                StatusCode::SERVICE_UNAVAILABLE,
                "queue-full",
                format!(
                    "the node is running {} runs and {} more are waiting, its limit; retry after the Retry-After delay",
                    self.worker_count, self.queue
                ),
                self.retry_after,
            ));
        }
        let slot = by_key.entry(key.to_string()).or_insert_with(|| KeySlot {
            in_flight: 0,
            workers: Arc::new(Semaphore::new(self.per_key_workers)),
        });
        slot.in_flight += 1;
        Ok(Ticket {
            pool: self.clone(),
            key: key.to_string(),
            workers: slot.workers.clone(),
        })
    }

    /// Runs `work` on a worker thread once one is free, owned by a spawned
    /// task (it finishes even if nobody awaits the handle).
    pub(crate) fn spawn<T: Send + 'static>(
        self: &Arc<Self>,
        ticket: Ticket,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<Option<T>> {
        let pool = self.clone();
        tokio::spawn(async move {
            pool.metrics.queued(1);
            // The key's share first, then a worker: one key never holds
            // more workers than its share, so other keys keep moving.
            let share = ticket.workers.clone().acquire_owned().await;
            let permit = pool.workers.clone().acquire_owned().await;
            pool.metrics.queued(-1);
            let (share, permit) = (share.ok()?, permit.ok()?);
            let out = tokio::task::spawn_blocking(work).await.ok();
            drop(permit);
            drop(share);
            drop(ticket);
            out
        })
    }

    /// Stops admitting runs (`503 busy.shutting-down` from now on).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Stops admitting runs and waits up to `grace` for the admitted ones
    /// to finish; returns how many were still in flight.
    pub(crate) async fn drain(&self, grace: Duration) -> usize {
        self.close();
        let deadline = tokio::time::Instant::now() + grace;
        while self.in_flight() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.in_flight()
    }
}
