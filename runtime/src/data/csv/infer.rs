//! CSV type inference over every row of every file, with the statistics
//! `inspect` reports and the snapshot memo remembers.
//!
//! Defends against a late row breaking a run midway: a column's type is
//! the narrowest one that accepts every non-null field of the whole
//! dataset (boolean, int64, float64, date, timestamp, else utf8), and a
//! declared type is checked against the same statistics when the dataset
//! is opened, so a value it rejects is reported (file, row and column,
//! never the value) before any guest runs.

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};

use super::CsvDialect;
use super::parse;
use crate::data::ColumnType;

/// The types inference tries, narrowest first.
pub(crate) const CANDIDATES: [ColumnType; 5] = [
    ColumnType::Boolean,
    ColumnType::Int64,
    ColumnType::Float64,
    ColumnType::Date,
    ColumnType::Timestamp,
];

fn slot(t: ColumnType) -> Option<usize> {
    CANDIDATES.iter().position(|&c| c == t)
}

/// What inference found in one column of one file.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsvColumnFacts {
    /// The column's name (from the header, or `column_N`).
    pub name: String,
    /// Fields that are not null for non-string types.
    pub values: u64,
    /// Fields that are null for non-string types: empty or a null token.
    pub nulls: u64,
    /// Fields that are null for strings: empty or a string null token.
    pub string_nulls: u64,
    /// For each candidate type (boolean, int64, float64, date,
    /// timestamp), the first data row (1-based) it rejects.
    pub rejected: [Option<u64>; 5],
    /// Whether the timestamps seen carry a UTC offset (`None`: none seen).
    pub zoned: Option<bool>,
}

impl CsvColumnFacts {
    /// The first data row `t` rejects, `None` if it accepts every field
    /// (strings accept everything).
    pub fn rejects(&self, t: ColumnType) -> Option<u64> {
        slot(t).and_then(|i| self.rejected[i])
    }
}

/// What inference found in one CSV file, under one set of options.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CsvFacts {
    /// The options the statistics hold for ([`CsvDialect::fingerprint`]).
    pub options: String,
    /// Data rows (the header not counted).
    pub rows: u64,
    /// One entry per column, in file order.
    pub columns: Vec<CsvColumnFacts>,
}

/// The first value each candidate rejected, per column: for the owner's
/// `inspect` report only (never stored, never in an error).
pub(crate) type Examples = Vec<[Option<String>; 5]>;

/// Accumulates [`CsvFacts`] batch by batch.
pub(crate) struct Inference<'a> {
    dialect: &'a CsvDialect,
    facts: CsvFacts,
    examples: Option<Examples>,
}

impl<'a> Inference<'a> {
    /// Starts inference over columns `names`; keeps rejected examples if asked.
    pub(crate) fn new(dialect: &'a CsvDialect, names: &[String], keep_examples: bool) -> Self {
        Self {
            dialect,
            facts: CsvFacts {
                options: dialect.fingerprint(),
                rows: 0,
                columns: names
                    .iter()
                    .map(|n| CsvColumnFacts {
                        name: n.clone(),
                        ..CsvColumnFacts::default()
                    })
                    .collect(),
            },
            examples: keep_examples.then(|| vec![Default::default(); names.len()]),
        }
    }

    /// Folds one batch of all-`Utf8` columns (in file order) in.
    pub(crate) fn update(&mut self, batch: &RecordBatch) {
        let first_row = self.facts.rows + 1;
        for (c, column) in batch.columns().iter().enumerate() {
            let strings = column.as_string::<i32>();
            let facts = &mut self.facts.columns[c];
            let mut examples = self.examples.as_mut().map(|e| &mut e[c]);
            for i in 0..strings.len() {
                if strings.is_null(i) {
                    facts.nulls += 1;
                    facts.string_nulls += 1;
                    continue;
                }
                let s = strings.value(i);
                if self.dialect.is_string_null(s) {
                    facts.string_nulls += 1;
                }
                if self.dialect.is_null(s) {
                    facts.nulls += 1;
                    continue;
                }
                facts.values += 1;
                let row = first_row + i as u64;
                for (k, &t) in CANDIDATES.iter().enumerate() {
                    if facts.rejected[k].is_some() || accepts(t, s, &mut facts.zoned) {
                        continue;
                    }
                    facts.rejected[k] = Some(row);
                    if let Some(ex) = examples.as_deref_mut() {
                        ex[k] = Some(s.to_owned());
                    }
                }
            }
        }
        self.facts.rows += batch.num_rows() as u64;
    }

    /// The statistics, and the examples if kept.
    pub(crate) fn finish(self) -> (CsvFacts, Option<Examples>) {
        (self.facts, self.examples)
    }
}

/// Whether type `t` accepts field `s`; a timestamp must agree with the
/// column's earlier timestamps on carrying an offset.
fn accepts(t: ColumnType, s: &str, zoned: &mut Option<bool>) -> bool {
    match t {
        ColumnType::Boolean => parse::boolean(s).is_some(),
        ColumnType::Int64 => parse::int64(s).is_some(),
        ColumnType::Float64 => parse::float64(s).is_some(),
        ColumnType::Date => parse::date(s).is_some(),
        ColumnType::Timestamp => match parse::timestamp(s) {
            None => false,
            Some((_, z)) => *zoned.get_or_insert(z) == z,
        },
        ColumnType::Utf8 => true,
    }
}

/// The inferred type and, for timestamps, whether they are UTC, of one
/// column over all files' statistics.
pub(crate) fn decide(per_file: &[&CsvColumnFacts]) -> (ColumnType, bool) {
    if per_file.iter().all(|f| f.values == 0) {
        // Nothing but nulls: no evidence for any type.
        return (ColumnType::Utf8, false);
    }
    let zones: Vec<bool> = per_file.iter().filter_map(|f| f.zoned).collect();
    let mixed_zones = zones.windows(2).any(|w| w[0] != w[1]);
    let zoned = zones.first().copied().unwrap_or(false);
    for (k, &t) in CANDIDATES.iter().enumerate() {
        if t == ColumnType::Timestamp && mixed_zones {
            continue;
        }
        if per_file.iter().all(|f| f.rejected[k].is_none()) {
            return (t, zoned);
        }
    }
    (ColumnType::Utf8, false)
}
