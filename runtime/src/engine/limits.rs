//! The memory cap of one run, enforced as the guest grows its memories and
//! tables, with the peak recorded for the usage event.

use wasmtime::ResourceLimiter;

/// Most table elements a guest may have.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Caps total linear memory across the guest's memories.
pub struct MemoryCap {
    cap: usize,
    total: usize,
    /// Highest total reached.
    pub peak: usize,
    /// Set to the size asked for when a growth was refused.
    pub refused: Option<usize>,
}

impl MemoryCap {
    /// A cap of `cap` bytes.
    pub fn new(cap: u64) -> Self {
        Self {
            cap: usize::try_from(cap).unwrap_or(usize::MAX),
            total: 0,
            peak: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total - current.min(self.total) + desired;
        if total > self.cap {
            self.refused = Some(total);
            return Err(wasmtime::format_err!(
                "memory limit exceeded: the guest asked for {total} bytes, the policy allows {}",
                self.cap
            ));
        }
        self.total = total;
        self.peak = self.peak.max(total);
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
