//! `sluice client proxy`: serve the local signing proxy until Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::anyhow;
use clap::Args;
use sluice_node::http::proxy::signing_proxy;
use sluice_node::http::{Client, RequestSigner, shutdown_signal};
use sluice_runtime::signing::SecretKey;

use crate::cli::Failure;

/// Arguments of `sluice client proxy`.
#[derive(Args)]
pub(super) struct ProxyArgs {
    /// Where the proxy listens (keep it on loopback: it signs as you).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
}

/// `sluice client proxy`.
pub(super) fn run(node: &str, key: Option<&Path>, args: &ProxyArgs) -> Result<ExitCode, Failure> {
    let key = key.ok_or_else(|| {
        Failure::usage(anyhow!("the proxy signs with --key FILE (or SLUICE_KEY)"))
    })?;
    let key = SecretKey::from_file(key).map_err(|e| Failure::usage(anyhow!("--key: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::internal)?;
    runtime.block_on(async {
        let client = Client::new(node, Some(RequestSigner::new(&key)));
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::usage(anyhow!("cannot listen on {}: {e}", args.listen)))?;
        eprintln!(
            "signing proxy for {node} as key {} on http://{}",
            key.public().key_id(),
            args.listen
        );
        signing_proxy(listener, client, shutdown_signal())
            .await
            .map_err(Failure::internal)
    })?;
    Ok(ExitCode::SUCCESS)
}
