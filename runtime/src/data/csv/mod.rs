//! CSV as people write it: null tokens such as R's `NA`, any delimiter and
//! quote, with or without a header, plain or gzip-compressed.
//!
//! Defends against the two ways a CSV goes wrong. Read too loosely, types
//! shift from file to file and a late row breaks a run; read too strictly,
//! the most common null convention after the empty field (`NA`) turns
//! every numeric column into text. So: the dialect comes from the policy's
//! `[csv]` table ([`CsvOptions`]), every field is parsed by the same strict
//! parsers for inference and for reading, and null tokens apply to
//! non-string columns only (a string column's `NA` may be a value;
//! `string_null_values` opts in). Errors name file, row, column and the
//! expected type, never the field's text.

mod convert;
mod infer;
mod parse;

use std::io::{BufReader, Read};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_csv::ReaderBuilder;
use arrow_csv::reader::Format as CsvFormat;
use arrow_schema::{DataType, Field, Schema, SchemaRef};

pub(crate) use convert::{ConvertError, convert};
pub(crate) use infer::{CANDIDATES, Examples, Inference, decide};
pub use infer::{CsvColumnFacts, CsvFacts};
pub(crate) use parse::{date as parse_date, int64 as parse_int64, timestamp as parse_timestamp};

use super::pinned::PinnedFile;

/// The null tokens of non-string columns when a policy names none.
pub const DEFAULT_NULL_VALUES: [&str; 6] = ["", "NA", "N/A", "NULL", "null", "NaN"];

/// How the owner's CSV files are written: the policy's `[csv]` table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CsvOptions {
    /// Fields read as null in non-string columns. The empty field is
    /// always null.
    pub null_values: Vec<String>,
    /// Fields read as null in string columns, besides the empty field.
    pub string_null_values: Vec<String>,
    /// The field separator; `None` means `,` (a tab for `.tsv` files).
    pub delimiter: Option<u8>,
    /// The quote character.
    pub quote: u8,
    /// Whether the first line names the columns (else `column_1`, ...).
    pub header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            null_values: DEFAULT_NULL_VALUES.iter().map(|s| s.to_string()).collect(),
            string_null_values: Vec::new(),
            delimiter: None,
            quote: b'"',
            header: true,
        }
    }
}

/// The options resolved for one dataset (the delimiter decided).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvDialect {
    pub(crate) options: CsvOptions,
    pub(crate) delimiter: u8,
}

impl CsvDialect {
    /// The dialect of files named like `file_name` under `options`.
    pub(crate) fn new(options: &CsvOptions, file_name: &str) -> Self {
        let lower = file_name.to_ascii_lowercase();
        let tsv = lower.ends_with(".tsv") || lower.ends_with(".tsv.gz");
        Self {
            delimiter: options.delimiter.unwrap_or(if tsv { b'\t' } else { b',' }),
            options: options.clone(),
        }
    }

    /// Identifies the options that inference statistics depend on.
    pub(crate) fn fingerprint(&self) -> String {
        let o = &self.options;
        format!(
            "csv-v1 d={} q={} h={} n={:?} s={:?}",
            self.delimiter, o.quote, o.header, o.null_values, o.string_null_values
        )
    }

    /// Whether `s` is null in a non-string column.
    pub(crate) fn is_null(&self, s: &str) -> bool {
        s.is_empty() || self.options.null_values.iter().any(|t| t == s)
    }

    /// Whether `s` is null in a string column.
    pub(crate) fn is_string_null(&self, s: &str) -> bool {
        s.is_empty() || self.options.string_null_values.iter().any(|t| t == s)
    }

    fn format(&self) -> CsvFormat {
        CsvFormat::default()
            .with_header(self.options.header)
            .with_delimiter(self.delimiter)
            .with_quote(self.options.quote)
    }
}

/// The decompressed bytes of a pinned CSV file (gzip is recognised by its
/// magic number, whatever the name).
pub(crate) fn open_stream(file: &PinnedFile) -> std::io::Result<Box<dyn Read + Send>> {
    let mut magic = [0u8; 2];
    let mut head = file.reader_at(0);
    let n = head.read(&mut magic)?;
    let raw = BufReader::with_capacity(1 << 20, file.reader_at(0));
    Ok(if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else {
        Box::new(raw)
    })
}

/// The column names of a CSV file: its header (empty names become
/// `column_N`), or `column_1`... without one. Duplicates are an error
/// naming the column.
pub(crate) fn header(file: &PinnedFile, dialect: &CsvDialect) -> Result<Vec<String>, String> {
    let stream = open_stream(file).map_err(|e| e.to_string())?;
    let (schema, _) = dialect
        .format()
        .infer_schema(stream, Some(0))
        .map_err(|e| format!("not valid CSV: {e}"))?;
    let mut names: Vec<String> = Vec::with_capacity(schema.fields().len());
    for (i, f) in schema.fields().iter().enumerate() {
        let name = if f.name().is_empty() {
            format!("column_{}", i + 1)
        } else {
            f.name().clone()
        };
        if names.contains(&name) {
            return Err(format!(
                "the header names column `{name}` twice; rename one of them"
            ));
        }
        names.push(name);
    }
    Ok(names)
}

fn text_schema(names: &[String]) -> SchemaRef {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

/// A reader of the file's columns at `projection` as text, in batches.
pub(crate) fn text_batches(
    file: &PinnedFile,
    dialect: &CsvDialect,
    names: &[String],
    projection: Option<Vec<usize>>,
    batch_rows: usize,
) -> Result<impl Iterator<Item = Result<RecordBatch, String>> + Send + use<>, String> {
    let stream = open_stream(file).map_err(|e| e.to_string())?;
    let mut builder = ReaderBuilder::new(text_schema(names))
        .with_format(dialect.format())
        .with_batch_size(batch_rows.max(1));
    if let Some(p) = projection {
        builder = builder.with_projection(p);
    }
    let reader = builder.build(stream).map_err(|e| e.to_string())?;
    Ok(reader.map(|b| b.map_err(|e| format!("not valid CSV: {e}"))))
}

/// Reads a whole file once and infers its statistics.
pub(crate) fn infer_file(
    file: &PinnedFile,
    dialect: &CsvDialect,
    keep_examples: bool,
) -> Result<(CsvFacts, Option<Examples>), String> {
    let names = header(file, dialect)?;
    let mut inference = Inference::new(dialect, &names, keep_examples);
    for batch in text_batches(file, dialect, &names, None, 8192)? {
        inference.update(&batch?);
    }
    Ok(inference.finish())
}
