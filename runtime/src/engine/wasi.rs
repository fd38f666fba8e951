//! The guest's WASI world, virtualised so `std` works and nothing crosses
//! the wall.
//!
//! No preopened directories, no sockets and no name lookup; empty
//! environment and arguments; empty stdin; stdout and stderr go to a
//! bounded in-memory run log; both clocks are frozen; randomness comes from
//! a seed the host picks and records, so a replay sees the same bytes.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

/// Wall-clock time every guest sees: 2000-01-01T00:00:00Z.
pub const FIXED_WALL_CLOCK_SECS: u64 = 946_684_800;

struct FrozenWallClock;

impl HostWallClock for FrozenWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(FIXED_WALL_CLOCK_SECS)
    }
}

struct FrozenMonotonicClock;

impl HostMonotonicClock for FrozenMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// Captured guest stdout and stderr, truncated at a cap. Writes past the cap
/// are dropped (and counted) rather than failing, so a chatty guest cannot
/// turn logging into a crash or into host memory growth.
#[derive(Clone)]
pub struct RunLog {
    inner: Arc<Mutex<LogBuffer>>,
}

struct LogBuffer {
    bytes: Vec<u8>,
    cap: usize,
    written: u64,
}

impl RunLog {
    /// An empty log holding at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(LogBuffer {
                bytes: Vec::new(),
                cap,
                written: 0,
            })),
        }
    }

    fn append(&self, data: &[u8]) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        b.written += data.len() as u64;
        let room = b.cap.saturating_sub(b.bytes.len());
        b.bytes.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The captured bytes and the total the guest tried to write.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (std::mem::take(&mut b.bytes), b.written)
    }
}

impl OutputStream for RunLog {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for RunLog {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for RunLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for RunLog {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for RunLog {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// The WASI context of one run.
pub fn sandbox_ctx(seed: u64, log: &RunLog) -> WasiCtx {
    let mut b = WasiCtxBuilder::new();
    b.stdout(log.clone())
        .stderr(log.clone())
        .wall_clock(FrozenWallClock)
        .monotonic_clock(FrozenMonotonicClock)
        .secure_random(StdRng::seed_from_u64(seed))
        .insecure_random(StdRng::seed_from_u64(seed.rotate_left(32) ^ 0x5eed))
        .insecure_random_seed(u128::from(seed))
        .max_random_size(1 << 20)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    b.build()
}
