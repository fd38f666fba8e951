//! The node as a service: an HTTP API (axum on tokio) over the same
//! [`Node`](crate::Node) the CLI uses.
//!
//! | file | concept |
//! |---|---|
//! | `config` | settings: defaults, a TOML file, `SLUICE_*` env vars |
//! | `auth` | RFC 9421 signatures: signing (`sign`), checking (`verify`), the replay cache (`nonce`), the middleware |
//! | `roles` | who may do what: operator, owner per dataset, buyer, auditor |
//! | `problem` | RFC 9457 problem details; every error's status |
//! | `pool` | the bounded run pool and its queue (429/503 + `Retry-After`) |
//! | `jobs` | runs that outlive their request, for polling |
//! | `telemetry` | OpenTelemetry traces and metrics, OTLP when configured |
//! | `openapi` | the OpenAPI 3.1 document's fixed parts |
//! | `routes` | the handlers, one file per resource |
//! | `server` | the router, serving, graceful shutdown |
//! | `app` | the shared state |
//!
//! What the server as a whole defends against: unauthenticated or replayed
//! requests, role escalation, oversized bodies, overload (bounded pool and
//! queue, fast refusals), runs on the async reactor (they run on blocking
//! workers), and losing a run's event at shutdown.

mod app;
pub mod auth;
pub mod client;
pub mod config;
pub mod fuzzing;
mod jobs;
mod openapi;
mod pool;
pub mod problem;
pub mod proxy;
pub mod roles;
mod routes;
pub mod server;
pub mod telemetry;

pub use app::App;
pub use auth::sign::{RequestSigner, SignOptions};
/// HTTP types clients need (methods, statuses).
pub use axum::http::{Method, StatusCode};
pub use client::{Answer, Client, ClientError};
pub use config::{ConfigError, ServerConfig};
pub use server::{router, serve, shutdown_signal};
pub use telemetry::{Metrics, Telemetry};
