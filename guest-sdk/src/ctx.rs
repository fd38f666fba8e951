//! [`Ctx`]: the handle to what the host offers one run.
//!
//! Everything a guest can learn about the data goes through here, and the
//! host only answers within the dataset's policy: [`Ctx::datasets`] lists
//! only the columns this guest may see, [`Ctx::scan`] reaches only `raw`
//! columns, and [`Ctx::aggregate`] is the sole path to `aggregate` columns.

use crate::bindings::sluice::host::data;
use crate::{AggregateBuilder, ScanBuilder};

pub use crate::bindings::sluice::host::types::{Access, ColumnInfo, ColumnType, DatasetInfo};

/// The run's handle to the host. The [`export!`](crate::export) adapter
/// creates one per run and passes it to [`Analytic::run`](crate::Analytic::run).
///
/// ```no_run
/// # use sluice_guest::*;
/// # fn demo(ctx: &mut Ctx) -> Result<()> {
/// for d in ctx.datasets() {
///     println!("{} has {} visible columns", d.name, d.columns.len());
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Ctx {
    _private: (),
}

impl Ctx {
    pub(crate) fn new() -> Self {
        Ctx { _private: () }
    }

    /// The datasets of this run, each with only the columns this guest may
    /// see (columns the policy hides are absent).
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) {
    /// let names: Vec<String> = ctx.datasets().into_iter().map(|d| d.name).collect();
    /// # }
    /// ```
    pub fn datasets(&mut self) -> Vec<DatasetInfo> {
        data::datasets()
    }

    /// The dataset called `name`, if this run has it.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let sales = ctx.dataset("sales").ok_or_else(|| Error::other("no sales"))?;
    /// # Ok(()) }
    /// ```
    pub fn dataset(&mut self, name: &str) -> Option<DatasetInfo> {
        self.datasets().into_iter().find(|d| d.name == name)
    }

    /// Starts building a scan of `raw` columns of `dataset`.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let mut scan = ctx.scan("sales").columns(&["region", "amount"]).batch_rows(65536).open()?;
    /// while let Some(batch) = scan.next_batch()? {
    ///     let amount = batch.f64("amount")?;
    ///     # let _ = amount;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn scan(&mut self, dataset: &str) -> ScanBuilder {
        ScanBuilder::new(dataset)
    }

    /// Starts building a host-computed aggregate query over `dataset`.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let r = ctx.aggregate("patients").column("income").mean().group_by("sex").run()?;
    /// # Ok(()) }
    /// ```
    pub fn aggregate(&mut self, dataset: &str) -> AggregateBuilder {
        AggregateBuilder::new(dataset)
    }
}

impl DatasetInfo {
    /// The visible column called `name`.
    ///
    /// ```
    /// use sluice_guest::*;
    /// let d = DatasetInfo {
    ///     name: "sales".into(),
    ///     columns: vec![ColumnInfo { name: "amount".into(), type_: ColumnType::Float64, access: Access::Raw, group_key: false }],
    /// };
    /// assert_eq!(d.column("amount").map(|c| c.type_.clone()), Some(ColumnType::Float64));
    /// assert!(d.column("diagnosis").is_none());
    /// ```
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Names of the columns this guest may scan (`raw` access).
    ///
    /// ```
    /// use sluice_guest::*;
    /// let d = DatasetInfo {
    ///     name: "patients".into(),
    ///     columns: vec![
    ///         ColumnInfo { name: "age".into(), type_: ColumnType::Int64, access: Access::Raw, group_key: true },
    ///         ColumnInfo { name: "income".into(), type_: ColumnType::Float64, access: Access::Aggregate, group_key: false },
    ///     ],
    /// };
    /// assert_eq!(d.raw_columns().collect::<Vec<_>>(), ["age"]);
    /// ```
    pub fn raw_columns(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|c| c.access == Access::Raw)
            .map(|c| c.name.as_str())
    }
}
