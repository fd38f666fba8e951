//! The persisted privacy budget of each (buyer, dataset) pair.
//!
//! Defends against a buyer averaging the noise away: every noisy release
//! spends epsilon, and once a buyer's spending on a dataset reaches the
//! owner's budget, further queries are refused. The store is what makes the
//! budget survive restarts and hold under concurrent runs.
//!
//! # Storage
//!
//! A SQLite file (the crate is built with SQLite bundled), in WAL mode with
//! `synchronous=FULL`, so a charge that returned is on disk before any noisy
//! value it paid for can be released. Every charge is one row, never an
//! update of a running total, so the spending history is auditable:
//!
//! ```sql
//! CREATE TABLE privacy_charge (
//!     id                   INTEGER PRIMARY KEY,  -- order of charges
//!     buyer                TEXT    NOT NULL,
//!     dataset              TEXT    NOT NULL,
//!     epsilon_nano         INTEGER NOT NULL CHECK (epsilon_nano > 0),
//!     budget_nano          INTEGER NOT NULL CHECK (budget_nano >= 0),
//!     at_unix_ns           INTEGER NOT NULL,     -- when it was charged
//!     refresh_ns           INTEGER,              -- NULL: budget never refreshes
//!     period_start_unix_ns INTEGER NOT NULL      -- start of the period charged; 0 if none
//! ) STRICT;
//! CREATE INDEX privacy_charge_by_pair ON privacy_charge (buyer, dataset, at_unix_ns);
//! ```
//!
//! The schema version is kept in `PRAGMA user_version` (currently 1); a
//! file from a newer Sluice is refused rather than misread.
//!
//! # Exact arithmetic
//!
//! Epsilons are stored and added as integers in *nano-epsilon* (10⁻⁹), so
//! sums never drift the way f64 sums do (ten charges of 0.1 spend exactly a
//! budget of 1.0). An f64 is converted through its shortest decimal form
//! (the digits a policy author wrote: `0.1` is exactly 100 000 000 units);
//! digits beyond the ninth decimal round a *charge up* and a *budget down*,
//! so rounding can only refuse slightly early, never overspend. Charge a
//! query's total epsilon once, rather than each of its parts: `1/3` three
//! times rounds up three times.
//!
//! # Refresh periods
//!
//! With `refresh = Some(p)` the budget resets at each multiple of `p` since
//! the Unix epoch: the spending that counts is the sum of the charges made at
//! or after the start of the period that contains `now`. Charges stamped
//! later than `now` (a clock stepped back) still count, so a clock change can
//! only make the store stricter. With `refresh = None` every charge ever
//! made counts. Because the window is computed from each charge's time, a
//! policy that changes its refresh period takes effect without rewriting
//! history.
//!
//! # Concurrency
//!
//! Each charge is one `BEGIN IMMEDIATE` transaction: it takes SQLite's write
//! lock before reading the spending, so two runs (threads of this process
//! or other processes on the same file) cannot both see the same remainder
//! and overspend. The connection sits behind a mutex; other processes wait
//! on SQLite's busy timeout.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, TransactionBehavior, params};

use super::error::PrivacyError;
use super::store;

/// Nano-epsilon units per unit of epsilon.
const UNITS: i64 = 1_000_000_000;
/// Number of decimal places kept (log10 of [`UNITS`]).
const DECIMALS: usize = 9;

/// Largest epsilon, and largest budget, the store accepts.
pub const MAX_EPSILON: f64 = 1e9;

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS privacy_charge (
    id                   INTEGER PRIMARY KEY,
    buyer                TEXT    NOT NULL,
    dataset              TEXT    NOT NULL,
    epsilon_nano         INTEGER NOT NULL CHECK (epsilon_nano > 0),
    budget_nano          INTEGER NOT NULL CHECK (budget_nano >= 0),
    at_unix_ns           INTEGER NOT NULL,
    refresh_ns           INTEGER,
    period_start_unix_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS privacy_charge_by_pair
    ON privacy_charge (buyer, dataset, at_unix_ns);
";

const SPENT_SQL: &str = "SELECT COALESCE(SUM(epsilon_nano), 0) FROM privacy_charge \
     WHERE buyer = ?1 AND dataset = ?2 AND at_unix_ns >= ?3";

/// One recorded charge, as read back for audit.
#[derive(Debug, Clone, PartialEq)]
pub struct Charge {
    /// Position in the store (increasing with time of recording).
    pub id: i64,
    /// Buyer charged.
    pub buyer: String,
    /// Dataset charged.
    pub dataset: String,
    /// Epsilon charged, in nano-epsilon (exact).
    pub epsilon_nano: i64,
    /// The budget in force when charged, in nano-epsilon.
    pub budget_nano: i64,
    /// When the charge was made.
    pub at: SystemTime,
    /// The refresh period in force (`None`: never refreshes).
    pub refresh: Option<Duration>,
    /// Start of the refresh period charged (the epoch if none).
    pub period_start: SystemTime,
}

impl Charge {
    /// Epsilon charged.
    pub fn epsilon(&self) -> f64 {
        from_units(self.epsilon_nano)
    }
}

/// The persisted privacy budgets of a node: one SQLite database.
pub struct BudgetStore {
    pub(super) conn: Mutex<Connection>,
}

impl std::fmt::Debug for BudgetStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BudgetStore").finish_non_exhaustive()
    }
}

impl BudgetStore {
    /// Opens (creating if needed) the store at `path`, in WAL mode with
    /// `synchronous=FULL`, and creates the schema if it is missing.
    pub fn open(path: &Path) -> Result<Self, PrivacyError> {
        Ok(Self {
            conn: Mutex::new(store::open(path, SCHEMA, SCHEMA_VERSION)?),
        })
    }

    /// A store that lives in memory only, for tests and dry runs.
    pub fn in_memory() -> Result<Self, PrivacyError> {
        Ok(Self {
            conn: Mutex::new(store::in_memory(SCHEMA, SCHEMA_VERSION)?),
        })
    }

    /// Atomically checks that `epsilon` more fits in `budget` for
    /// (`buyer`, `dataset`) within the current refresh period, and if so
    /// records the charge and returns the epsilon that remains.
    ///
    /// `refresh = None` never refreshes; `Some(period)` resets the budget at
    /// each period boundary counted from the Unix epoch. When the charge does
    /// not fit, nothing is recorded and the error is
    /// [`PrivacyError::BudgetExhausted`].
    pub fn charge(
        &self,
        buyer: &str,
        dataset: &str,
        epsilon: f64,
        budget: f64,
        refresh: Option<Duration>,
        now: SystemTime,
    ) -> Result<f64, PrivacyError> {
        super::noise::check_epsilon(epsilon)?;
        let asked = to_units(epsilon, Round::Up).ok_or(PrivacyError::OutOfRange {
            what: "epsilon",
            value: epsilon,
            max: MAX_EPSILON,
        })?;
        let limit = budget_units(budget)?;
        let window = Window::new(refresh, now)?;

        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let spent: i64 =
            tx.query_row(SPENT_SQL, params![buyer, dataset, window.start_ns], |row| {
                row.get(0)
            })?;
        // `spent` and `asked` are each at most ~1e18, so the sum fits an i64.
        if spent + asked > limit {
            drop(tx); // rolls back: nothing was written
            return Err(PrivacyError::BudgetExhausted {
                buyer: buyer.to_owned(),
                dataset: dataset.to_owned(),
                spent: from_units(spent),
                budget: from_units(limit),
                asked: epsilon,
            });
        }
        tx.execute(
            "INSERT INTO privacy_charge \
             (buyer, dataset, epsilon_nano, budget_nano, at_unix_ns, refresh_ns, period_start_unix_ns) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                buyer,
                dataset,
                asked,
                limit,
                window.now_ns,
                window.refresh_ns,
                window.start_ns
            ],
        )?;
        tx.commit()?;
        Ok(from_units(limit - spent - asked))
    }

    /// Epsilon spent by `buyer` on `dataset` in the refresh period containing
    /// `now` (all time when `refresh` is `None`).
    pub fn spent(
        &self,
        buyer: &str,
        dataset: &str,
        refresh: Option<Duration>,
        now: SystemTime,
    ) -> Result<f64, PrivacyError> {
        let window = Window::new(refresh, now)?;
        let conn = self.lock();
        let spent: i64 =
            conn.query_row(SPENT_SQL, params![buyer, dataset, window.start_ns], |row| {
                row.get(0)
            })?;
        Ok(from_units(spent))
    }

    /// Every charge recorded for (`buyer`, `dataset`), oldest first.
    pub fn charges(&self, buyer: &str, dataset: &str) -> Result<Vec<Charge>, PrivacyError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, buyer, dataset, epsilon_nano, budget_nano, at_unix_ns, refresh_ns, \
             period_start_unix_ns FROM privacy_charge WHERE buyer = ?1 AND dataset = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![buyer, dataset], |row| {
            let refresh: Option<i64> = row.get(6)?;
            Ok(Charge {
                id: row.get(0)?,
                buyer: row.get(1)?,
                dataset: row.get(2)?,
                epsilon_nano: row.get(3)?,
                budget_nano: row.get(4)?,
                at: from_unix_ns(row.get(5)?),
                refresh: refresh.map(|ns| Duration::from_nanos(ns.unsigned_abs())),
                period_start: from_unix_ns(row.get(7)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The connection. A thread that panicked while holding it cannot have
    /// left a transaction open (dropping one rolls it back), so a poisoned
    /// lock is safe to take over.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The charges that count at `now`: those stamped at or after `start_ns`.
struct Window {
    now_ns: i64,
    refresh_ns: Option<i64>,
    start_ns: i64,
}

impl Window {
    fn new(refresh: Option<Duration>, now: SystemTime) -> Result<Self, PrivacyError> {
        let now_ns = now
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_nanos()).ok())
            .ok_or(PrivacyError::BadClock)?;
        let Some(period) = refresh else {
            return Ok(Self {
                now_ns,
                refresh_ns: None,
                start_ns: 0,
            });
        };
        let period_ns = period.as_nanos();
        if period_ns == 0 {
            return Err(PrivacyError::InvalidRefresh);
        }
        // A period longer than i64 nanoseconds (~292 years) has not yet ended
        // once since the epoch: its start is the epoch.
        let now_u = now_ns.unsigned_abs() as u128;
        let start = now_u / period_ns * period_ns;
        Ok(Self {
            now_ns,
            refresh_ns: Some(i64::try_from(period_ns).unwrap_or(i64::MAX)),
            // start <= now_ns, which fits an i64.
            start_ns: i64::try_from(start).unwrap_or(0),
        })
    }
}

fn from_unix_ns(ns: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(ns.max(0).unsigned_abs())
}

fn budget_units(budget: f64) -> Result<i64, PrivacyError> {
    if !(budget.is_finite() && budget >= 0.0) {
        return Err(PrivacyError::InvalidBudget { budget });
    }
    to_units(budget, Round::Down).ok_or(PrivacyError::OutOfRange {
        what: "budget",
        value: budget,
        max: MAX_EPSILON,
    })
}

/// Which way digits past the ninth decimal go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Round {
    /// Towards +∞ (charges: never undercharge).
    Up,
    /// Towards 0 (budgets: never over-allow).
    Down,
}

/// Converts a finite, non-negative `x <= MAX_EPSILON` to nano-epsilon through
/// its shortest decimal representation; `None` when out of range.
pub(crate) fn to_units(x: f64, round: Round) -> Option<i64> {
    if !(x.is_finite() && (0.0..=MAX_EPSILON).contains(&x)) {
        return None;
    }
    // `Display` for f64 prints the shortest digits that round-trip, in plain
    // (never exponent) notation: 0.1 -> "0.1", 1e-10 -> "0.0000000001".
    let text = x.to_string();
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let whole: i64 = whole.parse().ok()?;
    let kept = &frac[..frac.len().min(DECIMALS)];
    let dropped = &frac[kept.len()..];
    let mut units = whole.checked_mul(UNITS)?;
    let scale = 10i64.pow((DECIMALS - kept.len()) as u32);
    if !kept.is_empty() {
        units = units.checked_add(kept.parse::<i64>().ok()?.checked_mul(scale)?)?;
    }
    if round == Round::Up && dropped.bytes().any(|b| b != b'0') {
        units = units.checked_add(1)?;
    }
    Some(units)
}

/// Nano-epsilon back to epsilon (correctly rounded, so 900 000 000 prints
/// as 0.9).
pub(crate) fn from_units(units: i64) -> f64 {
    units as f64 / UNITS as f64
}
