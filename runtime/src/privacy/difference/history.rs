//! The in-memory index of one (buyer, snapshot)'s released row sets, and the
//! check itself.
//!
//! Two row sets `A` and `B` can be differenced into figures about fewer than
//! `k` people exactly when `0 < |A Δ B| < k`: the difference of their sums is
//! `sum(A \ B) - sum(B \ A)`, a figure over `|A Δ B|` rows. Checking a new
//! set against every remembered one would cost `O(history)` per group, so
//! the index keeps, for every remembered set `B`, its `k` smallest row ids
//! (its *anchors*). If `|A Δ B| < k` then fewer than `k` rows of `B` are
//! missing from `A`, so at least one anchor of `B` is in `A`: looking up
//! every row of `A` among the anchors finds every set that could conflict,
//! with work proportional to `|A|` (which the query already scanned).
//! Those candidates are then filtered by size (`||A| - |B|| < k`) and only
//! the survivors' bitmaps are intersected exactly.
//!
//! Memory: anchors take 8 bytes each (`k` per remembered set, at most
//! [`MAX_ANCHORS`] in all); bitmaps are read from the store on demand and
//! kept in a cache of at most [`BITMAP_CACHE_BYTES`].

use std::collections::{BTreeSet, HashMap};

use roaring::RoaringBitmap;

/// Most row sets remembered per (buyer, snapshot).
pub const MAX_SETS: usize = 100_000;
/// Most anchors (`k` per remembered set) per (buyer, snapshot).
pub const MAX_ANCHORS: usize = 4_000_000;
/// Most bytes of bitmaps a run keeps in memory at once.
pub(crate) const BITMAP_CACHE_BYTES: usize = 64 << 20;

/// The outcome of checking one set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Differs from a remembered set by 1 to `k - 1` rows.
    Refused,
    /// Exactly a remembered set.
    Known,
    /// Differs from every remembered set by 0 or at least `k` rows, and is
    /// not one of them.
    New,
}

/// One remembered set, as the index knows it.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    /// Its id in the store (negative: made in this process, not stored).
    pub(crate) id: i64,
    /// Its size.
    pub(crate) rows: u64,
}

/// The remembered sets of one (buyer, snapshot), indexed by anchors.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Anchors needed per set: the minimum group size `k`.
    k: u64,
    sets: Vec<Known>,
    /// `(row, index into sets)`, sorted: the bulk, loaded from the store.
    base: Vec<(u32, u32)>,
    /// Anchors added since `base` was sorted, sorted too.
    recent: Vec<(u32, u32)>,
    /// Bitmaps kept in memory, by index into `sets`.
    cache: HashMap<u32, RoaringBitmap>,
    cache_bytes: usize,
    /// Highest store id loaded.
    pub(crate) max_id: i64,
    /// Work done: rows looked up plus rows of bitmaps intersected.
    pub(crate) work: u64,
}

/// The `k` smallest rows of `set` (all of them if it has fewer).
pub(crate) fn anchors(set: &RoaringBitmap, k: u64) -> Vec<u32> {
    set.iter().take(k as usize).collect()
}

impl History {
    /// An empty history for minimum group size `k`.
    pub(crate) fn new(k: u64) -> Self {
        Self {
            k: k.max(1),
            ..Self::default()
        }
    }

    /// Sets remembered.
    pub(crate) fn len(&self) -> usize {
        self.sets.len()
    }

    /// Anchors held.
    pub(crate) fn anchor_count(&self) -> usize {
        self.base.len() + self.recent.len()
    }

    /// The minimum group size the anchors serve.
    pub(crate) fn k(&self) -> u64 {
        self.k
    }

    /// Adds a remembered set with its anchors (its `k` smallest rows).
    pub(crate) fn add(&mut self, known: Known, anchors: &[u32], bitmap: Option<RoaringBitmap>) {
        let index = self.sets.len() as u32;
        self.max_id = self.max_id.max(known.id);
        self.sets.push(known);
        self.recent.extend(anchors.iter().map(|r| (*r, index)));
        if let Some(b) = bitmap {
            self.cache_put(index, b);
        }
    }

    /// Sorts what was added; call after a batch of [`Self::add`].
    pub(crate) fn settle(&mut self) {
        self.recent.sort_unstable();
        if self.recent.len() * 4 > self.base.len() {
            self.base.append(&mut self.recent);
            self.base.sort_unstable();
        }
    }

    fn cache_put(&mut self, index: u32, bitmap: RoaringBitmap) {
        let size = bitmap.serialized_size();
        if size > BITMAP_CACHE_BYTES {
            return;
        }
        while self.cache_bytes + size > BITMAP_CACHE_BYTES {
            let Some(victim) = self.cache.keys().next().copied() else {
                break;
            };
            if let Some(old) = self.cache.remove(&victim) {
                self.cache_bytes -= old.serialized_size();
            }
        }
        self.cache_bytes += size;
        self.cache.insert(index, bitmap);
    }

    /// Indices of sets that have an anchor in `set`.
    fn candidates(&mut self, set: &RoaringBitmap) -> BTreeSet<u32> {
        let mut found = BTreeSet::new();
        for row in set.iter() {
            self.work += 1;
            for list in [&self.base, &self.recent] {
                let start = list.partition_point(|(r, _)| *r < row);
                found.extend(
                    list[start..]
                        .iter()
                        .take_while(|(r, _)| *r == row)
                        .map(|(_, i)| *i),
                );
            }
        }
        found
    }

    /// Whether `set` differs from a remembered set by between 1 and `k - 1`
    /// rows. `load` reads a remembered set's bitmap by its store id.
    #[cfg(test)]
    pub(crate) fn conflicts(
        &mut self,
        set: &RoaringBitmap,
        load: impl FnMut(i64) -> Option<RoaringBitmap>,
    ) -> bool {
        self.check(set, load) == Verdict::Refused
    }

    /// Checks `set`: refused, already remembered (the same rows released
    /// before: nothing new to remember), or new.
    pub(crate) fn check(
        &mut self,
        set: &RoaringBitmap,
        mut load: impl FnMut(i64) -> Option<RoaringBitmap>,
    ) -> Verdict {
        let a = set.len();
        for index in self.candidates(set) {
            let known = &self.sets[index as usize];
            if a.abs_diff(known.rows) >= self.k {
                continue;
            }
            let id = known.id;
            let other = match self.cache.get(&index) {
                Some(b) => b.clone(),
                None => match load(id) {
                    Some(b) => {
                        self.cache_put(index, b.clone());
                        b
                    }
                    // A set that cannot be read is treated as conflicting:
                    // refusing is the safe side.
                    None => return Verdict::Refused,
                },
            };
            self.work += a.min(other.len());
            let shared = set.intersection_len(&other);
            let differ = a + other.len() - 2 * shared;
            if differ == 0 {
                // Checked against everything when it was remembered, and
                // everything since was checked against it.
                return Verdict::Known;
            }
            if differ < self.k {
                return Verdict::Refused;
            }
        }
        Verdict::New
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(rows: impl IntoIterator<Item = u32>) -> RoaringBitmap {
        rows.into_iter().collect()
    }

    fn history(k: u64, sets: &[RoaringBitmap]) -> History {
        let mut h = History::new(k);
        for (i, s) in sets.iter().enumerate() {
            h.add(
                Known {
                    id: i as i64,
                    rows: s.len(),
                },
                &anchors(s, k),
                Some(s.clone()),
            );
        }
        h.settle();
        h
    }

    #[test]
    fn a_set_one_row_larger_conflicts_and_identical_or_distant_sets_do_not() {
        let a = set(0..100);
        let mut h = history(10, std::slice::from_ref(&a));
        let none = |_| None;
        assert!(h.conflicts(&set(0..101), none), "superset by one row");
        assert!(h.conflicts(&set(1..100), none), "subset by one row");
        assert!(h.conflicts(&set((0..100).filter(|r| *r != 50)), none));
        assert!(
            !h.conflicts(&a, none),
            "the same set again is no difference"
        );
        assert!(!h.conflicts(&set(0..110), none), "10 rows apart is k apart");
        assert!(!h.conflicts(&set(500..600), none), "disjoint");
    }

    #[test]
    fn a_swap_of_rows_counts_both_ways() {
        let mut h = history(10, &[set(0..100)]);
        // Rows 0..5 swapped for 100..105: |A Δ B| = 10, not < k.
        assert!(!h.conflicts(&set(5..105), |_| None));
        // Rows 0..4 swapped for 100..104: |A Δ B| = 8.
        assert!(h.conflicts(&set(4..104), |_| None));
    }

    #[test]
    fn the_anchor_lookup_finds_sets_whose_smallest_rows_are_missing() {
        // The remembered set's 9 smallest rows are missing from the new one,
        // but its 10th (an anchor, k = 10) is present.
        let mut h = history(10, &[set(0..1000)]);
        assert!(h.conflicts(&set(9..1000), |_| None));
        assert!(!h.conflicts(&set(10..1000), |_| None));
    }

    #[test]
    fn bitmaps_not_in_memory_are_loaded_by_id_and_unreadable_ones_refuse() {
        let stored = set(0..50);
        let mut h = History::new(5);
        h.add(Known { id: 7, rows: 50 }, &anchors(&stored, 5), None);
        h.settle();
        let mut asked = Vec::new();
        assert!(h.conflicts(&set(0..51), |id| {
            asked.push(id);
            Some(stored.clone())
        }));
        assert_eq!(asked, [7]);
        let mut fresh = History::new(5);
        fresh.add(Known { id: 8, rows: 50 }, &anchors(&stored, 5), None);
        fresh.settle();
        assert!(fresh.conflicts(&set(0..52), |_| None));
    }

    #[test]
    fn work_is_proportional_to_the_rows_checked() {
        let sets: Vec<_> = (0..200u32).map(|g| set(g * 50..g * 50 + 50)).collect();
        let mut h = history(10, &sets);
        let probe = set(20_000..20_050);
        assert!(!h.conflicts(&probe, |_| None));
        assert_eq!(h.work, 50, "50 lookups and no intersection");
    }
}
