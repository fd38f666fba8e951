//! The contract between a Sluice guest and the Sluice host.
//!
//! `wit/sluice.wit` is the single source of truth for what a guest can ask of
//! the host; this crate generates the host-side bindings from it once, so the
//! runtime and the guest SDK can never disagree about the interface. Every
//! host function is trappable: a host-side fault ends the run as a trap
//! rather than handing the guest a half-built answer.

mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "wit",
        world: "analytic",
        imports: { default: trappable },
    });
}

pub use bindings::Analytic;
pub use bindings::sluice::host::{aggregates, data, types};

/// The WIT package name and version this crate implements.
pub const WIT_PACKAGE: &str = "sluice:host@0.2.0";

/// The WIT source, for tools that want to show or check the contract.
pub const WIT_SOURCE: &str = include_str!("../wit/sluice.wit");
