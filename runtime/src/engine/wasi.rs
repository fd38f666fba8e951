//! The guest's WASI world, virtualised so `std` works and nothing crosses
//! the wall.
//!
//! No preopened directories, no sockets and no name lookup; empty
//! environment and arguments; empty stdin; stdout and stderr go to a
//! bounded in-memory run log; the wall clock is frozen (the monotonic clock
//! is the run's virtual clock, see [`super::clock`]); randomness comes from
//! a seed the host picks and records, so a replay sees the same bytes.
//!
//! Host work and memory spent here are counted for the run: every byte the
//! guest writes to the log and every random word it draws is charged as
//! fuel ([`WasiWork`]), and the log's buffer is reserved against the memory
//! cap as it grows (writes that would not fit are dropped, like writes past
//! the log's own cap).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng, TryRng};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder};

use super::memory::MemoryAccount;
use super::meter::WasiWork;
use super::schedule;

/// Most bytes one `get-random-bytes` call may ask for.
const MAX_RANDOM_BYTES: u64 = 64 << 10;

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

/// A seeded generator that counts the words it produces, so the guest is
/// charged for the randomness it draws.
struct CountingRng {
    inner: StdRng,
    work: WasiWork,
}

impl TryRng for CountingRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.work.add(schedule::RANDOM_WORD);
        Ok(self.inner.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.work.add(schedule::RANDOM_WORD);
        Ok(self.inner.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.work
            .add((dst.len() as u64).div_ceil(8) * schedule::RANDOM_WORD);
        self.inner.fill_bytes(dst);
        Ok(())
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
    memory: Option<Arc<MemoryAccount>>,
    work: WasiWork,
}

impl RunLog {
    /// An empty log holding at most `cap` bytes, its buffer reserved in
    /// `memory` as it grows and every byte written charged to `work`.
    pub fn new(cap: usize, memory: Option<Arc<MemoryAccount>>, work: WasiWork) -> Self {
        Self {
            inner: Arc::new(Mutex::new(LogBuffer {
                bytes: Vec::new(),
                cap,
                written: 0,
                memory,
                work,
            })),
        }
    }

    fn append(&self, data: &[u8]) {
        let mut b = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        b.written += data.len() as u64;
        b.work.add(schedule::bytes(data.len() as u64));
        let take = data.len().min(b.cap.saturating_sub(b.bytes.len()));
        let want = b.bytes.len() + take;
        if want > b.bytes.capacity() {
            let grown = want.max(b.bytes.capacity() * 2).min(b.cap).max(want);
            let more = (grown - b.bytes.capacity()) as u64;
            if let Some(m) = &b.memory
                && m.reserve_raw(more).is_err()
            {
                return;
            }
            let len = b.bytes.len();
            b.bytes.reserve_exact(grown - len);
        }
        b.bytes.extend_from_slice(&data[..take]);
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

/// The WASI context of one run; random words drawn are charged to `work`.
pub fn sandbox_ctx(seed: u64, log: &RunLog, work: &WasiWork) -> WasiCtx {
    let rng = |seed| CountingRng {
        inner: StdRng::seed_from_u64(seed),
        work: work.clone(),
    };
    let mut b = WasiCtxBuilder::new();
    b.stdout(log.clone())
        .stderr(log.clone())
        .wall_clock(FrozenWallClock)
        .secure_random(rng(seed))
        .insecure_random(rng(seed.rotate_left(32) ^ 0x5eed))
        .insecure_random_seed(u128::from(seed))
        .max_random_size(MAX_RANDOM_BYTES)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }));
    b.build()
}
