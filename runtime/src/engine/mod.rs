//! The sandbox: a wasmtime engine configured for metered, deterministic,
//! capped execution of Sluice components, and a cache of compiled modules.
//!
//! Defends against guests that run forever (fuel and an epoch-driven
//! wall-clock cap), grow without bound (memory and stack caps), or behave
//! differently on replay (NaN canonicalisation, deterministic relaxed SIMD,
//! no threads (wasmtime is built without the threads feature), wasmtime pinned to one exact version and recorded). Only
//! components are accepted: a core module has no typed contract.

mod cache;
mod host;
mod limits;
mod ticker;
mod wasi;

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, OptLevel};

pub use host::{FeedCounters, HostState, MAX_AGGREGATE_QUERIES};
pub use limits::MemoryCap;
pub use wasi::{FIXED_WALL_CLOCK_SECS, RunLog, sandbox_ctx};

use crate::error::EngineError;
use cache::ComponentCache;
use ticker::EpochTicker;

/// The exact wasmtime version Sluice runs guests with.
pub const WASMTIME_VERSION: &str = "48.0.8";
/// How often the wall-clock cap is checked.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

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
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_stack_bytes: 512 << 10,
            cache_dir: None,
            meter_fuel: true,
        }
    }
}

/// A configured wasmtime engine with its linker, epoch ticker and cache.
pub struct Engine {
    pub(crate) engine: wasmtime::Engine,
    pub(crate) linker: Linker<HostState>,
    pub(crate) cache: ComponentCache,
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
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| EngineError::Config(e.to_string()))?;
        sluice_host_api::Analytic::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| EngineError::Config(e.to_string()))?;
        let description = format!(
            "wasmtime {WASMTIME_VERSION}; {}; epoch {}ms; nan-canonicalization; deterministic relaxed-simd; no threads; stack {} KiB",
            if config.meter_fuel {
                "fuel"
            } else {
                "fuel off"
            },
            EPOCH_TICK.as_millis(),
            config.max_stack_bytes >> 10
        );
        let cache = ComponentCache::new(&engine, &description, config.cache_dir)?;
        Ok(Self {
            _ticker: EpochTicker::start(engine.clone(), EPOCH_TICK),
            engine,
            linker,
            cache,
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
