//! Host-computed aggregates: the only way to reach `aggregate` columns.
//!
//! The host computes the query natively, suppresses every group smaller
//! than the policy's minimum group size (counting them in
//! [`AggregateResult::suppressed_groups`]) and may add calibrated noise, so
//! a guest gets statistics over columns it can never read row by row.
//!
//! The policy decides what may be asked: the functions each column allows
//! (count, sum and mean by default; min, max and quantiles only where
//! listed), the bin widths each numeric key allows, and, for exact
//! aggregates, no clamp narrower than the column's bounds. Without
//! differential privacy the host also refuses a group whose rows differ
//! from a group released to the same buyer before by fewer than the
//! minimum group size; refused groups are counted as suppressed.

use crate::bindings::sluice::host::aggregates::{
    self, AggregateFn as WitFn, Bounds, GroupKey, Query,
};
use crate::{Error, Result};

/// An aggregate function applied to the query's column.
///
/// ```
/// use sluice_guest::AggregateFn;
/// assert_ne!(AggregateFn::Quantile(0.5), AggregateFn::Quantile(0.9));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AggregateFn {
    /// Number of non-null values.
    Count,
    /// Sum of the (clamped) values.
    Sum,
    /// Mean of the (clamped) values.
    Mean,
    /// Smallest value.
    Min,
    /// Largest value.
    Max,
    /// The q-quantile, `0 <= q <= 1`.
    Quantile(f64),
}

impl From<AggregateFn> for WitFn {
    fn from(f: AggregateFn) -> Self {
        match f {
            AggregateFn::Count => WitFn::Count,
            AggregateFn::Sum => WitFn::Sum,
            AggregateFn::Mean => WitFn::Mean,
            AggregateFn::Min => WitFn::Min,
            AggregateFn::Max => WitFn::Max,
            AggregateFn::Quantile(q) => WitFn::Quantile(q),
        }
    }
}

/// Describes one aggregate query; made by [`Ctx::aggregate`](crate::Ctx::aggregate).
///
/// ```no_run
/// # use sluice_guest::*;
/// # fn demo(ctx: &mut Ctx) -> Result<()> {
/// let r = ctx.aggregate("patients").column("income").count().mean().quantile(0.5)
///     .group_by("sex").group_by_bins("age", 10.0).clamp(0.0, 500_000.0).run()?;
/// for g in &r.groups {
///     println!("{:?}: {} patients", g.keys, g.count);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until `run` is called"]
pub struct AggregateBuilder {
    dataset: String,
    column: Option<String>,
    functions: Vec<AggregateFn>,
    group_by: Vec<(String, Option<f64>)>,
    clamp: Option<(f64, f64)>,
}

impl AggregateBuilder {
    pub(crate) fn new(dataset: &str) -> Self {
        AggregateBuilder {
            dataset: dataset.to_owned(),
            column: None,
            functions: Vec::new(),
            group_by: Vec::new(),
            clamp: None,
        }
    }

    /// The column the functions apply to (without one, only the group
    /// counts are available).
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").mean(); }
    /// ```
    pub fn column(mut self, name: &str) -> Self {
        self.column = Some(name.to_owned());
        self
    }

    /// Adds an aggregate function; results follow the order of addition.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) { let q = ctx.aggregate("patients").column("income").function(AggregateFn::Max); }
    /// ```
    pub fn function(mut self, f: AggregateFn) -> Self {
        self.functions.push(f);
        self
    }

    /// Adds [`AggregateFn::Count`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").count(); }
    /// ```
    pub fn count(self) -> Self {
        self.function(AggregateFn::Count)
    }

    /// Adds [`AggregateFn::Sum`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").sum(); }
    /// ```
    pub fn sum(self) -> Self {
        self.function(AggregateFn::Sum)
    }

    /// Adds [`AggregateFn::Mean`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").mean(); }
    /// ```
    pub fn mean(self) -> Self {
        self.function(AggregateFn::Mean)
    }

    /// Adds [`AggregateFn::Min`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").min(); }
    /// ```
    pub fn min(self) -> Self {
        self.function(AggregateFn::Min)
    }

    /// Adds [`AggregateFn::Max`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").max(); }
    /// ```
    pub fn max(self) -> Self {
        self.function(AggregateFn::Max)
    }

    /// Adds [`AggregateFn::Quantile`]`(q)`.
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").quantile(0.9); }
    /// ```
    pub fn quantile(self, q: f64) -> Self {
        self.function(AggregateFn::Quantile(q))
    }

    /// Groups by the values of column `name`.
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").group_by("sex"); }
    /// ```
    pub fn group_by(mut self, name: &str) -> Self {
        self.group_by.push((name.to_owned(), None));
        self
    }

    /// Groups numeric column `name` into bins `[k * width, (k + 1) * width)`,
    /// each keyed by its lower bound.
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").group_by_bins("age", 10.0); }
    /// ```
    pub fn group_by_bins(mut self, name: &str, width: f64) -> Self {
        self.group_by.push((name.to_owned(), Some(width)));
        self
    }

    /// Clamps values to `[lower, upper]` before aggregating.
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) { let q = ctx.aggregate("patients").column("income").mean().clamp(0.0, 5e5); }
    /// ```
    pub fn clamp(mut self, lower: f64, upper: f64) -> Self {
        self.clamp = Some((lower, upper));
        self
    }

    /// Runs the query on the host. Fails with the host's error if the
    /// policy refuses it (unknown column, key not allowed, budget spent...).
    /// A query without any function asks for [`AggregateFn::Count`].
    ///
    /// ```no_run
    /// # fn demo(ctx: &mut sluice_guest::Ctx) -> sluice_guest::Result<()> {
    /// let total = ctx.aggregate("patients").run()?.total_count();
    /// # Ok(()) }
    /// ```
    pub fn run(mut self) -> Result<AggregateResult> {
        if self.functions.is_empty() {
            self.functions.push(AggregateFn::Count);
        }
        let query = Query {
            dataset: self.dataset,
            column: self.column,
            functions: self.functions.iter().map(|&f| f.into()).collect(),
            group_by: self
                .group_by
                .iter()
                .map(|(column, bin_width)| GroupKey {
                    column: column.clone(),
                    bin_width: *bin_width,
                })
                .collect(),
            clamp: self.clamp.map(|(lower, upper)| Bounds { lower, upper }),
        };
        let r = aggregates::aggregate(&query)?;
        let groups: Vec<Group> = r
            .groups
            .into_iter()
            .map(|g| Group {
                keys: g.keys,
                count: g.count,
                values: g.values,
            })
            .collect();
        let shape_ok = groups
            .iter()
            .all(|g| g.keys.len() == self.group_by.len() && g.values.len() == self.functions.len());
        if !shape_ok {
            return Err(Error::invalid(
                "the host returned groups that do not match the query",
            ));
        }
        Ok(AggregateResult {
            groups,
            suppressed_groups: r.suppressed_groups,
            functions: self.functions,
            group_by: self.group_by.into_iter().map(|(name, _)| name).collect(),
        })
    }
}

mod result;
pub use result::{AggregateResult, Group};
