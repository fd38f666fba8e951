//! The RFC 6962 root of a growing log from its leaf hashes alone, in O(log n)
//! memory: the "compact range" (or frontier) of transparency logs.
//!
//! A log of `n` leaves splits into perfect subtrees, one per set bit of `n`,
//! largest first. [`Frontier`] keeps the root of each (a stack of at most
//! log2(n) + 1 hashes). Appending a leaf merges equal-sized subtrees, one
//! parent hash each, so one parent hash per leaf amortised; the root at the
//! current size folds the stack from the right, exactly as RFC 6962 §2.1
//! splits `D[0:n]` at the largest power of two below `n`.
//!
//! What this guards against: an audit that trusts the leaf hash it compares
//! with but hashes something else into the tree. The audit hashes each event
//! once and feeds that same hash here; tests compare every root with
//! `ct_merkle`'s for every size up to a few hundred and at larger sizes.

use super::{Hash, empty_root, node_hash};

/// The roots of the perfect subtrees that make up a log, largest first.
#[derive(Debug, Default, Clone)]
pub(crate) struct Frontier {
    len: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Number of leaves appended.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends the leaf whose hash is `leaf` (`SHA-256(0x00 || input)`).
    pub(crate) fn push(&mut self, leaf: Hash) {
        let mut hash = leaf;
        let mut size = self.len;
        while size & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit of len");
            hash = node_hash(&left, &hash);
            size >>= 1;
        }
        self.peaks.push(hash);
        self.len += 1;
    }

    /// The root at the current size.
    pub(crate) fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return empty_root();
        };
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MerkleTree, leaf_hash};
    use super::*;

    fn input(i: u64) -> Vec<u8> {
        format!("leaf {i}").into_bytes()
    }

    #[test]
    fn every_root_up_to_600_leaves_is_ct_merkles() {
        let mut tree = MerkleTree::new();
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), tree.root());
        for i in 0..600 {
            tree.push(&input(i));
            frontier.push(leaf_hash(&input(i)));
            assert_eq!(frontier.len(), tree.len());
            assert_eq!(frontier.root(), tree.root(), "size {}", i + 1);
        }
    }

    #[test]
    fn roots_at_larger_sizes_are_ct_merkles() {
        let sizes = [
            1023, 1024, 1025, 4095, 4096, 4097, 6151, 9000, 16_384, 20_011,
        ];
        let mut tree = MerkleTree::new();
        let mut frontier = Frontier::new();
        let mut next = sizes.iter().peekable();
        for i in 0..*sizes.last().unwrap() {
            tree.push(&input(i));
            frontier.push(leaf_hash(&input(i)));
            if next.next_if_eq(&&(i + 1)).is_some() {
                assert_eq!(frontier.root(), tree.root(), "size {}", i + 1);
                assert_eq!(frontier.peaks.len() as u32, (i + 1).count_ones());
            }
        }
        assert!(next.peek().is_none());
    }

    #[test]
    fn the_known_answer_roots_hold() {
        let mut frontier = Frontier::new();
        assert_eq!(hex::encode(frontier.root()), super::super::tests::ROOTS[0]);
        for (i, leaf) in super::super::tests::LEAVES.iter().enumerate() {
            frontier.push(leaf_hash(&hex::decode(leaf).unwrap()));
            assert_eq!(
                hex::encode(frontier.root()),
                super::super::tests::ROOTS[i + 1]
            );
        }
    }
}
