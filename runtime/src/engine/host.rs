//! The host side of the guest's imports: the per-run state a guest's calls
//! reach, and the `data` and `aggregates` interfaces over it.
//!
//! Every request is checked against the run's grants (dataset + policy), so
//! only `raw` columns are scanned, only host aggregates touch `aggregate`
//! columns, and `none` columns are never found. Open scans are capped so a
//! guest cannot pin unbounded host memory. Every refusal is remembered with
//! its public text, so that a guest returning it cannot smuggle text it
//! chose into the buyer's reason (see [`crate::refusal`]).

use std::collections::HashMap;

use sluice_host_api::aggregates::{self, AggregateResult, Query};
use sluice_host_api::data::{self, Batch, Scanner};
use sluice_host_api::types::{self, DatasetInfo, Error};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::limits::MemoryCap;
use crate::aggregate::{self, Asker};
use crate::data::ColumnType;
use crate::data::{BatchEncoder, RecordBatches};
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
    reader: RecordBatches,
    encoder: BatchEncoder,
    /// Columns whose values the raw-values release rule must remember.
    guarded: Vec<String>,
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
    /// Key id of the signer each grant's state belongs to, in grant order.
    signers: Vec<String>,
    /// Budget, difference checks, noise and their audit trail.
    pub privacy: RunPrivacy,
    /// Raw string values fed from columns the release rules guard.
    pub guard: RawValueGuard,
    /// Errors the host itself returned to the guest, so that a guest error
    /// can be told apart from one the host authored (see [`Self::authored`]).
    issued: Vec<Refusal>,
}

fn unknown_dataset(dataset: &str) -> Refusal {
    Refusal::not_found(format!("no dataset `{dataset}` was given to this run"))
        .public("the module asked for a dataset that was not given to this run")
}

/// Most host-issued errors remembered per run.
const MAX_ISSUED: usize = 64;

impl HostState {
    /// State for a run over `grants` under `limits`.
    pub fn new(wasi: WasiCtx, grants: Vec<Grant>, tiers: Vec<Tier>, limits: Limits) -> Self {
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
            signers: Vec::new(),
            privacy: RunPrivacy::live(None, None),
            guard: RawValueGuard::default(),
            issued: Vec::new(),
        }
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

    fn open_scan(
        &mut self,
        dataset: &str,
        columns: Vec<String>,
        batch_rows: u32,
    ) -> Result<u32, Refusal> {
        if columns.is_empty() {
            return Err(Refusal::invalid("a scan needs at least one column"));
        }
        if self.scans.len() >= MAX_OPEN_SCANS {
            return Err(Refusal::limit_reached(format!(
                "at most {MAX_OPEN_SCANS} scans may be open at once; drop finished scans"
            )));
        }
        let (grant, tier) = self.grant(dataset)?;
        if tier != Tier::Approved {
            return Err(Refusal::not_permitted(format!(
                "this module is not approved for dataset `{dataset}`: a trusted-signer module sees no raw values; use host aggregates"
            )));
        }
        let mut projection = Vec::with_capacity(columns.len());
        let mut guarded = Vec::new();
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].contains(c) {
                return Err(Refusal::invalid(format!("column `{c}` is requested twice"))
                    .public("a scan asked for the same column twice"));
            }
            let column = grant.raw_column(c)?;
            projection.push(column.index);
            if !grant.policy.raw_values_in_output
                && !column.rule.group_key
                && column.column_type == ColumnType::Utf8
            {
                guarded.push(c.clone());
            }
        }
        projection.sort_unstable();
        let rows = match batch_rows {
            0 => self.limits.batch_rows,
            n => n.min(self.limits.batch_rows),
        };
        let reader = grant
            .dataset
            .read(&projection, rows as usize)
            .map_err(Refusal::from)?;
        let id = self.next_scan;
        self.next_scan += 1;
        self.scans.insert(
            id,
            ActiveScan {
                reader,
                encoder: BatchEncoder::new(columns),
                guarded,
            },
        );
        Ok(id)
    }

    fn next_batch(&mut self, id: u32) -> wasmtime::Result<Result<Option<Batch>, Refusal>> {
        let Some(scan) = self.scans.get_mut(&id) else {
            return Err(wasmtime::format_err!("scanner {id} is not open"));
        };
        let Some(batch) = scan.reader.next() else {
            return Ok(Ok(None));
        };
        let batch = match batch {
            Ok(b) => b,
            // Data errors name the row, column and type, never a value.
            Err(e) => return Ok(Err(Refusal::from(e))),
        };
        for name in &scan.guarded {
            if let Some(array) = batch.column_by_name(name) {
                self.guard.observe(array);
            }
        }
        let fed = scan
            .encoder
            .encode(&batch)
            .map_err(|e| wasmtime::format_err!("{e}"))?;
        self.counters.rows_fed += u64::from(fed.batch.rows);
        self.counters.bytes_fed += fed.bytes;
        Ok(Ok(Some(fed.batch)))
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

    fn scan(
        &mut self,
        dataset: String,
        columns: Vec<String>,
        batch_rows: u32,
    ) -> wasmtime::Result<Result<Resource<Scanner>, Error>> {
        let opened = self.open_scan(&dataset, columns, batch_rows);
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
        );
        self.counters.epsilon_spent = self.privacy.epsilon_spent;
        Ok(computed.map(|c| {
            self.counters.aggregate_queries += 1;
            self.counters.groups_suppressed += c.result.suppressed_groups;
            c.result
        }))
    }
}
