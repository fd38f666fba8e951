//! The one error type of the privacy module.
//!
//! Every refusal names what was wrong and what to do about it, because these
//! messages reach two audiences: the data owner writing a policy (bad
//! epsilon, bad bounds, bad refresh period) and the buyer whose query was
//! refused (budget exhausted). Defends against silent misconfiguration: an
//! invalid epsilon or bound is refused before any noise is drawn or any
//! budget is charged, never coerced into something that "works".

use std::path::PathBuf;

/// Why a noisy release or a privacy-budget charge was refused.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The privacy-loss parameter was zero, negative, NaN or infinite.
    #[error(
        "epsilon must be a finite number greater than 0, got {epsilon}: \
         set a positive `epsilon` in the policy's differential-privacy section"
    )]
    InvalidEpsilon {
        /// The value that was given.
        epsilon: f64,
    },

    /// A value was larger than the privacy module can represent.
    #[error(
        "{what} is {value}, above the largest supported value {max}: \
         such a value gives no meaningful privacy; use a smaller one"
    )]
    OutOfRange {
        /// Which parameter ("epsilon", "budget", ...).
        what: &'static str,
        /// The value that was given.
        value: f64,
        /// The largest value accepted.
        max: f64,
    },

    /// Clamping bounds that are not finite or not ordered.
    #[error(
        "clamping bounds must be finite with lower <= upper, got [{lower}, {upper}]: \
         state finite bounds for this column in the policy or in the query"
    )]
    InvalidBounds {
        /// Lower bound given.
        lower: f64,
        /// Upper bound given.
        upper: f64,
    },

    /// The exact aggregate handed to the mechanism is not a finite number.
    #[error(
        "the exact {what} to be noised is {value}, not a finite number: \
         the values must be clamped to finite bounds before they are summed"
    )]
    InvalidAggregate {
        /// Which aggregate ("sum").
        what: &'static str,
        /// The value that was given.
        value: f64,
    },

    /// A count too large for the integer mechanism.
    #[error("count {count} is too large to be noised (the maximum is {max})")]
    CountTooLarge {
        /// The count that was given.
        count: u64,
        /// The largest count accepted.
        max: u64,
    },

    /// Sensitivity divided by epsilon overflows: the noise would be infinite.
    #[error(
        "noise scale overflows: sensitivity {sensitivity} / epsilon {epsilon} is not finite; \
         use narrower clamping bounds or a larger epsilon"
    )]
    ScaleOverflow {
        /// Sensitivity of the query.
        sensitivity: f64,
        /// Epsilon asked for.
        epsilon: f64,
    },

    /// OpenDP refused to build or run the mechanism (or ran out of entropy).
    #[error("the differential-privacy mechanism failed: {0}; nothing was released")]
    Mechanism(String),

    /// A δ that is not in (0, 1), or so small no threshold reaches it.
    #[error(
        "delta must be a number between 0 and 1 that a threshold can reach, got {delta}: \
         set `delta` in the policy's differential-privacy section (1e-6 is common)"
    )]
    InvalidDelta {
        /// The value that was given.
        delta: f64,
    },

    /// A replayed run asked for a draw the record does not hold.
    #[error(
        "replay diverged: the recorded run drew {recorded} where the replay asks for {asked}; \
         the data, the policy or the module differ from the recorded run"
    )]
    ReplayDiverged {
        /// The recorded draw.
        recorded: String,
        /// What the replay asked for.
        asked: String,
    },

    /// A replayed run asked for more draws than were recorded.
    #[error(
        "replay diverged: the replay asks for more noise than the recorded run drew; \
         the data, the policy or the module differ from the recorded run"
    )]
    ReplayExhausted,

    /// The difference-check record of this buyer for this snapshot is full.
    #[error(
        "the node remembers the most row sets it keeps for this buyer on dataset `{dataset}` \
         ({sets}), so further exact aggregates over its current snapshot cannot be checked \
         against differencing and are refused; ask the data owner to enable differential \
         privacy (`[privacy]`) for this dataset"
    )]
    HistoryFull {
        /// The dataset.
        dataset: String,
        /// Sets remembered.
        sets: u64,
    },

    /// The budget itself is negative, NaN or infinite.
    #[error(
        "privacy budget must be a finite number >= 0, got {budget}: \
         fix the budget in the policy's differential-privacy section"
    )]
    InvalidBudget {
        /// The value that was given.
        budget: f64,
    },

    /// A refresh period of zero length.
    #[error(
        "privacy budget refresh period must be longer than zero: \
         omit it for a budget that never refreshes, or give a positive duration"
    )]
    InvalidRefresh,

    /// The clock reads a time before 1970 or too far in the future.
    #[error(
        "the system clock reads a time the privacy budget store cannot use \
         (before 1970 or after 2262): fix the node's clock"
    )]
    BadClock,

    /// The buyer has not enough budget left for this query.
    #[error(
        "privacy budget exhausted for buyer {buyer} on dataset {dataset}: \
         spent {spent:?} of {budget:?}, this query needs {asked:?}; nothing was charged. \
         Ask for a smaller epsilon, wait for the budget's refresh period if the policy has one, \
         or ask the data owner for a larger budget"
    )]
    BudgetExhausted {
        /// Buyer charged.
        buyer: String,
        /// Dataset charged.
        dataset: String,
        /// Epsilon already spent in the current period.
        spent: f64,
        /// The budget for the period.
        budget: f64,
        /// Epsilon this query asked for.
        asked: f64,
    },

    /// The budget store file could not be opened or set up.
    #[error(
        "could not open the privacy budget store {}: {source}; \
         check that the directory exists and is writable by the node",
        path.display()
    )]
    StoreOpen {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The budget store file was written by a newer Sluice.
    #[error(
        "the privacy budget store has schema version {found}, this Sluice understands \
         up to {supported}: run a Sluice at least as new as the one that wrote it"
    )]
    StoreVersion {
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// Highest version this code knows.
        supported: i64,
    },

    /// SQLite would not put the store in write-ahead-log mode.
    #[error(
        "the privacy budget store could not switch to WAL journaling (got `{mode}`): \
         put the store on a local file system that supports it"
    )]
    NotWal {
        /// The journal mode SQLite reported.
        mode: String,
    },

    /// A read or write of the budget store failed.
    #[error("privacy budget store error: {0}; nothing was charged")]
    Store(#[from] rusqlite::Error),
}
