//! Known-answer tests of the tree against transparency-dev/merkle's RFC 6962
//! reference vectors (testonly/constants.go and reference_test.go), and of
//! the rebuild from leaf hashes against `ct_merkle`'s own appends.

use super::*;

pub(super) const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// RootHashes(): the root of the tree of the first `i` leaves.
pub(super) const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (size, index, audit path)
const INCLUSION: [(u64, u64, &[&str]); 7] = [
    (1, 0, &[]),
    (
        2,
        0,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        2,
        1,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        3,
        2,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        5,
        1,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        8,
        0,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        8,
        5,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// (from, to, consistency proof)
const CONSISTENCY: [(u64, u64, &[&str]); 4] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn leaf(i: usize) -> Vec<u8> {
    hex::decode(LEAVES[i]).unwrap()
}

fn tree(size: u64) -> MerkleTree {
    let mut t = MerkleTree::new();
    (0..size as usize).for_each(|i| t.push(&leaf(i)));
    t
}

#[test]
fn roots_match_the_reference() {
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree(size as u64).root(), h(root), "size {size}");
    }
    assert_eq!(empty_root(), h(ROOTS[0]));
    assert_eq!(leaf_hash(&leaf(0)), h(ROOTS[1]));
}

#[test]
fn inclusion_proofs_match_the_reference_and_verify() {
    for (size, index, path) in INCLUSION {
        let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
        assert_eq!(
            tree(size).inclusion_proof(index).unwrap(),
            want,
            "size {size} index {index}"
        );
        let root = h(ROOTS[size as usize]);
        verify_inclusion(&leaf(index as usize), index, size, &root, &want).unwrap();
        let other = leaf((index as usize + 1) % 8);
        assert!(
            verify_inclusion(&other, index, size, &root, &want).is_err()
                || size == 1 && other == leaf(0)
        );
    }
}

#[test]
fn consistency_proofs_match_the_reference_and_verify() {
    for (from, to, path) in CONSISTENCY {
        let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
        assert_eq!(
            tree(to).consistency_proof(from).unwrap(),
            want,
            "{from} -> {to}"
        );
        let (a, b) = (h(ROOTS[from as usize]), h(ROOTS[to as usize]));
        verify_consistency(from, &a, to, &b, &want).unwrap();
        if from != to {
            assert_eq!(
                verify_consistency(from, &b, to, &b, &want),
                Err(MerkleError::RootMismatch)
            );
        }
    }
}

#[test]
fn tampered_proofs_fail() {
    let t = tree(8);
    let root = t.root();
    let mut proof = t.inclusion_proof(5).unwrap();
    proof[1][0] ^= 1;
    assert_eq!(
        verify_inclusion(&leaf(5), 5, 8, &root, &proof),
        Err(MerkleError::RootMismatch)
    );
    proof.pop();
    assert_eq!(
        verify_inclusion(&leaf(5), 5, 8, &root, &proof),
        Err(MerkleError::MalformedProof)
    );
    assert!(matches!(
        t.inclusion_proof(8),
        Err(MerkleError::IndexOutOfRange { .. })
    ));
}

#[test]
fn rebuilding_from_leaf_hashes_gives_ct_merkles_tree() {
    let mut pushed = MerkleTree::new();
    let mut hashes = Vec::new();
    for n in 0..300u64 {
        let rebuilt = MerkleTree::from_leaf_hashes(&hashes).unwrap();
        assert_eq!(rebuilt.root(), pushed.root(), "size {n}");
        for i in [0, n / 3, n.saturating_sub(1)] {
            if i < n {
                assert_eq!(
                    rebuilt.inclusion_proof(i).unwrap(),
                    pushed.inclusion_proof(i).unwrap()
                );
            }
        }
        if n > 1 {
            assert_eq!(
                rebuilt.consistency_proof(n / 2).unwrap(),
                pushed.consistency_proof(n / 2).unwrap()
            );
        }
        let input = n.to_be_bytes();
        hashes.push(leaf_hash(&input));
        pushed.push(&input);
    }
    // A rebuilt tree keeps growing exactly like ct_merkle's.
    let mut rebuilt = MerkleTree::from_leaf_hashes(&hashes[..77]).unwrap();
    (77..300u64).for_each(|n| rebuilt.push(&n.to_be_bytes()));
    assert_eq!(rebuilt.root(), pushed.root());
}
