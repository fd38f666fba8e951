//! Errors the host hands a guest, with the two texts each one has: the
//! message the guest receives, and the public text the buyer may read in
//! the run's reason if the guest gives up with that very error.
//!
//! Defends the release guarantee against exfiltration through host error
//! text. A guest can make the host refuse a request built from any string
//! it likes (a column or dataset name, a quantile, a bin width) and then
//! return that refusal as its own error; if the buyer saw the host's message
//! verbatim, the guest would have a channel of its choosing. So a message
//! that echoes anything the guest sent has a separate public text that does
//! not: public texts contain only fixed words, names the policy or the run
//! already makes visible (datasets of the run, visible columns), and figures
//! from the policy. A guest chooses *which* refusal to provoke, a bounded
//! handful of bits that `policies/README.md` counts with the other channels.

use sluice_host_api::types::Error as WitError;

use crate::error::DataError;
use crate::outcome::GuestErrorKind;

/// A refusal the host returns to the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The WIT error case.
    pub kind: GuestErrorKind,
    /// What the guest reads (may echo what the guest asked for).
    pub message: String,
    /// What the buyer may read (never echoes guest input).
    pub public: String,
}

impl Refusal {
    /// A refusal whose message echoes nothing the guest sent, so it is its
    /// own public text.
    pub fn new(kind: GuestErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            kind,
            public: message.clone(),
            message,
        }
    }

    /// `not-permitted`.
    pub fn not_permitted(message: impl Into<String>) -> Self {
        Self::new(GuestErrorKind::NotPermitted, message)
    }

    /// `not-found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(GuestErrorKind::NotFound, message)
    }

    /// `invalid`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(GuestErrorKind::Invalid, message)
    }

    /// `limit-reached`.
    pub fn limit_reached(message: impl Into<String>) -> Self {
        Self::new(GuestErrorKind::LimitReached, message)
    }

    /// Replaces the public text: for messages that echo guest input.
    pub fn public(mut self, public: impl Into<String>) -> Self {
        self.public = public.into();
        self
    }

    /// The error as the guest receives it.
    pub fn to_wit(&self) -> WitError {
        let m = self.message.clone();
        match self.kind {
            GuestErrorKind::NotPermitted => WitError::NotPermitted(m),
            GuestErrorKind::NotFound => WitError::NotFound(m),
            GuestErrorKind::Invalid => WitError::Invalid(m),
            GuestErrorKind::LimitReached => WitError::LimitReached(m),
        }
    }

    /// Whether the guest returned exactly this refusal.
    pub fn is(&self, e: &WitError) -> bool {
        kind_of(e) == self.kind && message_of(e) == self.message
    }
}

impl From<DataError> for Refusal {
    /// A dataset that could not be read: the guest (and the buyer) read
    /// [`DataError::for_guest`], which names the file, row, column and
    /// type but never a value, a reader's message or a node path; the
    /// operator's log has the full error.
    fn from(e: DataError) -> Self {
        tracing::warn!(error = %e, "dataset read failed");
        Refusal::invalid(e.for_guest())
    }
}

/// The kind of a guest-visible error.
pub fn kind_of(e: &WitError) -> GuestErrorKind {
    match e {
        WitError::NotPermitted(_) => GuestErrorKind::NotPermitted,
        WitError::NotFound(_) => GuestErrorKind::NotFound,
        WitError::Invalid(_) => GuestErrorKind::Invalid,
        WitError::LimitReached(_) => GuestErrorKind::LimitReached,
    }
}

/// The text of a guest-visible error.
pub fn message_of(e: &WitError) -> &str {
    match e {
        WitError::NotPermitted(m)
        | WitError::NotFound(m)
        | WitError::Invalid(m)
        | WitError::LimitReached(m) => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_text_defaults_to_the_message_and_can_be_replaced() {
        let plain = Refusal::invalid("a scan needs at least one column");
        assert_eq!(plain.public, plain.message);
        let echo = Refusal::not_found("no column `x`").public("no such column");
        assert_eq!(echo.message, "no column `x`");
        assert_eq!(echo.public, "no such column");
        assert!(echo.is(&WitError::NotFound("no column `x`".into())));
        assert!(!echo.is(&WitError::Invalid("no column `x`".into())));
        assert!(!echo.is(&WitError::NotFound("no such column".into())));
    }
}
