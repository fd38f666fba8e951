//! Decode ahead: a scan's batches are read, decoded and encoded on a
//! thread of their own while the guest computes, through a bounded queue.
//!
//! Defends against two things. A 2-core node would otherwise decode and
//! compute in turn, never both; here the decoder runs at most
//! [`AHEAD`] batches ahead. And host work done for a guest must be paid
//! for by that guest's run: every batch reports, through [`FeedMeter`],
//! the rows and bytes decoded, encoded and hashed for it and the host
//! memory its scan holds. The report is made on the run's own thread, in
//! batch order, when the guest takes the batch, so it is the same on every
//! replay whatever the threads' timing; held memory is counted
//! deterministically as the batch handed out, the dictionaries, and
//! [`AHEAD`] times the largest batch so far (what the queue may hold).

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Instant;

use arrow_array::ArrayRef;

use super::Dataset;
use super::encode::{BatchEncoder, FedBatch};
use super::read::{RecordBatches, ScanColumn};
use crate::error::DataError;
use crate::outcome::Abort;

/// Batches the decoder may have ready beyond the one the guest holds.
pub const AHEAD: usize = 2;

/// What one batch cost the host, reported to the run's meter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchWork {
    /// Rows in the batch.
    pub rows: u64,
    /// Bytes of the decoded Arrow columns (buffers, as normalised).
    pub decoded_bytes: u64,
    /// Bytes of the batch as the guest receives it.
    pub encoded_bytes: u64,
    /// Bytes of strings the host dictionary-encoded for it.
    pub hashed_bytes: u64,
    /// Host memory this scan holds now: this batch, its dictionaries and
    /// the decode-ahead reservation.
    pub held_bytes: u64,
}

/// The run's meter, as the feed sees it. The engine's meter implements
/// it to charge host work as fuel and count held memory against the
/// run's memory cap; [`NoMeter`] charges nothing.
pub trait FeedMeter {
    /// Charges one batch of scan `scan`; an error stops the run with that
    /// reason (fuel or memory exhausted).
    fn batch(&mut self, scan: u32, work: &BatchWork) -> Result<(), Abort>;
    /// Scan `scan` ended or was dropped: it holds nothing any more.
    fn closed(&mut self, scan: u32);
    /// When waiting for the decoder must give up (the run's deadline).
    fn deadline(&self) -> Option<Instant> {
        None
    }
}

/// A meter that charges nothing (tools and tests).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoMeter;

impl FeedMeter for NoMeter {
    fn batch(&mut self, _: u32, _: &BatchWork) -> Result<(), Abort> {
        Ok(())
    }
    fn closed(&mut self, _: u32) {}
}

/// The default meter of a run: charges no fuel, but stops the run when
/// the memory its scans hold passes the run's memory cap, and gives up
/// waiting for a decoder at the run's deadline. (The engine's full meter,
/// which also counts guest memory and charges fuel, replaces it.)
#[derive(Debug)]
pub struct CappedMeter {
    cap: u64,
    deadline: Instant,
    held: std::collections::HashMap<u32, u64>,
    /// Everything charged so far, summed over batches.
    pub total: BatchWork,
}

impl CappedMeter {
    /// A meter for a run with memory cap `cap` bytes ending at `deadline`.
    pub fn new(cap: u64, deadline: Instant) -> Self {
        Self {
            cap,
            deadline,
            held: Default::default(),
            total: BatchWork::default(),
        }
    }

    /// Host memory the run's scans hold now.
    pub fn held(&self) -> u64 {
        self.held.values().sum()
    }
}

impl FeedMeter for CappedMeter {
    fn batch(&mut self, scan: u32, work: &BatchWork) -> Result<(), Abort> {
        self.held.insert(scan, work.held_bytes);
        self.total.rows += work.rows;
        self.total.decoded_bytes += work.decoded_bytes;
        self.total.encoded_bytes += work.encoded_bytes;
        self.total.hashed_bytes += work.hashed_bytes;
        self.total.held_bytes = self.total.held_bytes.max(self.held());
        if self.held() > self.cap {
            return Err(Abort::Memory {
                limit_bytes: self.cap,
            });
        }
        Ok(())
    }

    fn closed(&mut self, scan: u32) {
        self.held.remove(&scan);
    }

    fn deadline(&self) -> Option<Instant> {
        Some(self.deadline)
    }
}

/// Why a feed stopped before its end.
#[derive(Debug)]
pub enum FeedStop {
    /// The data could not be read (or changed while read).
    Data(DataError),
    /// The meter stopped the run.
    Meter(Abort),
    /// The run's deadline passed while waiting for the decoder.
    Deadline,
}

/// One batch as the decoder hands it over.
pub struct Produced {
    /// The batch for the guest.
    pub fed: FedBatch,
    /// The arrays of the columns the caller asked to observe.
    pub observed: Vec<ArrayRef>,
    /// What it cost.
    pub work: BatchWork,
}

type Message = Result<(FedBatch, Vec<ArrayRef>, u64, u64), DataError>;

/// A scan being decoded ahead.
pub struct Feed {
    scan: u32,
    rx: Option<Receiver<Message>>,
    largest: u64,
}

impl Feed {
    /// Starts scan `scan` of `columns` of `dataset` (names in `names`, in
    /// order) in batches of `batch_rows`, keeping the arrays of the columns
    /// at positions `observe` for the caller.
    pub fn start(
        scan: u32,
        dataset: &Dataset,
        columns: Vec<ScanColumn>,
        names: Vec<String>,
        batch_rows: usize,
        observe: Vec<usize>,
    ) -> Result<Self, DataError> {
        let reader = dataset.scan(&columns, batch_rows)?;
        let flags = columns.iter().map(|c| c.dictionary).collect();
        let encoder = BatchEncoder::with_dictionaries(names, flags);
        let name = dataset.name.clone();
        let (tx, rx) = sync_channel(AHEAD);
        std::thread::Builder::new()
            .name(format!("sluice-feed-{scan}"))
            .spawn(move || decode(reader, encoder, observe, name, tx))
            .map_err(|e| DataError::Decode {
                dataset: dataset.name.clone(),
                message: format!("cannot start the decoding thread: {e}"),
            })?;
        Ok(Self {
            scan,
            rx: Some(rx),
            largest: 0,
        })
    }

    /// The next batch, `None` at the end; charges it to `meter` first.
    pub fn next(&mut self, meter: &mut dyn FeedMeter) -> Result<Option<Produced>, FeedStop> {
        let Some(rx) = &self.rx else {
            return Ok(None);
        };
        let message = match meter.deadline() {
            None => rx.recv().ok(),
            Some(deadline) => {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Disconnected) => None,
                    Err(RecvTimeoutError::Timeout) => return Err(FeedStop::Deadline),
                }
            }
        };
        let Some(message) = message else {
            self.finish(meter);
            return Ok(None);
        };
        let (fed, observed, decoded_bytes, dictionary_bytes) = match message {
            Ok(m) => m,
            Err(e) => {
                self.finish(meter);
                return Err(FeedStop::Data(e));
            }
        };
        self.largest = self.largest.max(fed.bytes);
        let work = BatchWork {
            rows: u64::from(fed.batch.rows),
            decoded_bytes,
            encoded_bytes: fed.bytes,
            hashed_bytes: fed.hashed_bytes,
            held_bytes: fed.bytes + dictionary_bytes + AHEAD as u64 * self.largest,
        };
        meter.batch(self.scan, &work).map_err(FeedStop::Meter)?;
        Ok(Some(Produced {
            fed,
            observed,
            work,
        }))
    }

    fn finish(&mut self, meter: &mut dyn FeedMeter) {
        if self.rx.take().is_some() {
            meter.closed(self.scan);
        }
    }

    /// Ends the scan early (the guest dropped it): the decoder stops after
    /// its current batch.
    pub fn close(mut self, meter: &mut dyn FeedMeter) {
        self.finish(meter);
    }
}

/// The decoding thread: read, encode, send, until the end, an error, or
/// the receiver is gone.
fn decode(
    reader: RecordBatches,
    mut encoder: BatchEncoder,
    observe: Vec<usize>,
    dataset: String,
    tx: SyncSender<Message>,
) {
    for batch in reader {
        let message = batch.and_then(|batch| {
            let decoded: u64 = batch
                .columns()
                .iter()
                .map(|a| {
                    a.to_data()
                        .buffers()
                        .iter()
                        .map(|b| b.len() as u64)
                        .sum::<u64>()
                })
                .sum();
            let observed = observe.iter().map(|&i| batch.column(i).clone()).collect();
            encoder
                .encode(&batch)
                .map(|fed| (fed, observed, decoded, encoder.held_bytes()))
                .map_err(|message| DataError::Decode {
                    dataset: dataset.clone(),
                    message,
                })
        });
        let failed = message.is_err();
        if tx.send(message).is_err() || failed {
            return;
        }
    }
}
