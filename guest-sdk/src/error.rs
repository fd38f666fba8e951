//! Errors an analytic sees and returns.
//!
//! [`Error`] mirrors the host's WIT `error` variant, so a refusal from the
//! host (for example `NotPermitted` when scanning an `aggregate` column)
//! reaches the buyer unchanged when propagated with `?`. [`Error::Other`]
//! covers failures that start in the guest itself; it crosses the wall as
//! the WIT `invalid` case.

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
    /// A failure raised by the analytic itself.
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
