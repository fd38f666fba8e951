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

/// A dataset could not be opened or read.
#[derive(Debug, Error)]
pub enum DataError {
    /// I/O failure on the dataset file.
    #[error("dataset {dataset}: cannot read {path}: {source}")]
    Io {
        /// Dataset name.
        dataset: String,
        /// File path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's extension names no supported format.
    #[error("dataset {dataset}: unsupported file {path}; use a .csv or .parquet file")]
    UnsupportedFormat {
        /// Dataset name.
        dataset: String,
        /// File path.
        path: String,
    },
    /// The file is not valid CSV/Parquet or could not be decoded.
    #[error("dataset {dataset}: {message}")]
    Decode {
        /// Dataset name.
        dataset: String,
        /// What the reader said.
        message: String,
    },
    /// A column has a type Sluice cannot feed to guests.
    #[error(
        "dataset {dataset}: column `{column}` has unsupported type {data_type}; supported: int64, float64, boolean, utf8"
    )]
    UnsupportedType {
        /// Dataset name.
        dataset: String,
        /// Column name.
        column: String,
        /// The Arrow type found.
        data_type: String,
    },
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
