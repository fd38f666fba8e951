//! [`Table`]: the typed result an analytic returns.
//!
//! The builder keeps the WIT representation directly, so returning a table
//! costs no extra copy. It checks the table's shape as it is built (equal
//! column lengths, unique names) and holds the first problem; the
//! [`export!`](crate::export) adapter reports it as `Invalid` instead of
//! handing the host a ragged table.

pub use crate::bindings::sluice::host::types::ColumnValues;
use crate::bindings::sluice::host::types::{OutputColumn, Table as WitTable};
use crate::{Error, Result};

/// A value that can fill one cell of a `T` column: `T` itself, a reference
/// to it, or an `Option` of either (`None` is a null). Integer columns also
/// take the smaller integer types; text columns take `String`, `&str` and
/// `&String`.
///
/// ```
/// use sluice_guest::IntoCell;
/// assert_eq!(IntoCell::<String>::into_cell("a"), Some("a".to_string()));
/// assert_eq!(IntoCell::<i64>::into_cell(Some(7u32)), Some(7i64));
/// assert_eq!(IntoCell::<f64>::into_cell(None::<f64>), None);
/// ```
pub trait IntoCell<T> {
    /// The cell's value, `None` for a null.
    fn into_cell(self) -> Option<T>;
}

macro_rules! cells {
    ($t:ty => $($from:ty),+) => {$(
        impl IntoCell<$t> for $from {
            fn into_cell(self) -> Option<$t> { Some(<$t>::from(self)) }
        }
        impl IntoCell<$t> for &$from {
            fn into_cell(self) -> Option<$t> { Some(<$t>::from(self.clone())) }
        }
        impl IntoCell<$t> for Option<$from> {
            fn into_cell(self) -> Option<$t> { self.map(<$t>::from) }
        }
        impl IntoCell<$t> for Option<&$from> {
            fn into_cell(self) -> Option<$t> { self.cloned().map(<$t>::from) }
        }
    )+};
}

cells!(f64 => f64, f32);
cells!(i64 => i64, i32, u32, i16, u16, i8, u8);
cells!(bool => bool);
cells!(String => String);

impl IntoCell<String> for &str {
    fn into_cell(self) -> Option<String> {
        Some(self.to_owned())
    }
}

impl IntoCell<String> for Option<&str> {
    fn into_cell(self) -> Option<String> {
        self.map(str::to_owned)
    }
}

/// A result table under construction. All columns must have the same
/// number of rows and distinct names.
///
/// ```
/// use sluice_guest::Table;
/// let t = Table::new()
///     .utf8("region", ["north", "south"])
///     .i64("orders", [12, 7])
///     .f64("mean_amount", [Some(31.5), None]);
/// assert_eq!((t.rows(), t.error()), (2, None));
/// let ragged = Table::new().i64("a", [1, 2]).i64("b", [1]);
/// assert!(ragged.error().is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Table {
    columns: Vec<OutputColumn>,
    error: Option<Error>,
}

impl Table {
    /// An empty table.
    ///
    /// ```
    /// assert_eq!(sluice_guest::Table::new().rows(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a `float64` column.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().f64("x", [1.5, 2.5]);
    /// ```
    pub fn f64<I: IntoIterator<Item: IntoCell<f64>>>(self, name: &str, values: I) -> Self {
        let values = values.into_iter().map(IntoCell::into_cell).collect();
        self.push(name, ColumnValues::Float64(values))
    }

    /// Appends an `int64` column.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().i64("n", [Some(1), None]);
    /// ```
    pub fn i64<I: IntoIterator<Item: IntoCell<i64>>>(self, name: &str, values: I) -> Self {
        let values = values.into_iter().map(IntoCell::into_cell).collect();
        self.push(name, ColumnValues::Int64(values))
    }

    /// Appends a `boolean` column.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().bool("ok", [true, false]);
    /// ```
    pub fn bool<I: IntoIterator<Item: IntoCell<bool>>>(self, name: &str, values: I) -> Self {
        let values = values.into_iter().map(IntoCell::into_cell).collect();
        self.push(name, ColumnValues::Boolean(values))
    }

    /// Appends a `utf8` column.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().utf8("name", [Some("a"), None]);
    /// ```
    pub fn utf8<I: IntoIterator<Item: IntoCell<String>>>(self, name: &str, values: I) -> Self {
        let values = values.into_iter().map(IntoCell::into_cell).collect();
        self.push(name, ColumnValues::Utf8(values))
    }

    /// Number of rows (of the first column; 0 for a table without columns).
    ///
    /// ```
    /// assert_eq!(sluice_guest::Table::new().bool("b", [true]).rows(), 1);
    /// ```
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| values_len(&c.values))
    }

    /// Column names, in order.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().i64("a", [1]).i64("b", [2]);
    /// assert_eq!(t.column_names().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The values of column `name`.
    ///
    /// ```
    /// use sluice_guest::{Table, table::ColumnValues};
    /// let t = Table::new().i64("n", [3]);
    /// assert!(matches!(t.column("n"), Some(ColumnValues::Int64(v)) if v == &[Some(3)]));
    /// ```
    pub fn column(&self, name: &str) -> Option<&ColumnValues> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.values)
    }

    /// The first shape problem found while building, if any.
    ///
    /// ```
    /// let t = sluice_guest::Table::new().i64("a", [1]).i64("a", [2]);
    /// assert!(t.error().is_some());
    /// ```
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// The WIT table, or the first shape problem as [`Error::Invalid`].
    ///
    /// ```
    /// let wit = sluice_guest::Table::new().i64("a", [1]).into_wit()?;
    /// assert_eq!(wit.columns.len(), 1);
    /// # Ok::<(), sluice_guest::Error>(())
    /// ```
    pub fn into_wit(self) -> Result<WitTable> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(WitTable {
                columns: self.columns,
            }),
        }
    }

    fn push(mut self, name: &str, values: ColumnValues) -> Self {
        let len = values_len(&values);
        let problem = if self.column_names().any(|n| n == name) {
            Some(format!("the table has two columns named `{name}`"))
        } else {
            self.columns
                .first()
                .filter(|first| values_len(&first.values) != len)
                .map(|first| {
                    format!(
                        "column `{name}` has {len} rows but column `{}` has {}",
                        first.name,
                        values_len(&first.values)
                    )
                })
        };
        if let (Some(p), None) = (problem, &self.error) {
            self.error = Some(Error::Invalid(p));
        }
        self.columns.push(OutputColumn {
            name: name.to_owned(),
            values,
        });
        self
    }
}

fn values_len(values: &ColumnValues) -> usize {
    match values {
        ColumnValues::Int64(v) => v.len(),
        ColumnValues::Float64(v) => v.len(),
        ColumnValues::Boolean(v) => v.len(),
        ColumnValues::Utf8(v) => v.len(),
    }
}
