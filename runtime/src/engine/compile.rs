//! Compiling a module under the node's caps.
//!
//! Defends against modules that are cheap to send and expensive to compile
//! (a compile bomb), and against compilation escaping the run's wall clock.
//! A module over `max_module_bytes` is refused before anything reads it
//! (`denied.module-too-large`). Otherwise Cranelift runs on a separate
//! thread while the run waits at most until the node's `compile_timeout`
//! (`denied.compile-time`) or the run's own deadline (`aborted.wall-clock`),
//! whichever comes first.
//!
//! A compilation given up on cannot be cancelled: its thread finishes in the
//! background. If it finishes within `compile_timeout` its result is cached
//! (so a module that only missed one run's short wall clock runs next time);
//! otherwise it is dropped, so a module slower than the node's cap never
//! runs. Compilation time grows with module size, which the size cap bounds.
//! At most [`MAX_COMPILES`] compilations run at once, abandoned ones
//! included; a run that needs a compiler while all are busy waits for one
//! within the same two limits, so abandoned compilations cannot pile up.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use wasmtime::component::Component;

use super::cache::ComponentCache;

/// Most compilations running at once on one engine.
pub const MAX_COMPILES: usize = 2;

/// Why a module could not be compiled.
#[derive(Debug)]
pub(crate) enum CompileError {
    /// Larger than the node accepts.
    TooLarge {
        /// The module's size.
        bytes: u64,
        /// The node's cap.
        limit: u64,
    },
    /// The node's compile cap passed.
    Timeout {
        /// The cap.
        limit: Duration,
    },
    /// The run's deadline passed first.
    Deadline,
    /// wasmtime refused the module.
    Invalid(String),
    /// No thread could be started.
    Spawn(String),
}

/// Counts compilations in flight (a small counting semaphore).
#[derive(Default)]
struct Slots {
    busy: Mutex<usize>,
    freed: Condvar,
}

impl Slots {
    /// Takes a slot, waiting until `until` at most.
    fn acquire(self: &Arc<Self>, until: Instant) -> Option<SlotGuard> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy >= MAX_COMPILES {
            let left = until.checked_duration_since(Instant::now())?;
            busy = self
                .freed
                .wait_timeout(busy, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        *busy += 1;
        Some(SlotGuard(self.clone()))
    }
}

/// A held compile slot, freed on drop (by the compile thread, when done).
struct SlotGuard(Arc<Slots>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut busy = self.0.busy.lock().unwrap_or_else(|e| e.into_inner());
        *busy -= 1;
        self.0.freed.notify_one();
    }
}

/// Compiles modules into the cache under the node's caps.
pub(crate) struct Compiler {
    cache: Arc<ComponentCache>,
    slots: Arc<Slots>,
    max_module_bytes: u64,
    timeout: Duration,
}

impl Compiler {
    /// A compiler filling `cache`.
    pub(crate) fn new(
        cache: Arc<ComponentCache>,
        max_module_bytes: u64,
        timeout: Duration,
    ) -> Self {
        Self {
            cache,
            slots: Arc::default(),
            max_module_bytes,
            timeout,
        }
    }

    /// Refuses a module over the size cap.
    pub(crate) fn check_size(&self, bytes: usize) -> Result<(), CompileError> {
        let bytes = bytes as u64;
        if bytes > self.max_module_bytes {
            return Err(CompileError::TooLarge {
                bytes,
                limit: self.max_module_bytes,
            });
        }
        Ok(())
    }

    /// The compiled component for `module` (hash `module_hash`), from the
    /// cache or compiled now; the flag says whether it was cached.
    pub(crate) fn get(
        &self,
        engine: &wasmtime::Engine,
        module_hash: &str,
        module: &[u8],
        deadline: Instant,
    ) -> Result<(Component, bool), CompileError> {
        let key = self.cache.key(module_hash);
        if let Some(c) = self.cache.lookup(engine, &key) {
            return Ok((c, true));
        }
        self.check_size(module.len())?;
        let started = Instant::now();
        let cap = started + self.timeout;
        let until = cap.min(deadline);
        let gave_up = || {
            if deadline <= cap {
                CompileError::Deadline
            } else {
                CompileError::Timeout {
                    limit: self.timeout,
                }
            }
        };
        if Instant::now() >= until {
            return Err(gave_up());
        }
        let slot = self.slots.acquire(until).ok_or_else(gave_up)?;
        let (tx, rx) = mpsc::sync_channel(1);
        let (engine, cache, bytes, timeout) = (
            engine.clone(),
            self.cache.clone(),
            module.to_vec(),
            self.timeout,
        );
        std::thread::Builder::new()
            .name("sluice-compile".into())
            .spawn(move || {
                let _slot = slot;
                let compiled = Component::new(&engine, &bytes);
                if let Ok(c) = &compiled
                    && started.elapsed() <= timeout
                {
                    cache.insert(&key, c);
                }
                let _ = tx.send(compiled.map_err(|e| format!("{e:#}")));
            })
            .map_err(|e| CompileError::Spawn(e.to_string()))?;
        let wait = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Ok(c)) => Ok((c, false)),
            Ok(Err(detail)) => Err(CompileError::Invalid(detail)),
            Err(_) => Err(gave_up()),
        }
    }
}
