//! The sandbox: a wasmtime engine configured for metered, deterministic,
//! capped execution of Sluice components, and a cache of compiled modules.
//!
//! Defends against guests that run forever (fuel and an epoch-driven
//! wall-clock cap), grow without bound (memory and stack caps), or behave
//! differently on replay (NaN canonicalisation, deterministic relaxed SIMD,
//! no threads (wasmtime is built without the threads feature), wasmtime
//! pinned to one exact version and recorded). Only components are
//! accepted: a core module has no typed contract.
//!
//! Every cost a guest causes is bounded and metered, in the host as well as
//! in the guest: host work is charged as fuel ([`Meter`], [`schedule`]),
//! host memory held for the guest counts against its memory cap
//! ([`MemoryAccount`]), time inside the sandbox is virtual so no WASI call
//! blocks a host thread ([`clock`]), and compilation has its own caps
//! ([`EngineConfig::max_module_bytes`], [`EngineConfig::compile_timeout`]).

mod cache;
pub mod clock;
mod compile;
mod convert;
mod host;
mod limits;
mod linker;
mod memory;
mod meter;
#[cfg(test)]
mod metering_tests;
pub mod schedule;
mod ticker;
mod wasi;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, OptLevel};

pub use compile::MAX_COMPILES;
pub use host::{FeedCounters, HostState, MAX_AGGREGATE_QUERIES};
pub use limits::{MAX_HOST_RESOURCES, MemoryCap};
pub use memory::{MemoryAccount, Reservation};
pub use meter::{HostAbort, MAX_TRANSFER_BYTES, MIN_TRANSFER_BYTES, Meter, WasiWork};
pub use wasi::{FIXED_WALL_CLOCK_SECS, RunLog, sandbox_ctx};

use crate::error::EngineError;
use cache::ComponentCache;
pub(crate) use compile::{CompileError, Compiler};
pub use convert::{Converted, convert};
pub(crate) use meter::{call_hook, is_transfer_refused, settle};
use ticker::EpochTicker;

/// The exact wasmtime version Sluice runs guests with.
pub const WASMTIME_VERSION: &str = "48.0.8";
/// How often the wall-clock cap is checked.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);
/// How far past its `wall_ms` a run may end, at most, on an idle machine:
/// the epoch tick plus the longest host step between two deadline checks
/// (one scan batch or aggregate batch of the default 65,536 rows, one group's
/// finalisation). A loaded machine adds its scheduling delays.
pub const WALL_MARGIN: Duration = Duration::from_millis(100);

/// Node-wide engine settings (per-run limits come from the policy).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Cap on the wasm call stack, bytes.
    pub max_stack_bytes: usize,
    /// Directory for compiled-module artifacts; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// Meter fuel. Always on in a node; off only to measure what metering
    /// costs (benchmarks), in which case fuel is neither limited nor counted.
    pub meter_fuel: bool,
    /// Largest module the node accepts, bytes; larger ones are denied
    /// (`denied.module-too-large`) before they are read.
    pub max_module_bytes: u64,
    /// Longest the node waits for one compilation (`denied.compile-time`);
    /// a run's own deadline may end the wait sooner (`aborted.wall-clock`).
    pub compile_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_stack_bytes: 512 << 10,
            cache_dir: None,
            meter_fuel: true,
            max_module_bytes: 32 << 20,
            compile_timeout: Duration::from_secs(30),
        }
    }
}

/// A configured wasmtime engine with its linker, epoch ticker and cache.
pub struct Engine {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) cache: Arc<ComponentCache>,
    pub(crate) compiler: Compiler,
    pub(crate) description: String,
    pub(crate) meter_fuel: bool,
    _ticker: EpochTicker,
}

impl Engine {
    /// Builds the engine with the deterministic, metered configuration.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        let mut c = Config::new();
        c.wasm_component_model(true)
            .consume_fuel(config.meter_fuel)
            .epoch_interruption(true)
            .max_wasm_stack(config.max_stack_bytes)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .cranelift_opt_level(OptLevel::Speed);
        let engine = wasmtime::Engine::new(&c).map_err(|e| EngineError::Config(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        linker::add_imports(&mut linker).map_err(|e| EngineError::Config(e.to_string()))?;
        let description = format!(
            "wasmtime {WASMTIME_VERSION}; {}; epoch {}ms; nan-canonicalization; deterministic relaxed-simd; no threads; stack {} KiB",
            if config.meter_fuel {
                format!("fuel, host fuel schedule {}", schedule::VERSION)
            } else {
                "fuel off".to_string()
            },
            EPOCH_TICK.as_millis(),
            config.max_stack_bytes >> 10
        );
        let cache = Arc::new(ComponentCache::new(
            &engine,
            &description,
            config.cache_dir,
        )?);
        let compiler = Compiler::new(
            cache.clone(),
            config.max_module_bytes,
            config.compile_timeout,
        );
        Ok(Self {
            _ticker: EpochTicker::start(engine.clone(), EPOCH_TICK),
            engine,
            linker,
            cache,
            compiler,
            description,
            meter_fuel: config.meter_fuel,
        })
    }

    /// The engine version and deterministic configuration, as recorded with every run.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Identifies compiled code: wasmtime version, configuration and target.
    pub fn fingerprint(&self) -> &str {
        self.cache.fingerprint()
    }
}
