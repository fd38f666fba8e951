//! Per-event checks that need no other event, run on every core.
//!
//! Leaf hashing, parsing and the canonical-form check are most of an audit's
//! work and each event's result depends on that event alone, so they run in
//! parallel over chunks of events; the order-dependent checks (index,
//! sequence, duplicate ids, the tree and its roots) stay sequential in the
//! engine. Each body is hashed once: the hash compared with the stored leaf
//! hash is the one the engine puts in the tree.
//!
//! What this guards against: an audit too slow to run routinely. It changes no
//! rule: every check is the same whether it runs on one core or many, and the
//! fast path ([`super::fast`]) accepts an event only when the full check
//! would accept it with the same facts.

use super::engine::Entry;
use crate::event::Envelope;
use crate::merkle::{Hash, leaf_hash};

/// What one event says about itself.
pub(crate) struct Facts {
    pub(crate) sequence: u64,
    pub(crate) id: String,
    pub(crate) commitment: Option<String>,
    pub(crate) canonical: bool,
}

/// An entry with its self-contained checks done.
pub(crate) struct Checked {
    /// The index the source claims.
    pub(crate) index: u64,
    /// The leaf hash of the stored body.
    pub(crate) leaf: Hash,
    /// False when the stored leaf hash is not the body's.
    pub(crate) leaf_ok: bool,
    /// The event's facts, or why the body is not an event.
    pub(crate) facts: Result<Facts, String>,
}

fn check(entry: Entry, scratch: &mut Envelope) -> Checked {
    let leaf = leaf_hash(&entry.body);
    let facts = match super::fast::canonical_event(&entry.body, scratch) {
        Some(env) => Ok(facts_of(env, true)),
        None => serde_json::from_slice::<Envelope>(&entry.body)
            .map_err(|e| e.to_string())
            .map(|env| {
                let canonical = crate::canonical::is_canonical_event(&env, &entry.body);
                facts_of(&env, canonical)
            }),
    };
    Checked {
        index: entry.index,
        leaf,
        leaf_ok: entry.leaf_hash.is_none_or(|h| h == leaf),
        facts,
    }
}

fn facts_of(env: &Envelope, canonical: bool) -> Facts {
    Facts {
        canonical,
        sequence: env.sequence,
        commitment: env.run().and_then(|r| r.audit_commitment.clone()),
        id: env.id.clone(),
    }
}

/// [`check`] over `entries`, in parallel, results in input order.
pub(crate) fn check_all(entries: Vec<Entry>) -> Vec<Checked> {
    par_parts(entries, 32, |part| {
        let mut scratch = super::fast::scratch_event();
        part.into_iter().map(|e| check(e, &mut scratch)).collect()
    })
}

/// Splits `items` in order into one part per core (at most four, each of at
/// least `min` items), applies `f` to each part on its own thread and joins
/// the results in order.
pub(crate) fn par_parts<T: Send, U: Send>(
    mut items: Vec<T>,
    min: usize,
    f: impl Fn(Vec<T>) -> Vec<U> + Sync,
) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(items.len() / min.max(1));
    if threads < 2 {
        return f(items);
    }
    let per = items.len().div_ceil(threads);
    // Split from the back so each part keeps its order; `items` keeps the first part.
    let mut rest = Vec::with_capacity(threads);
    while items.len() > per {
        rest.push(items.split_off(items.len() - per));
    }
    rest.reverse();
    let f = &f;
    std::thread::scope(|s| {
        let spawned: Vec<_> = rest.into_iter().map(|p| s.spawn(move || f(p))).collect();
        let mut out = f(items);
        for h in spawned {
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}
