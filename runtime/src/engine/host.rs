//! The host side of the guest's imports: the per-run state a guest's calls
//! reach, and the `data` and `aggregates` interfaces over it.
//!
//! Every request is checked against the run's grants (dataset + policy), so
//! only `raw` columns are scanned, only host aggregates touch `aggregate`
//! columns, and `none` columns are never found. Open scans are capped so a
//! guest cannot pin unbounded host memory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sluice_host_api::aggregates::{self, AggregateResult, Query};
use sluice_host_api::data::{self, Batch, ScanRequest, Scanner};
use sluice_host_api::types::{self, DatasetInfo, Error};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::MemoryCap;
use crate::aggregate;
use crate::data::feed::CappedMeter;
use crate::data::{ColumnType, Feed, FeedMeter, FeedStop, ScanColumn};
use crate::grant::Grant;
use crate::grant::Tier;
use crate::guard::RawValueGuard;
use crate::outcome::{Abort, GuestErrorKind};
use crate::policy::Limits;
use crate::privacy::{BudgetStore, NoisyValue};
use crate::run::{error_kind, message};

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
    /// Noise drawn for differentially private answers: the private audit record.
    pub noise: Vec<NoisyValue>,
}

struct ActiveScan {
    /// The scan, decoded ahead on its own thread.
    feed: Feed,
}

/// The store data of one run.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The memory cap, consulted by wasmtime on every growth.
    pub cap: MemoryCap,
    grants: Vec<Grant>,
    tiers: Vec<Tier>,
    limits: Limits,
    scans: HashMap<u32, ActiveScan>,
    next_scan: u32,
    /// What was fed to the guest.
    pub counters: FeedCounters,
    buyer: String,
    budget: Option<Arc<BudgetStore>>,
    /// Raw string values fed from columns the release rules guard.
    pub guard: RawValueGuard,
    /// Errors the host itself returned to the guest, so that a guest error
    /// can be told apart from one the host authored (see [`Self::authored`]).
    issued: Vec<(GuestErrorKind, String)>,
    /// Charges the host work of scans and counts the memory they hold.
    feed_meter: Box<dyn FeedMeter + Send>,
    /// Why the host stopped the run from a host call (data changed, a
    /// scan's cost exhausted the run); takes precedence over the trap.
    pub stopped: Option<Abort>,
}

/// Most host-issued errors remembered per run.
const MAX_ISSUED: usize = 64;

impl HostState {
    /// State for a run over `grants` under `limits`.
    pub fn new(wasi: WasiCtx, grants: Vec<Grant>, tiers: Vec<Tier>, limits: Limits) -> Self {
        let feed_meter = Box::new(CappedMeter::new(
            limits.memory_bytes,
            std::time::Instant::now() + Duration::from_millis(limits.wall_ms),
        ));
        Self {
            wasi,
            table: ResourceTable::new(),
            cap: MemoryCap::new(limits.memory_bytes),
            grants,
            tiers,
            limits,
            scans: HashMap::new(),
            next_scan: 1,
            counters: FeedCounters::default(),
            buyer: String::new(),
            budget: None,
            guard: RawValueGuard::default(),
            issued: Vec::new(),
            feed_meter,
            stopped: None,
        }
    }

    /// Charges scans' host work to `meter` instead of the default (which
    /// only caps the memory scans hold at the run's memory limit).
    pub fn with_feed_meter(mut self, meter: Box<dyn FeedMeter + Send>) -> Self {
        self.feed_meter = meter;
        self
    }

    /// Remembers an error the host is about to hand the guest.
    fn issue<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if let Err(e) = &result {
            let issued = (error_kind(e), message(e).to_string());
            if self.issued.len() < MAX_ISSUED && !self.issued.contains(&issued) {
                self.issued.push(issued);
            }
        }
        result
    }

    /// Whether `error` is exactly one the host returned to the guest: only
    /// then may its text reach the buyer.
    pub fn authored(&self, error: &Error) -> bool {
        self.issued
            .iter()
            .any(|(k, m)| *k == error_kind(error) && m == message(error))
    }

    /// The datasets of this run with their policies.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }

    /// Charges differentially private aggregates to `buyer` in `budget`.
    pub fn with_privacy(mut self, buyer: String, budget: Option<Arc<BudgetStore>>) -> Self {
        self.buyer = buyer;
        self.budget = budget;
        self
    }

    fn grant(&self, dataset: &str) -> Result<(&Grant, Tier), Error> {
        self.grants
            .iter()
            .zip(&self.tiers)
            .find(|(g, _)| g.name() == dataset)
            .map(|(g, t)| (g, *t))
            .ok_or_else(|| Error::NotFound(format!("no dataset `{dataset}` was given to this run")))
    }

    fn open_scan(&mut self, request: ScanRequest) -> Result<u32, Error> {
        let ScanRequest {
            dataset,
            columns,
            dictionary,
            batch_rows,
        } = request;
        if columns.is_empty() {
            return Err(Error::Invalid("a scan needs at least one column".into()));
        }
        if self.scans.len() >= MAX_OPEN_SCANS {
            return Err(Error::LimitReached(format!(
                "at most {MAX_OPEN_SCANS} scans may be open at once; drop finished scans"
            )));
        }
        let (grant, tier) = self.grant(&dataset)?;
        if tier != Tier::Approved {
            return Err(Error::NotPermitted(format!(
                "this module is not approved for dataset `{dataset}`: a trusted-signer module sees no raw values; use host aggregates"
            )));
        }
        if let Some(d) = dictionary.iter().find(|d| !columns.contains(d)) {
            return Err(Error::Invalid(format!(
                "column `{d}` is asked for as a dictionary but is not among the scan's columns"
            )));
        }
        let mut scan_columns = Vec::with_capacity(columns.len());
        let mut observe = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(Error::Invalid(format!("column `{c}` is requested twice")));
            }
            let column = grant.raw_column(c)?;
            let as_dictionary = dictionary.contains(c);
            if as_dictionary && column.column_type != ColumnType::Utf8 {
                return Err(Error::Invalid(format!(
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
        };
        let id = self.next_scan;
        let feed = Feed::start(
            id,
            &grant.dataset,
            scan_columns,
            columns,
            rows as usize,
            observe,
        )
        .map_err(|e| Error::Invalid(e.for_guest()))?;
        self.next_scan += 1;
        self.scans.insert(id, ActiveScan { feed });
        Ok(id)
    }

    fn next_batch(&mut self, id: u32) -> wasmtime::Result<Result<Option<Batch>, Error>> {
        let Some(scan) = self.scans.get_mut(&id) else {
            return Err(wasmtime::format_err!("scanner {id} is not open"));
        };
        let produced = match scan.feed.next(self.feed_meter.as_mut()) {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(Ok(None)),
            Err(stop) => return self.stop(stop),
        };
        for array in &produced.observed {
            self.guard.observe(array);
        }
        self.counters.rows_fed += u64::from(produced.fed.batch.rows);
        self.counters.bytes_fed += produced.fed.bytes;
        Ok(Ok(Some(produced.fed.batch)))
    }

    /// Ends the run from a host call: a changed file or an exhausted
    /// limit stops it (with that reason); an unreadable file is an error
    /// the guest may handle.
    fn stop(&mut self, stop: FeedStop) -> wasmtime::Result<Result<Option<Batch>, Error>> {
        let abort = match stop {
            FeedStop::Data(crate::DataError::Changed { dataset, .. }) => {
                Abort::DataChanged { dataset }
            }
            FeedStop::Data(e) => return Ok(Err(Error::Invalid(e.for_guest()))),
            FeedStop::Meter(abort) => abort,
            FeedStop::Deadline => Abort::WallClock {
                limit_ms: self.limits.wall_ms,
            },
        };
        self.stopped = Some(abort);
        Err(wasmtime::format_err!("the host stopped the run"))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
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
        if let Some(scan) = self.scans.remove(&scanner.rep()) {
            scan.feed.close(self.feed_meter.as_mut());
        }
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
    fn answer(&mut self, query: Query) -> wasmtime::Result<Result<AggregateResult, Error>> {
        if self.counters.aggregate_queries >= MAX_AGGREGATE_QUERIES {
            return Ok(Err(Error::LimitReached(format!(
                "this run already made {MAX_AGGREGATE_QUERIES} aggregate queries"
            ))));
        }
        let grant = match self.grant(&query.dataset) {
            Ok((g, _)) => g,
            Err(e) => return Ok(Err(e)),
        };
        let privacy = grant.policy.privacy.clone();
        let mut charged = 0.0;
        let charge = || match (&privacy, &self.budget) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(Error::NotPermitted(format!(
                "dataset `{}` requires differential privacy and this node keeps no privacy budget",
                grant.name()
            ))),
            (Some(dp), Some(store)) => store
                .charge(
                    &self.buyer,
                    grant.name(),
                    dp.epsilon_per_query,
                    dp.budget,
                    dp.refresh_seconds.map(Duration::from_secs),
                    SystemTime::now(),
                )
                .map(|_| charged = dp.epsilon_per_query)
                .map_err(|e| Error::LimitReached(e.to_string())),
        };
        let epsilon = privacy.as_ref().map(|p| p.epsilon_per_query);
        let computed = aggregate::run(
            grant,
            &query,
            self.limits.batch_rows as usize,
            epsilon,
            charge,
        );
        self.counters.epsilon_spent += charged;
        Ok(computed.map(|c| {
            self.counters.aggregate_queries += 1;
            self.counters.groups_suppressed += c.result.suppressed_groups;
            self.counters.noise.extend(c.noise);
            c.result
        }))
    }
}
