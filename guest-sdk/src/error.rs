//! Errors an analytic sees and returns.
//!
//! [`Error`] mirrors the host's WIT `error` variant. Errors the host raises
//! (a refused scan, a refused aggregate, a data error) carry its full,
//! helpful text, so an analytic can log them, branch on them or show them
//! to its developer while testing.
//!
//! # What the buyer sees when a run fails
//!
//! Only host-authored text reaches the buyer. When `run` returns an error:
//!
//! - if it is **exactly an error the host returned** (propagated with `?`,
//!   unchanged), the run's reason carries the host's *public* text for it:
//!   the same message, except that anything the analytic itself sent (a
//!   column or dataset name that does not exist, a bin width, a quantile,
//!   clamp bounds) is left out;
//! - otherwise (an [`Error::Other`], or any error whose text the analytic
//!   wrote or changed) the reason names only the kind (`invalid`,
//!   `not-permitted`, `not-found`, `limit-reached`), and the text goes to
//!   the node operator's run log, like everything written to stdout and
//!   stderr.
//!
//! So wrap host errors with context in your own logs, not in the error you
//! return, if you want the buyer to read the host's explanation.
//! [`Error::Other`] crosses the wall as the WIT `invalid` case.

use std::fmt;

use crate::bindings::sluice::host::types::Error as WitError;

/// What went wrong, either reported by the host or raised by the guest.
///
/// ```
/// use sluice_guest::Error;
/// let e = Error::NotFound("no dataset `sales`".into());
/// assert_eq!(e.to_string(), "not found: no dataset `sales`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The policy does not allow this.
    NotPermitted(String),
    /// No such dataset or column (columns the policy hides are not found).
    NotFound(String),
    /// The request is malformed, or data did not have the expected shape.
    Invalid(String),
    /// A limit set by the policy has been reached.
    LimitReached(String),
    /// A failure raised by the analytic itself. Its text never reaches the
    /// buyer: the run's reason says `invalid`, the operator's log has it.
    Other(String),
}

/// `Result` with the SDK's [`Error`].
///
/// ```
/// fn half(x: f64) -> sluice_guest::Result<f64> { Ok(x / 2.0) }
/// assert_eq!(half(3.0), Ok(1.5));
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] with `message`.
    ///
    /// ```
    /// let e = sluice_guest::Error::invalid("bad params");
    /// assert_eq!(e, sluice_guest::Error::Invalid("bad params".into()));
    /// ```
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    /// An [`Error::Other`] with `message`.
    ///
    /// ```
    /// let e = sluice_guest::Error::other("no rows");
    /// assert_eq!(e.to_string(), "no rows");
    /// ```
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }

    /// The message without the kind.
    ///
    /// ```
    /// assert_eq!(sluice_guest::Error::invalid("x").message(), "x");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Error::NotPermitted(m)
            | Error::NotFound(m)
            | Error::Invalid(m)
            | Error::LimitReached(m)
            | Error::Other(m) => m,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotPermitted(m) => write!(f, "not permitted: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::Invalid(m) => write!(f, "invalid: {m}"),
            Error::LimitReached(m) => write!(f, "limit reached: {m}"),
            Error::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl From<WitError> for Error {
    fn from(e: WitError) -> Self {
        match e {
            WitError::NotPermitted(m) => Error::NotPermitted(m),
            WitError::NotFound(m) => Error::NotFound(m),
            WitError::Invalid(m) => Error::Invalid(m),
            WitError::LimitReached(m) => Error::LimitReached(m),
        }
    }
}

impl From<Error> for WitError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotPermitted(m) => WitError::NotPermitted(m),
            Error::NotFound(m) => WitError::NotFound(m),
            Error::Invalid(m) | Error::Other(m) => WitError::Invalid(m),
            Error::LimitReached(m) => WitError::LimitReached(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_host_errors() {
        for e in [
            Error::NotPermitted("a".into()),
            Error::NotFound("b".into()),
            Error::Invalid("c".into()),
            Error::LimitReached("d".into()),
        ] {
            assert_eq!(Error::from(WitError::from(e.clone())), e);
        }
    }

    #[test]
    fn guest_errors_cross_as_invalid() {
        assert_eq!(
            WitError::from(Error::other("boom")),
            WitError::Invalid("boom".into())
        );
    }
}
