//! The guest's imports: WASI 0.2 as wasmtime-wasi implements it, except the
//! two interfaces that could block a host thread, plus Sluice's own.
//!
//! This mirrors `wasmtime_wasi::p2::add_to_linker_sync` interface by
//! interface, replacing `wasi:clocks/monotonic-clock` and `wasi:io/poll`
//! with the run's virtual clock ([`super::clock`]). Everything else keeps
//! wasmtime-wasi's implementation over the virtualised context built in
//! [`super::wasi`]: no preopens, sockets and name lookup refused, closed
//! stdin, stdout/stderr to the bounded run log, frozen wall clock, seeded
//! randomness. None of those waits: stdin is closed, the log is always
//! writable, and refused sockets fail at once.
//!
//! Name lookup is the one refused interface whose argument a guest can make
//! large (a host name); it is wrapped to charge the bytes the host copies.

use wasmtime::component::{HasData, HasSelf, Linker, Resource};
use wasmtime_wasi::cli::{WasiCli, WasiCliView};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView};
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, Host as LookupHost, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{
    self as network, ErrorCode, Host as NetworkHost, IpAddress, Network,
};
use wasmtime_wasi::p2::bindings::{self, sync};
use wasmtime_wasi::random::{WasiRandom, WasiRandomView};
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsCtxView, WasiSocketsView};
use wasmtime_wasi::{ResourceTable, WasiView};

use super::HostState;
use super::clock::VirtualTime;
use super::meter::Meter;
use super::schedule;

/// [`HasData`] marker for the interfaces wasmtime-wasi implements directly
/// on the resource table (`wasi:io/error`, `wasi:io/streams`).
struct Table;

impl HasData for Table {
    type Data<'a> = &'a mut ResourceTable;
}

fn table(s: &mut HostState) -> &mut ResourceTable {
    s.ctx().table
}

/// Adds every guest import to `linker`.
pub(super) fn add_imports(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    add_wasi(linker)?;
    sluice_host_api::Analytic::add_to_linker::<_, HasSelf<HostState>>(linker, |s| {
        s.meter.mark_import();
        s
    })
}

fn add_wasi(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    type S = HostState;
    let options = sync::LinkOptions::default();

    // Virtual time instead of the host's clock.
    bindings::clocks::monotonic_clock::add_to_linker::<S, VirtualTime>(l, HostState::virtual_io)?;
    sync::io::poll::add_to_linker::<S, VirtualTime>(l, HostState::virtual_io)?;

    // The rest exactly as `add_to_linker_sync` links it.
    bindings::clocks::wall_clock::add_to_linker::<S, WasiClocks>(l, S::clocks)?;
    wasmtime_wasi_io_error(l)?;
    sync::io::streams::add_to_linker::<S, Table>(l, table)?;
    bindings::filesystem::preopens::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    sync::filesystem::types::add_to_linker::<S, WasiFilesystem>(l, S::filesystem)?;
    bindings::random::random::add_to_linker::<S, WasiRandom>(l, S::random)?;
    bindings::random::insecure::add_to_linker::<S, WasiRandom>(l, S::random)?;
    bindings::random::insecure_seed::add_to_linker::<S, WasiRandom>(l, S::random)?;
    bindings::cli::exit::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::environment::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::terminal_input::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::terminal_output::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::terminal_stdin::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::terminal_stdout::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::cli::terminal_stderr::add_to_linker::<S, WasiCli>(l, S::cli)?;
    bindings::sockets::tcp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    bindings::sockets::instance_network::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    bindings::sockets::network::add_to_linker::<S, WasiSockets>(l, &(&options).into(), S::sockets)?;
    ip_name_lookup::add_to_linker::<S, MeteredLookup>(l, metered_lookup)?;
    sync::sockets::tcp::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sync::sockets::udp::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    sync::sockets::udp_create_socket::add_to_linker::<S, WasiSockets>(l, S::sockets)?;
    Ok(())
}

fn wasmtime_wasi_io_error(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    sync::io::error::add_to_linker::<HostState, Table>(l, table)
}

/// `wasi:sockets/ip-name-lookup` with the host name's bytes charged.
struct MeteredLookup;

impl HasData for MeteredLookup {
    type Data<'a> = Lookup<'a>;
}

struct Lookup<'a> {
    sockets: WasiSocketsCtxView<'a>,
    meter: &'a mut Meter,
}

fn metered_lookup(s: &mut HostState) -> Lookup<'_> {
    let (wasi, table, meter) = s.lookup_parts();
    Lookup {
        sockets: WasiSocketsCtxView {
            ctx: wasi.sockets(),
            table,
        },
        meter,
    }
}

impl LookupHost for Lookup<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        self.meter
            .charge(schedule::bytes(name.len() as u64))
            .map_err(|a| SocketError::trap(wasmtime::Error::new(a)))?;
        self.sockets.resolve_addresses(network, name)
    }
}

/// The error conversion the lookup's error type needs, as wasmtime-wasi has it.
impl NetworkHost for Lookup<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        self.sockets.convert_error_code(error)
    }

    fn network_error_code(
        &mut self,
        err: Resource<network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.sockets.network_error_code(err)
    }
}

impl network::HostNetwork for Lookup<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        network::HostNetwork::drop(&mut self.sockets, this)
    }
}

impl HostResolveAddressStream for Lookup<'_> {
    fn resolve_next_address(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        self.sockets.resolve_next_address(stream)
    }

    fn subscribe(
        &mut self,
        stream: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<wasmtime_wasi::p2::DynPollable>> {
        HostResolveAddressStream::subscribe(&mut self.sockets, stream)
    }

    fn drop(&mut self, stream: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.sockets, stream)
    }
}
