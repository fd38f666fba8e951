//! What a host aggregate query returns, with accessors by key name and by
//! function, ready to feed a [`Table`](crate::Table).

use super::AggregateFn;
use crate::{Error, Result};

/// One released group.
///
/// ```
/// use sluice_guest::Group;
/// let g = Group { keys: vec![Some("F".into()), Some("30".into())], count: 42, values: vec![Some(51_000.0)] };
/// assert_eq!((g.key(0), g.value(0)), (Some("F"), Some(51_000.0)));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Key values, in `group_by` order (`None` = null key).
    pub keys: Vec<Option<String>>,
    /// Rows that contribute to the group: with a column, those where it is
    /// not null; without one, all its rows (noisy under differential privacy).
    pub count: u64,
    /// Function results, in function order (`None` = no non-null value).
    pub values: Vec<Option<f64>>,
}

impl Group {
    /// Key `i` (in `group_by` order); `None` for a null key or no such key.
    ///
    /// ```
    /// # use sluice_guest::Group;
    /// let g = Group { keys: vec![None], count: 5, values: vec![] };
    /// assert_eq!(g.key(0), None);
    /// ```
    pub fn key(&self, i: usize) -> Option<&str> {
        self.keys.get(i).and_then(|k| k.as_deref())
    }

    /// Value `i` (in function order); `None` if absent.
    ///
    /// ```
    /// # use sluice_guest::Group;
    /// let g = Group { keys: vec![], count: 5, values: vec![None, Some(2.0)] };
    /// assert_eq!((g.value(0), g.value(1)), (None, Some(2.0)));
    /// ```
    pub fn value(&self, i: usize) -> Option<f64> {
        self.values.get(i).copied().flatten()
    }
}

/// The released groups of one query, and how many groups the policy's
/// minimum group size suppressed.
///
/// ```
/// use sluice_guest::*;
/// let r = AggregateResult {
///     groups: vec![Group { keys: vec![Some("F".into())], count: 12, values: vec![Some(3.5)] }],
///     suppressed_groups: 2,
///     functions: vec![AggregateFn::Mean],
///     group_by: vec!["sex".into()],
/// };
/// let t = Table::new()
///     .utf8("sex", r.keys("sex")?)
///     .i64("n", r.counts())
///     .f64("mean", r.values(AggregateFn::Mean)?);
/// assert_eq!(t.rows(), 1);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateResult {
    /// The groups that passed the policy, in the host's order.
    pub groups: Vec<Group>,
    /// How many groups were withheld for being too small.
    pub suppressed_groups: u64,
    /// The query's functions, in the order of [`Group::values`].
    pub functions: Vec<AggregateFn>,
    /// The query's group-by columns, in the order of [`Group::keys`].
    pub group_by: Vec<String>,
}

impl AggregateResult {
    /// Number of released groups.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![], suppressed_groups: 3, functions: vec![], group_by: vec![] };
    /// assert!(r.is_empty() && r.len() == 0);
    /// ```
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group was released.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![], suppressed_groups: 0, functions: vec![], group_by: vec![] };
    /// assert!(r.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Rows over all released groups.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let g = |n| Group { keys: vec![], count: n, values: vec![] };
    /// let r = AggregateResult { groups: vec![g(2), g(5)], suppressed_groups: 0, functions: vec![], group_by: vec![] };
    /// assert_eq!(r.total_count(), 7);
    /// ```
    pub fn total_count(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// Each group's row count, as `i64` ready for [`Table::i64`](crate::Table::i64)
    /// (saturating at `i64::MAX`).
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![Group { keys: vec![], count: 4, values: vec![] }], suppressed_groups: 0, functions: vec![], group_by: vec![] };
    /// assert_eq!(r.counts().collect::<Vec<_>>(), [4]);
    /// ```
    pub fn counts(&self) -> impl Iterator<Item = i64> + '_ {
        self.groups
            .iter()
            .map(|g| i64::try_from(g.count).unwrap_or(i64::MAX))
    }

    /// Position of group-by column `name` in [`Group::keys`].
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![], suppressed_groups: 0, functions: vec![], group_by: vec!["sex".into()] };
    /// assert_eq!(r.key_index("sex"), Ok(0));
    /// assert!(r.key_index("age").is_err());
    /// ```
    pub fn key_index(&self, name: &str) -> Result<usize> {
        self.group_by
            .iter()
            .position(|k| k == name)
            .ok_or_else(|| Error::invalid(format!("the query was not grouped by `{name}`")))
    }

    /// Position of function `f` in [`Group::values`].
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![], suppressed_groups: 0, functions: vec![AggregateFn::Sum], group_by: vec![] };
    /// assert_eq!(r.value_index(AggregateFn::Sum), Ok(0));
    /// ```
    pub fn value_index(&self, f: AggregateFn) -> Result<usize> {
        self.functions
            .iter()
            .position(|&g| g == f)
            .ok_or_else(|| Error::invalid(format!("the query did not ask for {f:?}")))
    }

    /// Every group's key for group-by column `name`.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![Group { keys: vec![Some("M".into())], count: 9, values: vec![] }], suppressed_groups: 0, functions: vec![], group_by: vec!["sex".into()] };
    /// assert_eq!(r.keys("sex")?.collect::<Vec<_>>(), [Some("M")]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn keys(&self, name: &str) -> Result<impl Iterator<Item = Option<&str>> + '_> {
        let i = self.key_index(name)?;
        Ok(self.groups.iter().map(move |g| g.key(i)))
    }

    /// Every group's key for group-by column `name`, parsed as a number
    /// (bin lower bounds); `None` for null or non-numeric keys.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![Group { keys: vec![Some("30".into())], count: 9, values: vec![] }], suppressed_groups: 0, functions: vec![], group_by: vec!["age".into()] };
    /// assert_eq!(r.keys_f64("age")?.collect::<Vec<_>>(), [Some(30.0)]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn keys_f64(&self, name: &str) -> Result<impl Iterator<Item = Option<f64>> + '_> {
        Ok(self
            .keys(name)?
            .map(|k| k.and_then(|k| k.trim().parse().ok())))
    }

    /// Every group's result of function `f`.
    ///
    /// ```
    /// # use sluice_guest::*;
    /// let r = AggregateResult { groups: vec![Group { keys: vec![], count: 9, values: vec![Some(1.5)] }], suppressed_groups: 0, functions: vec![AggregateFn::Mean], group_by: vec![] };
    /// assert_eq!(r.values(AggregateFn::Mean)?.collect::<Vec<_>>(), [Some(1.5)]);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn values(&self, f: AggregateFn) -> Result<impl Iterator<Item = Option<f64>> + '_> {
        let i = self.value_index(f)?;
        Ok(self.groups.iter().map(move |g| g.value(i)))
    }
}
