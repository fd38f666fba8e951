//! The fuel schedule of host work: how many fuel units each piece of work
//! the host does for a guest costs.
//!
//! Every figure below is counted from the request and the data (rows,
//! columns, bytes, groups, functions, values), never from timings, so the
//! same run over the same data is charged the same fuel every time. The
//! rates are calibrated so that one unit of host fuel takes about as long
//! as one unit of guest fuel (one wasm instruction, roughly): see
//! `benches/calibrate.rs` and `benches/RESULTS.md` ("Fuel calibration").
//!
//! Other streams charge their work with these constants through
//! [`super::Meter::charge`]; the README and `policies/README.md` list them.

/// Version of this schedule, recorded in the engine description of every
/// run: a replay must charge host work by the same schedule. Version 2
/// charges [`DICTIONARY_ENTRY`] for strings the host dictionary-encodes.
pub const VERSION: u32 = 2;

/// Every call from the guest into the host (Sluice interfaces, WASI, and
/// wasmtime's own libcalls such as `memory.grow`).
pub const HOST_CALL: u64 = 1_500;
/// Each byte copied between host and guest or produced for the guest (scan
/// batches, run-log writes, name-lookup arguments, output JSON).
pub const BYTE: u64 = 1;
/// Each random word (up to 8 bytes) the guest draws through `wasi:random`.
pub const RANDOM_WORD: u64 = 60;
/// Opening a scan or an aggregate's reader (file open, Parquet footer or
/// CSV header).
pub const OPEN_READER: u64 = 500_000;
/// Each value (row × column) a scan decodes and encodes into a batch.
pub const SCAN_VALUE: u64 = 60;
/// Each scan batch (decoder and encoder set-up, result lowering).
pub const SCAN_BATCH: u64 = 40_000;
/// Each dictionary entry a scan looks up: every entry of a Parquet
/// dictionary page it re-maps to its scan-wide codes, and every string the
/// host dictionary-encodes itself (plain-encoded and CSV columns scanned as
/// a dictionary; a run of equal values counts once).
pub const DICTIONARY_ENTRY: u64 = 300;
/// Each row an aggregate reads.
pub const AGGREGATE_ROW: u64 = 200;
/// Each row an aggregate reads, for its value column.
pub const AGGREGATE_VALUE: u64 = 250;
/// Each row an aggregate groups, per group key (building and hashing the key).
pub const AGGREGATE_KEY: u64 = 1_000;
/// Each group an aggregate creates.
pub const GROUP: u64 = 2_000;
/// Each function computed for each group (result built and lowered).
pub const GROUP_FUNCTION: u64 = 900;
/// Each value a quantile sorts, per doubling of the group's size
/// (`n · ⌈log2 n⌉` for the first quantile of a group).
pub const SORT_VALUE: u64 = 20;
/// Each value every further quantile of an already-sorted group passes over.
pub const QUANTILE_VALUE: u64 = 10;
/// Each row of each group's row set a difference check compares with the
/// buyer's history (bitmap intersections and their counts), counted by the
/// checked sets alone so a replay charges the same.
pub const DIFFERENCE_ROW: u64 = 20;
/// Each value of the returned table lifted and converted for release.
pub const OUTPUT_VALUE: u64 = 700;
/// Each string value of the returned table, on top of [`OUTPUT_VALUE`]
/// (allocated when lifted, escaped when encoded, freed).
pub const OUTPUT_STRING: u64 = 900;

/// Units for `n` bytes.
pub const fn bytes(n: u64) -> u64 {
    n.saturating_mul(BYTE)
}

/// Units to sort `n` values once.
pub fn sort(n: u64) -> u64 {
    let doublings = u64::from(u64::BITS - n.saturating_sub(1).leading_zeros()).max(1);
    n.saturating_mul(doublings).saturating_mul(SORT_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_is_n_log_n() {
        assert_eq!(sort(0), 0);
        assert_eq!(sort(1), SORT_VALUE);
        assert_eq!(sort(2), 2 * SORT_VALUE);
        assert_eq!(sort(1024), 1024 * 10 * SORT_VALUE);
        assert_eq!(sort(1025), 1025 * 11 * SORT_VALUE);
        assert_eq!(sort(u64::MAX), u64::MAX, "saturates");
    }

    #[test]
    fn bytes_saturate() {
        assert_eq!(bytes(3), 3 * BYTE);
        assert_eq!(bytes(u64::MAX), u64::MAX);
    }
}
