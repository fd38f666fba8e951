//! Rebuilding `ct_merkle`'s in-memory tree from stored leaf hashes.
//!
//! Opening a ledger of a million events must not re-read and re-hash every
//! event body. The ledger stores each event's leaf hash next to it; this
//! module lays those hashes out in `ct_merkle`'s array-based tree layout
//! (leaf `i` at node `2i`, parents at odd indices, RFC 9420 §4.1 array trees),
//! computes the parents bottom-up and hands the result to `ct_merkle` through
//! its own serde form (postcard), so every later append and proof is
//! `ct_merkle`'s.
//!
//! What this guards against: a rebuilt tree that differs from the one that was
//! signed. Tests compare every size up to a few hundred against `ct_merkle`'s
//! own appends, and the store compares the rebuilt root with the latest signed
//! checkpoint before accepting any append.

use super::{Hash, Inner, MerkleError, node_hash};

/// Builds `ct_merkle`'s tree whose leaves have the given hashes.
pub(super) fn rebuild(leaf_hashes: &[Hash]) -> Result<Inner, MerkleError> {
    let nodes = array_layout(leaf_hashes);
    let mut image = Vec::with_capacity(nodes.len() * 32 + 20);
    push_varint(&mut image, leaf_hashes.len() as u64);
    push_varint(&mut image, nodes.len() as u64);
    for n in &nodes {
        image.extend_from_slice(n);
    }
    drop(nodes);
    postcard::from_bytes(&image).map_err(|e| MerkleError::Image(e.to_string()))
}

/// Every node of the array-layout tree over `leaves`.
fn array_layout(leaves: &[Hash]) -> Vec<Hash> {
    if leaves.is_empty() {
        return Vec::new();
    }
    let count = 2 * (leaves.len() - 1) + 1;
    let mut nodes = vec![[0u8; 32]; count];
    for (i, h) in leaves.iter().enumerate() {
        nodes[2 * i] = *h;
    }
    let top_level = count.ilog2();
    for level in 1..=top_level {
        let mut parent = (1usize << level) - 1;
        while parent < count {
            let left = parent ^ (1 << (level - 1));
            let right = right_child(parent, level, count);
            nodes[parent] = node_hash(&nodes[left], &nodes[right]);
            parent += 1 << (level + 1);
        }
    }
    nodes
}

/// The right child of `parent` (at `level`) in a tree of `count` nodes.
fn right_child(parent: usize, level: u32, count: usize) -> usize {
    let mut r = parent ^ (3 << (level - 1));
    while r >= count {
        let k = r.trailing_ones();
        r ^= 1 << (k - 1);
    }
    r
}

/// Postcard's unsigned varint (LEB128).
fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
