//! Module signing: Ed25519 signatures in the WebAssembly tool-conventions
//! format (the one `wasmsign2` implements), and the module hash.
//!
//! This is the first step of a run — admission: before anything is
//! compiled, the module's signature must verify against a buyer key the
//! node knows, and its [`module_hash`] is what the policy's approvals name.
//! It defends against unsigned, foreign-signed and tampered modules, and
//! against hostile signature data (the parsers never panic and never
//! allocate more than the input justifies).
//!
//! - [`SecretKey`] / [`PublicKey`]: key pairs, their files (wasmsign2's
//!   formats) and key ids;
//! - [`sign()`] / [`sign_detached`]: embed a signature, or write it apart;
//! - [`verify()`] / [`signers`]: find which known keys signed a module;
//! - [`module_hash`] / [`strip_signature`]: the module without its signature.
//!
//! ```
//! use sluice_runtime::signing::{self, SecretKey};
//! let key = SecretKey::generate()?;
//! let module = b"\0asm\x01\0\0\0".to_vec(); // an empty core module
//! let signed = signing::sign(&module, &key)?;
//! let ok = signing::verify(&signed, None, &[key.public()])?;
//! assert_eq!(ok.key_id, key.public().key_id());
//! assert_eq!(ok.module_hash, signing::module_hash(&module)?);
//! # Ok::<(), signing::SigningError>(())
//! ```

mod error;
mod hash;
mod keys;
mod reader;
mod section;
mod sign;
mod verify;
mod wasm;

#[cfg(test)]
mod tests;

pub use error::SigningError;
pub use hash::{module_hash, strip_signature};
pub use keys::{PublicKey, SecretKey};
pub use sign::{sign, sign_detached};
pub use verify::{Verified, signers, verify};
