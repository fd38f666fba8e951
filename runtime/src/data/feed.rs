//! Decode ahead: a scan's batches are read, decoded and encoded on a
//! thread of their own while the guest computes, through a queue bounded
//! in batches ([`AHEAD`]) and in bytes (the scan's ahead budget).
//!
//! Defends against two things. A 2-core node would otherwise decode and
//! compute in turn, never both. And host memory held for a guest must
//! stay within its run's memory cap, counted deterministically: the
//! decoder never reserves memory itself. The run's thread reserves an
//! ahead budget for the scan (see [`estimate`] and [`SLOTS`]) and hands
//! its size to the feed; the decoder starts a batch only while the
//! batches it holds (decoded, encoded and queued, with the dictionary
//! growth they caused) plus the largest batch so far fit in it, or when
//! the guest is waiting and nothing is queued (a synchronous read). Every
//! batch reports what it held ([`Produced::bytes`]) so the run's thread
//! can charge it (fuel, and the memory it holds once taken) in batch
//! order, whatever the threads' timing.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use arrow_array::ArrayRef;
use arrow_schema::DataType;

use super::encode::{BatchEncoder, FedBatch};
use super::read::{RecordBatches, ScanColumn};
use super::{ColumnType, Dataset};
use crate::error::DataError;

/// Batches the decoder may have queued beyond the one the guest holds.
pub const AHEAD: usize = 2;
/// Batches an ahead budget is sized for: the queued ones and the one
/// being decoded.
pub const SLOTS: u64 = AHEAD as u64 + 1;

/// One batch as the decoder hands it over.
pub struct Produced {
    /// The batch for the guest.
    pub fed: FedBatch,
    /// The arrays of the columns the caller asked to observe.
    pub observed: Vec<ArrayRef>,
    /// Host bytes the batch held while it was decoded and queued: the
    /// decoded arrays, the encoded batch and the dictionary growth.
    pub bytes: u64,
}

/// Why a feed stopped before its end.
#[derive(Debug)]
pub enum FeedStop {
    /// The data could not be read (or changed while read).
    Data(DataError),
    /// The run's deadline passed while waiting for the decoder.
    Deadline,
}

/// Host bytes one batch of `batch_rows` rows of `columns` of `dataset`
/// is expected to hold (decoded and encoded), before any was seen: the
/// first ahead budget. Counted from the column types only.
pub fn estimate(dataset: &Dataset, columns: &[ScanColumn], batch_rows: usize) -> u64 {
    let per_row: u64 = columns
        .iter()
        .map(|c| {
            let stored = dataset.schema.field(c.index).data_type();
            match ColumnType::of(stored) {
                Some(ColumnType::Boolean) => 2,
                Some(ColumnType::Date) => 8,
                Some(ColumnType::Utf8)
                    if c.dictionary || matches!(stored, DataType::Dictionary(..)) =>
                {
                    8
                }
                Some(ColumnType::Utf8) => 48,
                _ => 16,
            }
        })
        .sum();
    per_row.saturating_mul(batch_rows as u64)
}

#[derive(Debug, Default)]
struct GateState {
    /// Bytes of the batches the decoder holds (decoding or queued).
    queued: u64,
    /// The scan's ahead budget.
    budget: u64,
    /// The largest batch so far (the estimate before the first).
    largest: u64,
    /// `largest` is still the estimate.
    estimated: bool,
    /// The guest is waiting for a batch.
    wanted: bool,
    /// The scan was dropped.
    closed: bool,
}

/// When the decoder may start the next batch.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut GateState)) {
        f(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits until the next batch fits in the budget, or the guest waits
    /// with nothing queued; `false` once the scan is closed.
    fn admit(&self) -> bool {
        let mut s = self.lock();
        loop {
            if s.closed {
                return false;
            }
            if s.queued.saturating_add(s.largest) <= s.budget || (s.queued == 0 && s.wanted) {
                return true;
            }
            s = self.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

type Message = Result<Produced, DataError>;

/// A scan being decoded ahead.
pub struct Feed {
    rx: Option<Receiver<Message>>,
    gate: Arc<Gate>,
}

impl Feed {
    /// Starts a scan of `columns` of `dataset` (named `names`, in order)
    /// in batches of `batch_rows`, keeping the arrays of the columns at
    /// positions `observe` for the caller, with an ahead budget of
    /// `budget` bytes (0: decode only when the guest asks).
    pub fn start(
        dataset: &Dataset,
        columns: Vec<ScanColumn>,
        names: Vec<String>,
        batch_rows: usize,
        observe: Vec<usize>,
        budget: u64,
    ) -> Result<Self, DataError> {
        let reader = dataset.scan(&columns, batch_rows)?;
        let first = estimate(dataset, &columns, batch_rows);
        let flags = columns.iter().map(|c| c.dictionary).collect();
        let encoder = BatchEncoder::with_dictionaries(names, flags);
        let name = dataset.name.clone();
        let gate = Arc::new(Gate::default());
        gate.update(|s| {
            s.budget = budget;
            s.largest = first;
            s.estimated = true;
        });
        let (tx, rx) = sync_channel(AHEAD);
        let decoder = Decoder {
            reader,
            encoder,
            observe,
            dataset: name,
            gate: gate.clone(),
        };
        std::thread::Builder::new()
            .name(format!("sluice-feed-{}", dataset.name))
            .spawn(move || decoder.run(tx))
            .map_err(|e| DataError::Decode {
                dataset: dataset.name.clone(),
                message: format!("cannot start the decoding thread: {e}"),
            })?;
        Ok(Self { rx: Some(rx), gate })
    }

    /// Sets the ahead budget (bytes the run reserved for it).
    pub fn set_budget(&self, bytes: u64) {
        self.gate.update(|s| s.budget = bytes);
    }

    /// Bytes of the batches the decoder holds now.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> u64 {
        self.gate.lock().queued
    }

    /// The next batch, `None` at the end; waits for the decoder until
    /// `deadline` at most.
    pub fn next(&mut self, deadline: Instant) -> Result<Option<Produced>, FeedStop> {
        let Some(rx) = &self.rx else {
            return Ok(None);
        };
        self.gate.update(|s| s.wanted = true);
        let received = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        self.gate.update(|s| s.wanted = false);
        match received {
            Ok(Ok(p)) => {
                self.gate
                    .update(|s| s.queued = s.queued.saturating_sub(p.bytes));
                Ok(Some(p))
            }
            Ok(Err(e)) => {
                self.rx = None;
                Err(FeedStop::Data(e))
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.rx = None;
                Ok(None)
            }
            Err(RecvTimeoutError::Timeout) => Err(FeedStop::Deadline),
        }
    }
}

impl Drop for Feed {
    /// The guest dropped the scan: the decoder stops after its current batch.
    fn drop(&mut self) {
        self.gate.update(|s| s.closed = true);
    }
}

/// The decoding thread's state.
struct Decoder {
    reader: RecordBatches,
    encoder: BatchEncoder,
    observe: Vec<usize>,
    dataset: String,
    gate: Arc<Gate>,
}

impl Decoder {
    /// Read, encode, send, until the end, an error, or the scan is gone.
    fn run(mut self, tx: SyncSender<Message>) {
        while self.gate.admit() {
            let Some(batch) = self.reader.next() else {
                return;
            };
            let message = batch.and_then(|batch| {
                let decoded = batch.get_array_memory_size() as u64;
                let observed = self
                    .observe
                    .iter()
                    .map(|&i| batch.column(i).clone())
                    .collect();
                self.encoder
                    .encode(&batch)
                    .map(|fed| Produced {
                        bytes: decoded + fed.bytes + fed.dictionary_bytes,
                        fed,
                        observed,
                    })
                    .map_err(|message| DataError::Decode {
                        dataset: self.dataset.clone(),
                        message,
                    })
            });
            if let Ok(p) = &message {
                self.gate.update(|s| {
                    s.queued += p.bytes;
                    s.largest = if s.estimated {
                        p.bytes
                    } else {
                        s.largest.max(p.bytes)
                    };
                    s.estimated = false;
                });
            }
            let failed = message.is_err();
            if tx.send(message).is_err() || failed {
                return;
            }
        }
    }
}
