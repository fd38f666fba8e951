//! The guest side of a run's memory cap: wasmtime asks this limiter before
//! any memory or table grows, and the growth is refused when the guest's
//! linear memory plus the host memory reserved for the run would pass the
//! policy's `memory_mb`. Also caps table elements and the host-side tables
//! of resource handles, so a guest cannot grow host structures without
//! bound by creating handles.

use std::sync::Arc;

use wasmtime::ResourceLimiter;

use super::memory::MemoryAccount;

/// Most table elements a guest may have.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;
/// Most WASI and Sluice resources (pollables, streams, scanners) a guest
/// may hold at once; each costs host memory.
pub const MAX_HOST_RESOURCES: usize = 10_000;

/// Caps total linear memory across the guest's memories, counted together
/// with the host's reservations in one [`MemoryAccount`].
pub struct MemoryCap {
    account: Arc<MemoryAccount>,
    /// Set to the size asked for when a growth was refused.
    pub refused: Option<usize>,
}

impl MemoryCap {
    /// A cap over `account`.
    pub fn new(account: Arc<MemoryAccount>) -> Self {
        Self {
            account,
            refused: None,
        }
    }

    /// The shared account.
    pub fn account(&self) -> &Arc<MemoryAccount> {
        &self.account
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let guest = self.account.guest();
        let total = guest - (current as u64).min(guest) + desired as u64;
        if !self.account.set_guest(total) {
            self.refused = Some(desired);
            return Err(wasmtime::format_err!(
                "memory limit exceeded: the guest asked for {total} bytes of linear memory with {} held by the host for it, the policy allows {}",
                self.account.host_used(),
                self.account.cap()
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
