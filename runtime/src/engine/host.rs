//! The host side of the guest's imports: the per-run state a guest's calls
//! reach, and the `data` and `aggregates` interfaces over it.
//!
//! Every request is checked against the run's grants (dataset + policy), so
//! only `raw` columns are scanned, only host aggregates touch `aggregate`
//! columns, and `none` columns are never found. Open scans are capped so a
//! guest cannot pin unbounded host memory. Every refusal is remembered with
//! its public text, so that a guest returning it cannot smuggle text it
//! chose into the buyer's reason (see [`crate::refusal`]).
//!
//! Every call is metered ([`Meter`]): the work a scan or an aggregate does
//! is charged as fuel by the schedule in [`super::schedule`] as it happens,
//! long work checks the run's deadline, and the host memory held for the
//! guest (open readers, scan dictionaries, batches being handed over,
//! aggregate state, remembered raw values) is reserved against the run's
//! memory cap before or as it is allocated.
//!
//! Scans are decoded ahead on a thread of their own ([`crate::data::feed`]).
//! All metering stays on the run's thread, in batch order, so it is the
//! same on every replay: a batch is charged (fuel and memory) when it is
//! handed to the guest, and what the decoder may hold ahead is bounded by
//! a budget reserved here, against the same memory cap.

use std::collections::HashMap;
use std::sync::Arc;

use sluice_host_api::aggregates::{self, AggregateResult, Query};
use sluice_host_api::data::{self, Batch, ScanRequest, Scanner};
use sluice_host_api::types::{self, DatasetInfo, Error};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::clock::{VirtualClock, VirtualIo};
use super::limits::{MAX_HOST_RESOURCES, MemoryCap};
use super::memory::{MemoryAccount, Reservation};
use super::meter::{HostAbort, Meter};
use super::schedule;
use crate::aggregate::{self, Asker};
use crate::data::feed::{self, SLOTS};
use crate::data::{ColumnType, Feed, FeedStop, ScanColumn};
use crate::error::DataError;
use crate::grant::Grant;
use crate::grant::Tier;
use crate::guard::RawValueGuard;
use crate::policy::Limits;
use crate::privacy::RunPrivacy;
use crate::refusal::Refusal;

/// Most scans a guest may hold open at once.
const MAX_OPEN_SCANS: usize = 64;
/// Most host aggregate queries one run may make.
pub const MAX_AGGREGATE_QUERIES: u64 = 1_000;

/// Figures the host counts while serving the guest.
#[derive(Debug, Default, Clone)]
pub struct FeedCounters {
    /// Rows sent in scan batches.
    pub rows_fed: u64,
    /// Bytes sent in scan batches.
    pub bytes_fed: u64,
    /// Aggregate queries answered.
    pub aggregate_queries: u64,
    /// Groups suppressed across those queries.
    pub groups_suppressed: u64,
    /// Privacy loss charged to the buyer's budget.
    pub epsilon_spent: f64,
}

struct ActiveScan {
    /// The scan, decoded ahead on its own thread.
    feed: Feed,
    /// Host memory held while the scan is open (reader, dictionaries).
    held: Reservation,
    /// The decode-ahead budget: what the decoder may hold in batches it
    /// decoded before the guest asked for them.
    ahead: Reservation,
}

/// Host memory an open reader holds besides its batches (file buffers,
/// Parquet metadata and page buffers): reserved for every open scan.
const OPEN_READER_BYTES: u64 = 1 << 20;

/// The store data of one run.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The memory cap, consulted by wasmtime on every growth.
    pub cap: MemoryCap,
    /// Fuel, deadline and host memory of the run.
    pub meter: Meter,
    /// The guest's virtual monotonic clock.
    pub clock: VirtualClock,
    grants: Vec<Grant>,
    tiers: Vec<Tier>,
    limits: Limits,
    scans: HashMap<u32, ActiveScan>,
    next_scan: u32,
    /// What was fed to the guest.
    pub counters: FeedCounters,
    /// Key id of the signer each grant's state belongs to, in grant order.
    signers: Vec<String>,
    /// Budget, difference checks, noise and their audit trail.
    pub privacy: RunPrivacy,
    /// Raw string values fed from columns the release rules guard.
    pub guard: RawValueGuard,
    /// Errors the host itself returned to the guest, so that a guest error
    /// can be told apart from one the host authored (see [`Self::authored`]).
    issued: Vec<Refusal>,
    /// A dataset a file of which changed while a scan read it: the run
    /// was stopped (what it read may mix versions).
    pub changed: Option<String>,
}

fn unknown_dataset(dataset: &str) -> Refusal {
    Refusal::not_found(format!("no dataset `{dataset}` was given to this run"))
        .public("the module asked for a dataset that was not given to this run")
}

/// Most host-issued errors remembered per run.
const MAX_ISSUED: usize = 64;

impl HostState {
    /// State for a run over `grants` under `limits`, metered by `meter`.
    pub fn new(
        wasi: WasiCtx,
        grants: Vec<Grant>,
        tiers: Vec<Tier>,
        limits: Limits,
        meter: Meter,
    ) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        Self {
            wasi,
            table,
            cap: MemoryCap::new(meter.memory().clone()),
            meter,
            clock: VirtualClock::new(limits.wall_ms.saturating_mul(1_000_000)),
            grants,
            tiers,
            limits,
            scans: HashMap::new(),
            next_scan: 1,
            counters: FeedCounters::default(),
            signers: Vec::new(),
            privacy: RunPrivacy::live(None, None),
            guard: RawValueGuard::default(),
            issued: Vec::new(),
            changed: None,
        }
    }

    /// The datasets of this run with their policies.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// The virtual clock, its resources and the meter, for WASI's clock and poll.
    pub(crate) fn virtual_io(&mut self) -> VirtualIo<'_> {
        self.meter.mark_import();
        VirtualIo {
            clock: &mut self.clock,
            table: &mut self.table,
            meter: &mut self.meter,
        }
    }

    /// The WASI context, the resource table and the meter, for the metered
    /// WASI interfaces.
    pub(crate) fn lookup_parts(&mut self) -> (&mut WasiCtx, &mut ResourceTable, &mut Meter) {
        self.meter.mark_import();
        (&mut self.wasi, &mut self.table, &mut self.meter)
    }

    /// Remembers a refusal the host is about to hand the guest.
    fn issue<T>(&mut self, result: Result<T, Refusal>) -> Result<T, Error> {
        result.map_err(|refusal| {
            let wit = refusal.to_wit();
            if self.issued.len() < MAX_ISSUED && !self.issued.contains(&refusal) {
                self.issued.push(refusal);
            }
            wit
        })
    }

    /// The public text of `error` if it is exactly one the host returned to
    /// the guest; `None` when the guest wrote it (its text must not reach
    /// the buyer).
    pub fn authored(&self, error: &Error) -> Option<&str> {
        self.issued
            .iter()
            .find(|r| r.is(error))
            .map(|r| r.public.as_str())
    }

    /// Charges and checks host aggregates through `privacy`, each dataset's
    /// state belonging to the signer at its index in `signers`.
    pub fn with_privacy(mut self, signers: Vec<String>, privacy: RunPrivacy) -> Self {
        self.signers = signers;
        self.privacy = privacy;
        self
    }

    fn grant(&self, dataset: &str) -> Result<(&Grant, Tier), Refusal> {
        self.grants
            .iter()
            .zip(&self.tiers)
            .find(|(g, _)| g.name() == dataset)
            .map(|(g, t)| (g, *t))
            .ok_or_else(|| unknown_dataset(dataset))
    }

    fn open_scan(&mut self, request: ScanRequest) -> Result<u32, Refusal> {
        let ScanRequest {
            dataset,
            columns,
            dictionary,
            batch_rows,
        } = request;
        let names: u64 = columns
            .iter()
            .chain(&dictionary)
            .map(|c| c.len() as u64 + 8)
            .sum();
        self.meter
            .charge(schedule::OPEN_READER + schedule::bytes(names + dataset.len() as u64))?;
        if columns.is_empty() {
            return Err(Refusal::invalid("a scan needs at least one column"));
        }
        if self.scans.len() >= MAX_OPEN_SCANS {
            return Err(Refusal::limit_reached(format!(
                "at most {MAX_OPEN_SCANS} scans may be open at once; drop finished scans"
            )));
        }
        let (grant, tier) = self.grant(&dataset)?;
        if tier != Tier::Approved {
            return Err(Refusal::not_permitted(format!(
                "this module is not approved for dataset `{dataset}`: a trusted-signer module sees no raw values; use host aggregates"
            )));
        }
        if let Some(d) = dictionary.iter().find(|d| !columns.contains(d)) {
            return Err(Refusal::invalid(format!(
                "column `{d}` is asked for as a dictionary but is not among the scan's columns"
            ))
            .public("a scan asked for a dictionary column that is not among its columns"));
        }
        let mut scan_columns = Vec::with_capacity(columns.len());
        let mut observe = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(Refusal::invalid(format!("column `{c}` is requested twice"))
                    .public("a scan asked for the same column twice"));
            }
            let column = grant.raw_column(c)?;
            let as_dictionary = dictionary.contains(c);
            if as_dictionary && column.column_type != ColumnType::Utf8 {
                return Err(Refusal::invalid(format!(
                    "column `{c}` is {}, not a string column: only string columns come as dictionaries",
                    column.column_type
                )));
            }
            scan_columns.push(ScanColumn {
                index: column.index,
                dictionary: as_dictionary,
            });
            if !grant.policy.raw_values_in_output
                && !column.rule.group_key
                && column.column_type == ColumnType::Utf8
            {
                observe.push(i);
            }
        }
        let rows = match batch_rows {
            0 => self.limits.batch_rows,
            n => n.min(self.limits.batch_rows),
        } as usize;
        let estimate = feed::estimate(&grant.dataset, &scan_columns, rows);
        let feed = Feed::start(&grant.dataset, scan_columns, columns, rows, observe, 0)
            .map_err(Refusal::from)?;
        let held = self.meter.reserve_or_abort(OPEN_READER_BYTES)?;
        let ahead = ahead_budget(self.meter.memory(), estimate);
        feed.set_budget(ahead.bytes());
        let id = self.next_scan;
        self.next_scan += 1;
        self.scans.insert(id, ActiveScan { feed, held, ahead });
        Ok(id)
    }

    fn next_batch(&mut self, id: u32) -> wasmtime::Result<Result<Option<Batch>, Refusal>> {
        let Some(scan) = self.scans.get_mut(&id) else {
            return Err(wasmtime::format_err!("scanner {id} is not open"));
        };
        self.meter.charge(schedule::SCAN_BATCH)?;
        let produced = match scan.feed.next(self.meter.deadline()) {
            Ok(Some(p)) => p,
            Ok(None) => {
                let all = scan.ahead.bytes();
                scan.ahead.shrink(all);
                return Ok(Ok(None));
            }
            Err(FeedStop::Deadline) => {
                return Err(wasmtime::Error::new(self.meter.trip(HostAbort::WallClock)));
            }
            Err(FeedStop::Data(DataError::Changed { dataset, file })) => {
                tracing::warn!(dataset, file, "a dataset file changed during the run");
                self.changed = Some(dataset);
                return Err(wasmtime::format_err!(
                    "a dataset file changed during the run"
                ));
            }
            // Data errors name the file, row, column and type, never a value.
            Err(FeedStop::Data(e)) => return Ok(Err(Refusal::from(e))),
        };
        let fed = &produced.fed;
        let cells = u64::from(fed.batch.rows) * fed.batch.columns.len() as u64;
        self.meter.charge(
            cells * schedule::SCAN_VALUE
                + fed.dictionary_entries * schedule::DICTIONARY_ENTRY
                + schedule::bytes(fed.bytes),
        )?;
        scan.held
            .grow(fed.dictionary_bytes)
            .map_err(|a| self.meter.trip(a))?;
        let observed = produced
            .observed
            .iter()
            .map(|a| a.get_array_memory_size() as u64)
            .sum();
        let observed = self.meter.reserve_or_abort(observed)?;
        let remembered = self.guard.held_bytes();
        for array in &produced.observed {
            self.guard.observe(array);
        }
        let grown = self.guard.held_bytes() - remembered;
        self.meter
            .memory()
            .reserve_raw(grown)
            .map_err(|a| self.meter.trip(a))?;
        drop(observed);
        // The encoded batch is held until it has been copied into the guest.
        let handed_over = self.meter.reserve_or_abort(fed.bytes)?;
        self.meter.hold_until_return(handed_over);
        // Room for the decoder to keep `SLOTS` batches as large as this
        // one, if the run's memory allows (decided here, in batch order).
        let wanted = SLOTS.saturating_mul(produced.bytes);
        if wanted > scan.ahead.bytes() && scan.ahead.grow(wanted - scan.ahead.bytes()).is_ok() {
            scan.feed.set_budget(scan.ahead.bytes());
        }
        self.counters.rows_fed += u64::from(produced.fed.batch.rows);
        self.counters.bytes_fed += produced.fed.bytes;
        Ok(Ok(Some(produced.fed.batch)))
    }
}

/// The first decode-ahead budget of a scan whose batches are expected to
/// hold `estimate` bytes: room for [`SLOTS`] of them, else for one, else
/// none (the decoder then reads only when the guest asks), as the run's
/// memory allows. Never aborts: decoding ahead is an optimisation.
fn ahead_budget(memory: &Arc<MemoryAccount>, estimate: u64) -> Reservation {
    [SLOTS.saturating_mul(estimate), estimate]
        .into_iter()
        .find_map(|bytes| memory.reserve(bytes).ok())
        .unwrap_or_else(|| Reservation::empty(memory))
}

/// Every WASI import reaches the host state through here, which is how the
/// meter knows an import (not a libcall) is running.
impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.meter.mark_import();
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl data::Host for HostState {
    fn datasets(&mut self) -> wasmtime::Result<Vec<DatasetInfo>> {
        Ok(self
            .grants
            .iter()
            .zip(&self.tiers)
            .map(|(g, t)| g.info(*t))
            .collect())
    }

    fn scan(&mut self, request: ScanRequest) -> wasmtime::Result<Result<Resource<Scanner>, Error>> {
        let opened = self.open_scan(request);
        Ok(self.issue(opened).map(Resource::new_own))
    }
}

impl data::HostScanner for HostState {
    fn next(
        &mut self,
        scanner: Resource<Scanner>,
    ) -> wasmtime::Result<Result<Option<Batch>, Error>> {
        let batch = self.next_batch(scanner.rep())?;
        Ok(self.issue(batch))
    }

    fn drop(&mut self, scanner: Resource<Scanner>) -> wasmtime::Result<()> {
        self.scans.remove(&scanner.rep());
        Ok(())
    }
}

impl aggregates::Host for HostState {
    fn aggregate(&mut self, query: Query) -> wasmtime::Result<Result<AggregateResult, Error>> {
        let result = self.answer(query)?;
        Ok(self.issue(result))
    }
}

impl HostState {
    fn answer(&mut self, query: Query) -> wasmtime::Result<Result<AggregateResult, Refusal>> {
        let asked = query.functions.len() as u64 * 16
            + query
                .group_by
                .iter()
                .map(|k| k.column.len() as u64 + 16)
                .sum::<u64>()
            + query.dataset.len() as u64
            + query.column.as_ref().map_or(0, |c| c.len() as u64);
        self.meter.charge(schedule::bytes(asked))?;
        if self.counters.aggregate_queries >= MAX_AGGREGATE_QUERIES {
            return Ok(Err(Refusal::limit_reached(format!(
                "this run already made {MAX_AGGREGATE_QUERIES} aggregate queries"
            ))));
        }
        let Some(index) = self.grants.iter().position(|g| g.name() == query.dataset) else {
            return Ok(Err(unknown_dataset(&query.dataset)));
        };
        let asker = Asker {
            tier: self.tiers[index],
            signer: self.signers.get(index).map_or("", String::as_str),
        };
        let computed = aggregate::run(
            &self.grants[index],
            asker,
            &query,
            self.limits.batch_rows as usize,
            &mut self.privacy,
            &mut self.meter,
        );
        self.counters.epsilon_spent = self.privacy.epsilon_spent;
        if let Some(a) = self.meter.tripped() {
            return Err(wasmtime::Error::new(a));
        }
        Ok(computed.map(|c| {
            self.counters.aggregate_queries += 1;
            self.counters.groups_suppressed += c.result.suppressed_groups;
            self.meter.hold_until_return(c.held);
            c.result
        }))
    }
}
