//! The RFC 6962 / RFC 9162 Merkle tree of the log, built with `ct-merkle`.
//!
//! Leaf `i` of the log is the canonical bytes of event `i`; its hash is
//! `SHA-256(0x00 || bytes)` and interior nodes are `SHA-256(0x01 || left ||
//! right)` (RFC 6962 §2.1). [`MerkleTree`] wraps `ct_merkle`'s in-memory tree
//! (appends, roots, inclusion and consistency proofs at the current size) and
//! keeps only hashes: each leaf's bytes are dropped once hashed, so a million
//! events cost about 80 MB. [`verify_inclusion`] and [`verify_consistency`]
//! are `ct_merkle`'s verifiers behind a plain-bytes interface.
//!
//! What this guards against: a log whose history can be rewritten unnoticed.
//! A signed root commits to every event before it, an inclusion proof shows an
//! event is in that history, and a consistency proof shows a later root only
//! extends an earlier one. The only code here that is not `ct_merkle`'s is the
//! bulk rebuild from stored leaf hashes in [`image`], which is checked against
//! `ct_merkle`'s own appends in tests and against the signed root on open, and
//! the audit's `Frontier` (roots from leaf hashes in O(log n) memory), which
//! is checked against `ct_merkle`'s roots in tests.

mod frontier;
mod image;
#[cfg(test)]
mod tests;

use std::cell::Cell;

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, HashableLeaf, InclusionProof, RootHash};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2_v011::{Digest, Sha256};

pub(crate) use frontier::Frontier;

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// Why a proof could not be made or did not verify.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MerkleError {
    /// The index is not below the tree size.
    #[error(
        "index {index} is not in a tree of {size} events; ask for an index below the tree size"
    )]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The sizes of a consistency proof are not `0 < from <= to`.
    #[error(
        "no consistency proof from size {from} to size {to}: sizes must satisfy 0 < from <= to <= the log size"
    )]
    BadSizes {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
    /// The proof has the wrong number of hashes for this index and size.
    #[error("the proof has the wrong length for this index and tree size (it was cut or padded)")]
    MalformedProof,
    /// The proof does not lead to the given root.
    #[error(
        "the proof does not lead to the expected root: the leaf, the proof or the root was altered"
    )]
    RootMismatch,
    /// The stored tree image could not be read back.
    #[error("cannot rebuild the tree from stored hashes: {0}")]
    Image(String),
}

/// The leaf hash of `input`: `SHA-256(0x00 || input)`.
pub fn leaf_hash(input: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(input);
    h.finalize().into()
}

/// The interior node hash `SHA-256(0x01 || left || right)`.
pub(crate) fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// One leaf in `ct_merkle`'s tree: its bytes until they are hashed, then nothing.
#[derive(Default)]
pub(crate) struct Leaf(Cell<Option<Box<[u8]>>>);

impl HashableLeaf for Leaf {
    fn hash<H: ct_merkle::digest::Update>(&self, hasher: &mut H) {
        let bytes = self.0.take();
        if let Some(b) = &bytes {
            hasher.update(b);
        }
        self.0.set(bytes);
    }
}

impl Serialize for Leaf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for Leaf {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| Leaf::default())
    }
}

type Inner = MemoryBackedTree<Sha256, Leaf>;

/// An append-only RFC 6962 tree that keeps node hashes, not leaf bytes.
#[derive(Default)]
pub struct MerkleTree {
    inner: Inner,
}

impl MerkleTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a tree from its leaf hashes, in order, without the leaf bytes.
    pub fn from_leaf_hashes(hashes: &[Hash]) -> Result<Self, MerkleError> {
        Ok(MerkleTree {
            inner: image::rebuild(hashes)?,
        })
    }

    /// Appends a leaf (the canonical bytes of the next event).
    pub fn push(&mut self, leaf_input: &[u8]) {
        self.inner.push(Leaf(Cell::new(Some(leaf_input.into()))));
        let last = (self.inner.len() - 1) as usize;
        if let Some(leaf) = self.inner.get(last) {
            leaf.0.take();
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// True when the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The root hash at the current size.
    pub fn root(&self) -> Hash {
        to_hash(self.inner.root().as_bytes())
    }

    /// The inclusion proof (RFC 6962 audit path) of leaf `index` at the current size.
    pub fn inclusion_proof(&self, index: u64) -> Result<Vec<Hash>, MerkleError> {
        let size = self.len();
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        Ok(split(self.inner.prove_inclusion(index as usize).as_bytes()))
    }

    /// The consistency proof from size `from` to the current size.
    pub fn consistency_proof(&self, from: u64) -> Result<Vec<Hash>, MerkleError> {
        let to = self.len();
        if from == 0 || from > to {
            return Err(MerkleError::BadSizes { from, to });
        }
        if from == to {
            return Ok(Vec::new());
        }
        Ok(split(
            self.inner
                .prove_consistency((to - from) as usize)
                .as_bytes(),
        ))
    }
}

/// Checks that `leaf_input` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_input: &[u8],
    index: u64,
    size: u64,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let root = RootHash::<Sha256>::new((*root).into(), size);
    let proof = InclusionProof::<Sha256>::try_from_bytes(proof.concat())
        .map_err(|_| MerkleError::MalformedProof)?;
    root.verify_inclusion(&leaf_input, index, &proof)
        .map_err(|e| match e {
            ct_merkle::InclusionVerifError::MalformedProof => MerkleError::MalformedProof,
            ct_merkle::InclusionVerifError::IndexOutOfRange
            | ct_merkle::InclusionVerifError::TreeEmpty => {
                MerkleError::IndexOutOfRange { index, size }
            }
            ct_merkle::InclusionVerifError::IncorrectHash => MerkleError::RootMismatch,
        })
}

/// Checks that the tree `(to, to_root)` extends the tree `(from, from_root)`.
pub fn verify_consistency(
    from: u64,
    from_root: &Hash,
    to: u64,
    to_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if from == 0 || from > to {
        return Err(MerkleError::BadSizes { from, to });
    }
    if from == to {
        return if proof.is_empty() && from_root == to_root {
            Ok(())
        } else {
            Err(MerkleError::RootMismatch)
        };
    }
    let old = RootHash::<Sha256>::new((*from_root).into(), from);
    let new = RootHash::<Sha256>::new((*to_root).into(), to);
    let proof = ConsistencyProof::<Sha256>::try_from_bytes(proof.concat())
        .map_err(|_| MerkleError::MalformedProof)?;
    new.verify_consistency(&old, &proof).map_err(|e| match e {
        ct_merkle::ConsistencyVerifError::MalformedProof => MerkleError::MalformedProof,
        ct_merkle::ConsistencyVerifError::VerificationFailure => MerkleError::RootMismatch,
        _ => MerkleError::BadSizes { from, to },
    })
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(bytes);
    h
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    bytes.chunks_exact(32).map(to_hash).collect()
}
