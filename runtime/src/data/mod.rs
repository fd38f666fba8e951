//! Datasets: the owner's CSV and Parquet files, opened read-only, identified
//! by a snapshot hash of their bytes, and read in bounded batches.
//!
//! Defends against host memory growing with file size (every read is a
//! stream of bounded record batches) and against a run over data that cannot
//! later be identified (the snapshot is the SHA-256 of the file content).

mod batch;
mod source;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow_schema::{DataType, SchemaRef};
use sha2::{Digest, Sha256};

pub use batch::{BatchEncoder, FedBatch};
pub use source::RecordBatches;

use crate::error::DataError;

/// On-disk format of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// The logical type of a column as guests see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// 64-bit signed integers.
    Int64,
    /// 64-bit floats.
    Float64,
    /// Booleans.
    Boolean,
    /// UTF-8 strings (plain or dictionary-encoded).
    Utf8,
}

impl ColumnType {
    /// The Arrow type a CSV column of this type is read as.
    pub fn arrow_type(self) -> DataType {
        match self {
            Self::Int64 => DataType::Int64,
            Self::Float64 => DataType::Float64,
            Self::Boolean => DataType::Boolean,
            Self::Utf8 => DataType::Utf8,
        }
    }

    /// The Sluice type for an Arrow type, if Sluice can feed it.
    pub fn of(data_type: &DataType) -> Option<Self> {
        use DataType::*;
        match data_type {
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => Some(Self::Int64),
            Float16 | Float32 | Float64 => Some(Self::Float64),
            Boolean => Some(Self::Boolean),
            Utf8 | LargeUtf8 | Utf8View => Some(Self::Utf8),
            Dictionary(_, value) if matches!(**value, Utf8 | LargeUtf8) => Some(Self::Utf8),
            _ => None,
        }
    }
}

/// An opened dataset: its file, schema and snapshot hash.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The name runs and policies use for it.
    pub name: String,
    /// Where the file is.
    pub path: PathBuf,
    /// The file format.
    pub format: Format,
    /// The Arrow schema (inferred for CSV, stored for Parquet).
    pub schema: SchemaRef,
    /// SHA-256 of the file content, hex.
    pub snapshot: String,
    /// Size of the file in bytes.
    pub size_bytes: u64,
}

impl Dataset {
    /// Opens `path` as dataset `name`: hashes it, reads its schema and checks
    /// every column has a type Sluice can feed.
    pub fn open(name: &str, path: &Path) -> Result<Self, DataError> {
        let format = match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(ext) if ext == "csv" => Format::Csv,
            Some(ext) if ext == "parquet" || ext == "pq" => Format::Parquet,
            _ => {
                return Err(DataError::UnsupportedFormat {
                    dataset: name.into(),
                    path: path.display().to_string(),
                });
            }
        };
        let io = |source| DataError::Io {
            dataset: name.into(),
            path: path.display().to_string(),
            source,
        };
        let (snapshot, size_bytes) = hash_file(path).map_err(io)?;
        let schema = source::read_schema(name, path, format)?;
        for field in schema.fields() {
            if ColumnType::of(field.data_type()).is_none() {
                return Err(DataError::UnsupportedType {
                    dataset: name.into(),
                    column: field.name().clone(),
                    data_type: field.data_type().to_string(),
                });
            }
        }
        Ok(Self {
            name: name.into(),
            path: path.to_path_buf(),
            format,
            schema,
            snapshot,
            size_bytes,
        })
    }

    /// Applies column types the owner declared: for CSV they replace the
    /// inferred ones (e.g. zip codes as text, not numbers); for Parquet,
    /// whose types are stored, a declaration must agree with the file.
    pub fn declare<'a>(
        mut self,
        types: impl IntoIterator<Item = (&'a str, ColumnType)>,
    ) -> Result<Self, DataError> {
        let mut fields: Vec<arrow_schema::Field> = self
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for (column, declared) in types {
            let Some(field) = fields.iter_mut().find(|f| f.name() == column) else {
                return Err(DataError::Decode {
                    dataset: self.name.clone(),
                    message: format!(
                        "the policy declares a type for column `{column}`, which the file does not have"
                    ),
                });
            };
            let found = ColumnType::of(field.data_type());
            match self.format {
                Format::Csv => *field = field.clone().with_data_type(declared.arrow_type()),
                Format::Parquet if found == Some(declared) => {}
                Format::Parquet => {
                    return Err(DataError::Decode {
                        dataset: self.name.clone(),
                        message: format!(
                            "the policy declares column `{column}` as {declared:?} but the Parquet file stores {}",
                            field.data_type()
                        ),
                    });
                }
            }
        }
        self.schema = std::sync::Arc::new(arrow_schema::Schema::new(fields));
        Ok(self)
    }

    /// Index and Sluice type of `column`, if the file has it.
    pub fn column(&self, column: &str) -> Option<(usize, ColumnType)> {
        let (index, field) = self.schema.column_with_name(column)?;
        ColumnType::of(field.data_type()).map(|t| (index, t))
    }

    /// Streams the columns at `projection` in batches of at most `batch_rows`.
    pub fn read(
        &self,
        projection: &[usize],
        batch_rows: usize,
    ) -> Result<RecordBatches, DataError> {
        source::open_reader(self, projection, batch_rows)
    }
}

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

#[cfg(test)]
mod tests;
