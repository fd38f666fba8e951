//! Per-event checks that need no other event, run on every core.
//!
//! Parsing, canonical re-encoding and leaf hashing are most of an audit's
//! work and each event's result depends on that event alone, so they run in
//! parallel over chunks of events; the order-dependent checks (index,
//! sequence, duplicate ids, the tree and its roots) stay sequential in the
//! engine.
//!
//! What this guards against: an audit too slow to run routinely. It changes no
//! rule: every check is the same whether it runs on one core or many.

use super::engine::Entry;
use crate::event::Envelope;
use crate::merkle::leaf_hash;

/// What one event says about itself.
pub(crate) struct Facts {
    pub(crate) sequence: u64,
    pub(crate) id: String,
    pub(crate) commitment: Option<String>,
    pub(crate) canonical: bool,
}

/// An entry with its self-contained checks done.
pub(crate) struct Checked {
    pub(crate) entry: Entry,
    /// False when the stored leaf hash is not the body's.
    pub(crate) leaf_ok: bool,
    /// The event's facts, or why the body is not an event.
    pub(crate) facts: Result<Facts, String>,
}

fn check(entry: Entry) -> Checked {
    let leaf_ok = entry.leaf_hash.is_none_or(|h| h == leaf_hash(&entry.body));
    let facts = serde_json::from_slice::<Envelope>(&entry.body)
        .map_err(|e| e.to_string())
        .map(|env| Facts {
            canonical: crate::canonical::is_canonical_event(&env, &entry.body),
            sequence: env.sequence,
            commitment: env.run().and_then(|r| r.audit_commitment.clone()),
            id: env.id,
        });
    Checked {
        entry,
        leaf_ok,
        facts,
    }
}

/// [`check`] over `entries`, in parallel, results in input order.
pub(crate) fn check_all(entries: Vec<Entry>) -> Vec<Checked> {
    par_map(entries, check)
}

/// Maps `items` with `f` on up to four threads, keeping order.
pub(crate) fn par_map<T: Send, U: Send>(mut items: Vec<T>, f: fn(T) -> U) -> Vec<U> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    if threads < 2 || items.len() < 64 {
        return items.into_iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    // Split from the back so each part keeps its order; `items` keeps the first part.
    let mut rest = Vec::with_capacity(threads);
    while items.len() > per {
        rest.push(items.split_off(items.len() - per));
    }
    rest.reverse();
    std::thread::scope(|s| {
        let spawned: Vec<_> = rest
            .into_iter()
            .map(|p| s.spawn(move || p.into_iter().map(f).collect::<Vec<_>>()))
            .collect();
        let mut out: Vec<U> = items.into_iter().map(f).collect();
        for h in spawned {
            out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}
