//! Errors of the runtime library, one enum per concern, each message saying
//! what was wrong and what to do about it.

use thiserror::Error;

/// A policy file could not be used.
#[derive(Debug, Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {path}: {source}")]
    Read {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key or a value of the wrong type.
    #[error("policy error{}: {message}", line.map(|l| format!(" at line {l}")).unwrap_or_default())]
    Syntax {
        /// 1-based line of the offending text, when known.
        line: Option<usize>,
        /// What the parser said.
        message: String,
    },
    /// A value is well-typed but not acceptable.
    #[error("policy error at line {line}: `{key}`: {message}")]
    Value {
        /// Dotted key, e.g. `limits.fuel`.
        key: String,
        /// 1-based line.
        line: usize,
        /// What is wrong and what is accepted.
        message: String,
    },
}

/// A dataset could not be opened or read. Every message names the
/// dataset, the file (relative to the dataset's root) and, where it
/// applies, the row and column, and says what to do; none quotes a cell.
#[derive(Debug, Error)]
pub enum DataError {
    /// I/O failure on the dataset's folder or a file.
    #[error("dataset {dataset}: cannot read {path}: {source}")]
    Io {
        /// Dataset name.
        dataset: String,
        /// The path (as registered, or a file below it).
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The location names no supported format.
    #[error(
        "dataset {dataset}: unsupported file {path}; use .parquet files or .csv/.tsv files (optionally .gz)"
    )]
    UnsupportedFormat {
        /// Dataset name.
        dataset: String,
        /// File path.
        path: String,
    },
    /// The location holds no data file.
    #[error("dataset {dataset}: {path} holds no .parquet, .csv or .tsv file")]
    NoFiles {
        /// Dataset name.
        dataset: String,
        /// The location.
        path: String,
    },
    /// The files cannot form one dataset (too many, mixed formats, no
    /// listing possible).
    #[error("dataset {dataset}: {message}")]
    Layout {
        /// Dataset name.
        dataset: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file is not valid CSV or Parquet.
    #[error("dataset {dataset}: file {file} cannot be decoded: {detail}")]
    Malformed {
        /// Dataset name.
        dataset: String,
        /// File, relative to the dataset's root.
        file: String,
        /// What the reader said (for the owner: it may quote the file).
        detail: String,
    },
    /// The files of a dataset do not share one schema.
    #[error("dataset {dataset}: file {file} does not match the first file: {message}")]
    SchemaMismatch {
        /// Dataset name.
        dataset: String,
        /// The file that differs.
        file: String,
        /// Which column differs and how.
        message: String,
    },
    /// A field does not parse as its column's type.
    #[error(
        "dataset {dataset}: file {file}, row {row}, column `{column}`: the value is not a valid {expected}; fix the file, add the token to `[csv] null_values`, or declare the column `utf8`"
    )]
    Rejected {
        /// Dataset name.
        dataset: String,
        /// File, relative to the dataset's root.
        file: String,
        /// 1-based data row within the file (the header not counted).
        row: u64,
        /// Column name.
        column: String,
        /// The type the column has.
        expected: String,
    },
    /// A value does not fit the Sluice type of its column.
    #[error(
        "dataset {dataset}: file {file}, row {row}, column `{column}` holds {what}; mark the column `none` or store it with another type"
    )]
    Overflow {
        /// Dataset name.
        dataset: String,
        /// File, relative to the dataset's root.
        file: String,
        /// 1-based row within the file.
        row: u64,
        /// Column name.
        column: String,
        /// What does not fit.
        what: String,
    },
    /// A column the policy makes visible has a type Sluice cannot feed.
    #[error(
        "dataset {dataset}: column `{column}` is {data_type}, which Sluice cannot feed to guests; mark it `none` in the policy (supported: int64, float64, boolean, utf8, date, timestamp)"
    )]
    UnsupportedType {
        /// Dataset name.
        dataset: String,
        /// Column name.
        column: String,
        /// The Arrow type found.
        data_type: String,
    },
    /// The policy declares a type that does not fit the data.
    #[error("dataset {dataset}: the policy's type for column `{column}`: {message}")]
    Declaration {
        /// Dataset name.
        dataset: String,
        /// Column name.
        column: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A file changed after it was identified: the snapshot no longer
    /// describes it.
    #[error(
        "dataset {dataset}: file {file} was modified after it was identified; nothing read from it is used (run again to use the new version)"
    )]
    Changed {
        /// Dataset name.
        dataset: String,
        /// File, relative to the dataset's root.
        file: String,
    },
    /// The file could not be decoded (a bug or a file the reader cannot
    /// handle); kept for callers that have no file to name.
    #[error("dataset {dataset}: {message}")]
    Decode {
        /// Dataset name.
        dataset: String,
        /// What went wrong (host-authored, no cell values).
        message: String,
    },
}

impl DataError {
    /// The text a guest (and, if the guest returns it, the buyer) may see:
    /// the same as [`Display`](std::fmt::Display) except that reader
    /// details and I/O errors (which may quote the owner's files or paths)
    /// are left out, and files are named without their folders (hive
    /// folders such as `region=north/` hold values of partition columns
    /// the policy may hide).
    pub fn for_guest(&self) -> String {
        let name = |file: &str| file.rsplit('/').next().unwrap_or(file).to_string();
        match self {
            Self::Io { dataset, .. } => {
                format!("dataset {dataset} could not be read; the node's operator has the details")
            }
            Self::Malformed { dataset, file, .. } => format!(
                "dataset {dataset}: file {} cannot be decoded; the node's operator has the details",
                name(file)
            ),
            Self::Rejected {
                dataset,
                file,
                row,
                column,
                expected,
            } => Self::Rejected {
                dataset: dataset.clone(),
                file: name(file),
                row: *row,
                column: column.clone(),
                expected: expected.clone(),
            }
            .to_string(),
            Self::Overflow {
                dataset,
                file,
                row,
                column,
                what,
            } => Self::Overflow {
                dataset: dataset.clone(),
                file: name(file),
                row: *row,
                column: column.clone(),
                what: what.clone(),
            }
            .to_string(),
            Self::SchemaMismatch { dataset, file, .. } => format!(
                "dataset {dataset}: file {} does not match the first file; the node's operator has the details",
                name(file)
            ),
            Self::Changed { dataset, file } => Self::Changed {
                dataset: dataset.clone(),
                file: name(file),
            }
            .to_string(),
            other => other.to_string(),
        }
    }
}

/// The engine could not be set up or a module could not be prepared.
#[derive(Debug, Error)]
pub enum EngineError {
    /// wasmtime refused the configuration.
    #[error("cannot configure the wasm engine: {0}")]
    Config(String),
    /// The run request is inconsistent (e.g. a dataset without a policy).
    #[error("invalid run request: {0}")]
    Request(String),
}
