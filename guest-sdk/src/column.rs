//! Typed, zero-copy views of one column of one [`Batch`](crate::Batch).
//!
//! Each view borrows the batch's buffers and carries the column's validity
//! bitmap (LSB-first, bit set = value present, `None` = no nulls). The
//! value slot of a null row is unspecified, so read values through
//! `get`/`iter` or pass the validity on to a [`kernels`]
//! function; never trust a raw slot without checking its bit.

use std::borrow::Cow;

use crate::kernels;

/// Whether row `i` is present in `validity` (LSB-first, bit set = present).
/// `None` means every row is present; rows past the bitmap are null.
///
/// ```
/// use sluice_guest::is_valid;
/// let bits = [0b0000_0101u8];
/// assert!(is_valid(Some(&bits), 0) && !is_valid(Some(&bits), 1) && is_valid(Some(&bits), 2));
/// assert!(is_valid(None, 1_000));
/// ```
#[inline]
pub fn is_valid(validity: Option<&[u8]>, i: usize) -> bool {
    match validity {
        None => true,
        Some(bits) => bits.get(i / 8).is_some_and(|b| (b >> (i % 8)) & 1 == 1),
    }
}

macro_rules! common_methods {
    ($($len:tt)+) => {
        /// Number of rows.
        ///
        /// ```
        /// # use sluice_guest::*;
        /// assert_eq!(Float64Column { values: &[1.0, 2.0], validity: None }.len(), 2);
        /// ```
        pub fn len(&self) -> usize {
            let len = $($len)+;
            len(self)
        }

        /// Whether the column has no rows.
        ///
        /// ```
        /// # use sluice_guest::*;
        /// assert!(Int64Column { values: &[], validity: None }.is_empty());
        /// ```
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }

        /// Whether row `i` holds a value (is not null and in range).
        ///
        /// ```
        /// # use sluice_guest::*;
        /// let c = Float64Column { values: &[1.0, 2.0], validity: Some(&[0b10]) };
        /// assert!(!c.is_valid(0) && c.is_valid(1) && !c.is_valid(2));
        /// ```
        pub fn is_valid(&self, i: usize) -> bool {
            i < self.len() && is_valid(self.validity, i)
        }

        /// Number of null rows.
        ///
        /// ```
        /// # use sluice_guest::*;
        /// let c = Int64Column { values: &[1, 2, 3], validity: Some(&[0b100]) };
        /// assert_eq!(c.null_count(), 2);
        /// ```
        pub fn null_count(&self) -> usize {
            self.len() - kernels::count_valid(self.len(), self.validity)
        }
    };
}

/// A `float64` column.
///
/// ```
/// use sluice_guest::Float64Column;
/// let bits = [0b01u8];
/// let c = Float64Column { values: &[1.5, f64::NAN], validity: Some(&bits) };
/// assert_eq!(c.iter().collect::<Vec<_>>(), [Some(1.5), None]);
/// assert_eq!((c.len(), c.null_count(), c.get(0)), (2, 1, Some(1.5)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Float64Column<'a> {
    /// One value per row.
    pub values: &'a [f64],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl<'a> Float64Column<'a> {
    common_methods!(|c: &Self| c.values.len());

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.values
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<f64>> + 'a {
        let (values, validity) = (self.values, self.validity);
        (0..values.len()).map(move |i| is_valid(validity, i).then(|| values[i]))
    }
}

/// An `int64` column.
///
/// ```
/// use sluice_guest::Int64Column;
/// let c = Int64Column { values: &[3, 4], validity: None };
/// assert_eq!(c.iter().flatten().sum::<i64>(), 7);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Int64Column<'a> {
    /// One value per row.
    pub values: &'a [i64],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl<'a> Int64Column<'a> {
    common_methods!(|c: &Self| c.values.len());

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<i64> {
        self.values
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<i64>> + 'a {
        let (values, validity) = (self.values, self.validity);
        (0..values.len()).map(move |i| is_valid(validity, i).then(|| values[i]))
    }
}

/// A `boolean` column: one byte per row, 0 or 1.
///
/// ```
/// use sluice_guest::BoolColumn;
/// let c = BoolColumn { values: &[1, 0, 1], validity: None };
/// assert_eq!(c.get(1), Some(false));
/// assert_eq!(c.true_bitmap(), vec![0b101]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct BoolColumn<'a> {
    /// One byte per row: 0 is false, anything else true.
    pub values: &'a [u8],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl<'a> BoolColumn<'a> {
    common_methods!(|c: &Self| c.values.len());

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<bool> {
        self.values
            .get(i)
            .map(|&v| v != 0)
            .filter(|_| is_valid(self.validity, i))
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<bool>> + 'a {
        let (values, validity) = (self.values, self.validity);
        (0..values.len()).map(move |i| is_valid(validity, i).then(|| values[i] != 0))
    }

    /// A bitmap with the bit set for rows that are present and true (use
    /// [`kernels::bitmap_not`] for "false or null").
    pub fn true_bitmap(&self) -> Vec<u8> {
        let trues = kernels::bitmap_from_bools(self.values);
        kernels::bitmap_and(Some(&trues), self.validity, self.len()).unwrap_or_default()
    }
}

/// A `utf8` column: value `i` is `text[offsets[i]..offsets[i + 1]]`.
///
/// ```
/// use sluice_guest::Utf8Column;
/// let c = Utf8Column { offsets: &[0, 2, 2, 5], text: "nlxfr", validity: Some(&[0b101]) };
/// assert_eq!(c.iter().collect::<Vec<_>>(), [Some("nl"), None, Some("xfr")]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Utf8Column<'a> {
    /// `len() + 1` byte offsets into `text`.
    pub offsets: &'a [u32],
    /// All values, concatenated.
    pub text: &'a str,
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl<'a> Utf8Column<'a> {
    common_methods!(|c: &Self| c.offsets.len().saturating_sub(1));

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        if !is_valid(self.validity, i) {
            return None;
        }
        let (start, end) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        self.text.get(start as usize..end as usize)
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

/// A dictionary-encoded string column. `dictionary` is cumulative over the
/// whole scan, so a code means the same string in every batch: group by
/// `codes` (see [`kernels::group_sum_count`]) and look names up at the end.
///
/// ```
/// use sluice_guest::DictColumn;
/// let dictionary = ["north".to_string(), "south".to_string()];
/// let c = DictColumn { codes: &[1, 0, 1], validity: None, dictionary: &dictionary };
/// assert_eq!(c.get(0), Some("south"));
/// assert_eq!(c.iter().flatten().filter(|s| *s == "south").count(), 2);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DictColumn<'a> {
    /// One dictionary index per row (below `dictionary.len()` for every
    /// present row; a null row's code is some valid index or 0).
    pub codes: &'a [u32],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
    /// Every string seen so far in this scan, indexed by code.
    pub dictionary: &'a [String],
}

impl<'a> DictColumn<'a> {
    common_methods!(|c: &Self| c.codes.len());

    /// The code of row `i`, `None` if null or out of range.
    pub fn code(&self, i: usize) -> Option<u32> {
        self.codes
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// The string of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let dictionary = self.dictionary;
        self.code(i)
            .and_then(|c| dictionary.get(c as usize))
            .map(String::as_str)
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let this = *self;
        (0..this.len()).map(move |i| this.get(i))
    }
}

/// A numeric column as `f64`, whatever its stored type: borrowed for
/// `float64`, converted once for `int64`. Handy for statistics that should
/// not care whether a dataset stores `age` as integer or float.
///
/// ```
/// use std::borrow::Cow;
/// use sluice_guest::NumericColumn;
/// let c = NumericColumn { values: Cow::Owned(vec![1.0, 2.0]), validity: None };
/// assert_eq!(c.get(1), Some(2.0));
/// ```
#[derive(Debug, Clone)]
pub struct NumericColumn<'a> {
    /// One value per row.
    pub values: Cow<'a, [f64]>,
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl NumericColumn<'_> {
    common_methods!(|c: &Self| c.values.len());

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<f64> {
        self.values
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// The values as a slice (null slots unspecified).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}
