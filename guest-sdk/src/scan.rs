//! Columnar scans of `raw` columns.
//!
//! A scan asks the host for whole batches of the named columns, so a guest
//! pays one host call per batch, never one per row. The host refuses, with
//! a typed [`Error`](crate::Error), any column the policy does not release
//! as `raw`; [`ScanBuilder::open`] passes that refusal on unchanged.

use crate::batch::Decoder;
use crate::bindings::sluice::host::data;
use crate::{Batch, Result};

/// Describes a scan before it starts; made by [`Ctx::scan`](crate::Ctx::scan).
///
/// ```no_run
/// # use sluice_guest::*;
/// # fn demo(ctx: &mut Ctx) -> Result<()> {
/// let scan = ctx.scan("sales").columns(&["region", "amount"]).batch_rows(65536).open()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a scan does nothing until `open` is called"]
pub struct ScanBuilder {
    dataset: String,
    columns: Vec<String>,
    batch_rows: u32,
    dictionary: Vec<String>,
}

impl ScanBuilder {
    pub(crate) fn new(dataset: &str) -> Self {
        ScanBuilder {
            dataset: dataset.to_owned(),
            columns: Vec::new(),
            batch_rows: 0,
            dictionary: Vec::new(),
        }
    }

    /// Adds one column to scan.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let scan = ctx.scan("sales").column("amount").open()?;
    /// # Ok(()) }
    /// ```
    pub fn column(mut self, name: &str) -> Self {
        if !self.columns.iter().any(|c| c == name) {
            self.columns.push(name.to_owned());
        }
        self
    }

    /// Adds several columns to scan.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let scan = ctx.scan("patients").columns(&["age", "bmi"]).open()?;
    /// # Ok(()) }
    /// ```
    pub fn columns(self, names: &[&str]) -> Self {
        names.iter().fold(self, |scan, name| scan.column(name))
    }

    /// Asks for batches of at most `rows` rows (0, the default, lets the
    /// host choose).
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let scan = ctx.scan("sales").column("amount").batch_rows(8192).open()?;
    /// # Ok(()) }
    /// ```
    pub fn batch_rows(mut self, rows: u32) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Scans string column `name` as dictionary codes, read through
    /// [`Batch::dict`](crate::Batch::dict): the host reads Parquet
    /// dictionary pages as they are and encodes plain-encoded and CSV
    /// strings itself, so codes (first-seen order, stable for the whole
    /// scan) come the same way whoever wrote the files. Use it for
    /// group-by keys: the guest then groups integers and never hashes a
    /// string.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// for batch in ctx.scan("sales").dictionary("region").open()? {
    ///     let region = batch?.dict("region")?.codes.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn dictionary(mut self, name: &str) -> Self {
        if !self.dictionary.iter().any(|c| c == name) {
            self.dictionary.push(name.to_owned());
        }
        self.column(name)
    }

    /// Starts the scan. Fails with the host's error if the dataset or a
    /// column is unknown or not `raw` for this guest.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let mut scan = ctx.scan("sales").column("amount").open()?;
    /// # Ok(()) }
    /// ```
    pub fn open(self) -> Result<Scan> {
        let scanner = data::scan(&data::ScanRequest {
            dataset: self.dataset,
            columns: self.columns,
            dictionary: self.dictionary,
            batch_rows: self.batch_rows,
        })?;
        Ok(Scan {
            scanner: Some(scanner),
            decoder: Decoder::default(),
        })
    }
}

/// A scan in progress: an iterator of `Result<Batch>`, or call
/// [`Scan::next_batch`]. It ends after the last batch or the first error.
///
/// ```no_run
/// # use sluice_guest::*;
/// # fn demo(ctx: &mut Ctx) -> Result<()> {
/// let mut rows = 0;
/// for batch in ctx.scan("sales").column("amount").open()? {
///     rows += batch?.rows();
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Scan {
    scanner: Option<data::Scanner>,
    decoder: Decoder,
}

impl Scan {
    /// The next batch, or `None` when the dataset is exhausted.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let mut scan = ctx.scan("sales").column("amount").open()?;
    /// while let Some(batch) = scan.next_batch()? {
    ///     let sum = kernels::sum(batch.f64("amount")?.values, batch.validity("amount")?);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn next_batch(&mut self) -> Result<Option<Batch>> {
        let Some(scanner) = &self.scanner else {
            return Ok(None);
        };
        let next = scanner.next();
        match next {
            Ok(Some(batch)) => match self.decoder.decode(batch) {
                Ok(batch) => Ok(Some(batch)),
                Err(e) => {
                    self.scanner = None;
                    Err(e)
                }
            },
            Ok(None) => {
                self.scanner = None;
                Ok(None)
            }
            Err(e) => {
                self.scanner = None;
                Err(e.into())
            }
        }
    }

    /// The cumulative dictionary of column `name` so far: after the last
    /// batch, every string the scan's codes refer to. `None` if no batch
    /// has carried `name` as a dictionary yet.
    ///
    /// ```no_run
    /// # use sluice_guest::*;
    /// # fn demo(ctx: &mut Ctx) -> Result<()> {
    /// let mut scan = ctx.scan("sales").dictionary("region").open()?;
    /// let mut counts = Vec::new();
    /// while let Some(batch) = scan.next_batch()? {
    ///     let region = batch.dict("region")?;
    ///     kernels::group_count(region.codes, region.validity, &mut counts);
    /// }
    /// let names = scan.dictionary("region").unwrap_or_default();
    /// # Ok(()) }
    /// ```
    pub fn dictionary(&self, name: &str) -> Option<&[String]> {
        self.decoder.dictionary(name)
    }
}

impl Iterator for Scan {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}
