//! Admission and approval: who may run this module over which dataset, and
//! with which trust tier. Everything here happens before Cranelift sees a
//! byte of the module.
//!
//! Defends against unsigned, forged, altered or unknown-signer modules
//! (refused outright), against code the owner never reviewed reading raw
//! values (only an approved, unexpired module hash gets the raw tier), and
//! against anyone else touching the data (neither approved nor signed by a
//! signer the policy trusts: refused).
//!
//! # Whose run it is
//!
//! A module may carry several valid signatures. The privacy budget and the
//! difference-check history of a dataset belong to one of them, chosen
//! without regard to the order in which keys were given, so that the same
//! module always spends the same buyer's budget:
//!
//! 1. the first key in the policy's `trusted_signers` list that signed the
//!    module (the trust this run relies on, or could fall back to);
//! 2. otherwise (the module is approved, and no trusted signer signed it)
//!    the valid signer with the smallest key id.
//!
//! The run's `buyer` is the signer chosen for its first dataset.

use crate::grant::{Grant, Tier};
use crate::outcome::Denial;
use crate::signing::{self, PublicKey, SigningError};

/// A module admitted to run.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// The signer the run belongs to: the one chosen for the first grant.
    pub signer: PublicKey,
    /// The signer chosen for each grant, in the order of the grants.
    pub signers: Vec<PublicKey>,
    /// SHA-256 of the module without its signature section.
    pub module_hash: String,
    /// The module without its signature section: what gets compiled.
    pub module: Vec<u8>,
    /// The tier for each grant, in the order of the grants.
    pub tiers: Vec<Tier>,
}

/// A refusal: why, and what was learnt about the module before it.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The module hash, when it could be computed.
    pub module_hash: Option<String>,
    /// The signer's key id, when the signature verified.
    pub signer: Option<String>,
    /// Why.
    pub denial: Denial,
}

fn refuse(module_hash: Option<String>, signer: Option<String>, denial: Denial) -> Box<Refusal> {
    Box::new(Refusal {
        module_hash,
        signer,
        denial,
    })
}

/// The denial for a signature that did not verify.
pub fn signature_denial(e: SigningError) -> Denial {
    match e {
        SigningError::NotSigned => Denial::Unsigned,
        SigningError::BadSignature { key_ids } => Denial::BadSignature { key_ids },
        SigningError::NoKeys => Denial::BadSignature {
            key_ids: Vec::new(),
        },
        SigningError::HashMismatch { key_id } => Denial::Tampered { key_id },
        SigningError::MalformedSignature(detail) => Denial::MalformedSignature { detail },
        SigningError::MalformedModule(detail) => Denial::MalformedModule { detail },
        other => Denial::MalformedModule {
            detail: other.to_string(),
        },
    }
}

/// Checks the module's signature against the node's known buyer keys and
/// every grant's trusted signers, then decides a tier per grant at `now`
/// (Unix seconds).
pub fn admit(
    module: &[u8],
    detached: Option<&[u8]>,
    known: &[PublicKey],
    grants: &[Grant],
    now: i64,
) -> Result<Admitted, Box<Refusal>> {
    check_component_header(module).map_err(|d| refuse(None, None, d))?;
    let hash = signing::module_hash(module).ok();
    let mut keys = known.to_vec();
    for g in grants {
        keys.extend(
            g.policy
                .trusted_signers
                .iter()
                .filter_map(|k| PublicKey::parse(k).ok()),
        );
    }
    let mut verified = signing::signers(module, detached, &keys)
        .map_err(|e| refuse(hash.clone(), None, signature_denial(e)))?;
    verified.sort_by_key(|v| v.key_id.clone());
    let module_hash = verified[0].module_hash.clone();
    let valid: Vec<PublicKey> = verified.into_iter().map(|v| v.signer).collect();
    let mut tiers = Vec::with_capacity(grants.len());
    let mut signers = Vec::with_capacity(grants.len());
    for g in grants {
        let signer = owner_of(g, &valid);
        let t = tier(g, &module_hash, &signer, now)
            .map_err(|r| refuse(Some(module_hash.clone()), Some(signer.key_id()), r))?;
        tiers.push(t);
        signers.push(signer);
    }
    let signer = signers.first().cloned().unwrap_or_else(|| valid[0].clone());
    let stripped = signing::strip_signature(module).map_err(|e| {
        refuse(
            Some(module_hash.clone()),
            Some(signer.key_id()),
            signature_denial(e),
        )
    })?;
    Ok(Admitted {
        signer,
        signers,
        module_hash,
        module: stripped,
        tiers,
    })
}

/// The signer a grant's state belongs to, among the `valid` signers
/// (sorted by key id): see the module docs.
fn owner_of(grant: &Grant, valid: &[PublicKey]) -> PublicKey {
    grant
        .policy
        .trusted_signers
        .iter()
        .find_map(|t| valid.iter().find(|k| k.to_hex() == *t))
        .unwrap_or(&valid[0])
        .clone()
}

fn tier(grant: &Grant, module_hash: &str, signer: &PublicKey, now: i64) -> Result<Tier, Denial> {
    let policy = &grant.policy;
    let trusted = policy.trusted_signers.iter().any(|k| *k == signer.to_hex());
    match policy.approval(module_hash) {
        Some(a) if a.valid_at(now) => Ok(Tier::Approved),
        _ if trusted => Ok(Tier::TrustedSigner),
        Some(a) => Err(Denial::ApprovalExpired {
            dataset: grant.name().to_string(),
            module_hash: module_hash.to_string(),
            signer: signer.key_id(),
            expired_at: a.expires.unwrap_or_default(),
        }),
        None => Err(Denial::NotApproved {
            dataset: grant.name().to_string(),
            module_hash: module_hash.to_string(),
            signer: signer.key_id(),
        }),
    }
}

/// Refuses anything that is not a WebAssembly component.
pub fn check_component_header(module: &[u8]) -> Result<(), Denial> {
    const MAGIC: &[u8] = b"\0asm";
    match module.get(..8) {
        Some(h) if &h[..4] == MAGIC && h[4..] == [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        Some(h) if &h[..4] == MAGIC && h[4..] == [0x01, 0x00, 0x00, 0x00] => {
            Err(Denial::NotAComponent { core_module: true })
        }
        _ => Err(Denial::NotAComponent { core_module: false }),
    }
}
