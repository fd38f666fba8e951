//! `sluice serve`: the node as an HTTP service over the data directory.
//!
//! Settings come from embedded defaults, then `--config FILE` (TOML, keys
//! as in `sluice_node::http::config`), then `SLUICE_*` environment
//! variables, then `--listen`. `--demo` first sets the node up with the
//! example datasets, policies and demo keys (see `serve_demo`). Stops
//! cleanly on SIGTERM or Ctrl-C: every admitted run is recorded first.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use sluice_node::http::{App, Metrics, ServerConfig, Telemetry, serve, shutdown_signal};

use super::{Failure, NodeArgs, serve_demo};

/// Arguments of `sluice serve`.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080, or the config file's `listen`].
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<SocketAddr>,
    /// A TOML file of server settings (see the README's "Serving" section).
    #[arg(long, value_name = "FILE", env = "SLUICE_CONFIG")]
    config: Option<PathBuf>,
    /// Set the node up with the example datasets, policies and demo owner,
    /// buyer, auditor and operator keys (kept in DATA_DIR/demo) first.
    #[arg(long)]
    demo: bool,
}

/// `sluice serve`.
pub(super) fn run(node_args: &NodeArgs, args: ServeArgs) -> Result<ExitCode, Failure> {
    let mut config = ServerConfig::load(args.config.as_deref()).map_err(Failure::usage)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let node = Arc::new(node_args.open()?);
    let demo = if args.demo {
        Some(serve_demo::setup(&node)?)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sluice-http")
        .build()
        .map_err(Failure::internal)?;
    let left = runtime.block_on(async move {
        let telemetry = Telemetry::init().map_err(|e| Failure::usage(anyhow!(e)))?;
        let app = App::new(node.clone(), config.clone(), Metrics::global()).map_err(Failure::node)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Failure::usage(anyhow!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(Failure::internal)?;
        eprintln!(
            "sluice node {} serving {} on http://{addr} (API: http://{addr}/openapi.json); SIGTERM or Ctrl-C stops it",
            node.id(),
            node.data_dir().display()
        );
        if let Some(d) = &demo {
            eprint!("{}", serve_demo::instructions(d, addr));
        }
        let left = serve(app, listener, shutdown_signal())
            .await
            .map_err(Failure::internal)?;
        telemetry.shutdown();
        Ok::<usize, Failure>(left)
    })?;
    if left > 0 {
        return Err(Failure::internal(anyhow!(
            "{left} runs were still executing when the grace period ended; their attempts were not recorded and nothing was released for them"
        )));
    }
    Ok(ExitCode::SUCCESS)
}
