//! The ledger over HTTP: the latest signed checkpoint and consistency
//! proofs for everyone (buyers need them to check their receipts against
//! later checkpoints); events, inclusion proofs, the export and a full
//! verification for auditors and the operator.
//!
//! Everything returned can be checked offline with `sluice-ledger` against
//! the node's note verifier key (`GET /v1/node`). Defends against buyers
//! reading other buyers' events (event routes need the auditor or operator
//! role) and against unbounded answers (pages are capped).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::datasets::to_json;
use super::{PathText, Query, index};
use crate::NodeError;
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

const READERS: &[Role] = &[Role::Auditor, Role::Operator];

/// The latest signed checkpoint.
#[derive(Serialize, ToSchema)]
pub(crate) struct Checkpoint {
    /// The log's origin line.
    origin: String,
    /// Number of events it covers.
    size: u64,
    /// Root hash, hex.
    root: String,
    /// The C2SP signed note.
    note: String,
}

/// `GET /v1/ledger/checkpoint`: the latest signed checkpoint.
#[utoipa::path(get, path = "/v1/ledger/checkpoint", tag = "ledger", security(("signature" = [])),
    responses((status = 200, description = "The checkpoint", body = Checkpoint),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn checkpoint(
    State(app): State<Arc<App>>,
    _caller: Caller,
) -> Result<Json<Checkpoint>, ApiError> {
    let c = app
        .blocking(|n| Ok(n.ledger().checkpoint().map_err(NodeError::from)?))
        .await?;
    Ok(Json(Checkpoint {
        origin: c.origin,
        size: c.size,
        root: hex::encode(c.root),
        note: c.note,
    }))
}

/// Two tree sizes.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Sizes {
    /// The older tree size.
    #[param(minimum = 0)]
    from: u64,
    /// The newer tree size (default: the current size).
    #[param(minimum = 0)]
    to: Option<u64>,
}

/// A proof between tree sizes, or of an index in a tree size.
#[derive(Serialize, ToSchema)]
pub(crate) struct Proof {
    /// The older size (consistency) or the leaf index (inclusion).
    from: u64,
    /// The tree size the proof leads to.
    to: u64,
    /// The RFC 6962 proof hashes, hex.
    proof: Vec<String>,
}

fn ledger_error(e: sluice_ledger::LedgerError) -> ApiError {
    let message = e.to_string();
    let ne = NodeError::from(e);
    if ne.is_caller_error() || matches!(ne, NodeError::Ledger(_)) && message.contains("size") {
        ApiError::invalid("range", message)
    } else {
        ne.into()
    }
}

fn check_range(a: u64, b: u64, len: u64, what: &str) -> Result<(), ApiError> {
    if a > b || b > len {
        return Err(ApiError::invalid(
            "range",
            format!("{what} needs {a} ≤ {b} ≤ {len} (the ledger's current size)"),
        ));
    }
    Ok(())
}

/// `GET /v1/ledger/consistency`: proof that the log at `to` extends the log at `from`.
#[utoipa::path(get, path = "/v1/ledger/consistency", tag = "ledger", security(("signature" = [])),
    params(Sizes),
    responses((status = 200, description = "The consistency proof", body = Proof),
              (status = 400, description = "Bad sizes", body = Problem),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn consistency(
    State(app): State<Arc<App>>,
    _caller: Caller,
    Query(q): Query<Sizes>,
) -> Result<Json<Proof>, ApiError> {
    let proof = app
        .blocking(move |n| {
            let len = n.ledger().len().map_err(NodeError::from)?;
            let to = q.to.unwrap_or(len);
            check_range(q.from, to, len, "a consistency proof")?;
            let proof = n
                .ledger()
                .consistency_proof(q.from, to)
                .map_err(ledger_error)?;
            Ok(Proof {
                from: q.from,
                to,
                proof: proof.iter().map(hex::encode).collect(),
            })
        })
        .await?;
    Ok(Json(proof))
}

/// A leaf and a tree size.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Inclusion {
    /// The event's ledger index.
    #[param(minimum = 0)]
    index: u64,
    /// The tree size (default: the current size).
    #[param(minimum = 0)]
    size: Option<u64>,
}

/// `GET /v1/ledger/inclusion`: proof that event `index` is in the tree of `size` (auditor, operator).
#[utoipa::path(get, path = "/v1/ledger/inclusion", tag = "ledger", security(("signature" = [])),
    params(Inclusion),
    responses((status = 200, description = "The inclusion proof", body = Proof),
              (status = 400, description = "Bad index or size", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem)))]
pub(crate) async fn inclusion(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<Inclusion>,
) -> Result<Json<Proof>, ApiError> {
    caller.require(READERS)?;
    let proof = app
        .blocking(move |n| {
            let len = n.ledger().len().map_err(NodeError::from)?;
            let size = q.size.unwrap_or(len);
            check_range(q.index.saturating_add(1), size, len, "an inclusion proof")?;
            let proof = n
                .ledger()
                .inclusion_proof(q.index, size)
                .map_err(ledger_error)?;
            Ok(Proof {
                from: q.index,
                to: size,
                proof: proof.iter().map(hex::encode).collect(),
            })
        })
        .await?;
    Ok(Json(proof))
}

/// A page of events.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EventPage {
    /// First index (default 0).
    #[param(minimum = 0)]
    from: Option<u64>,
    /// Most events (default 100, at most 1000).
    #[param(minimum = 0)]
    limit: Option<u64>,
}

/// `GET /v1/ledger/events`: events in ledger order (auditor, operator).
#[utoipa::path(get, path = "/v1/ledger/events", tag = "ledger", security(("signature" = [])),
    params(EventPage),
    responses((status = 200, description = "Events (CloudEvents envelopes)", body = Vec<serde_json::Value>),
              (status = 400, description = "Bad query", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem)))]
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<EventPage>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(READERS)?;
    let events = app
        .blocking(move |n| Ok(n.events(q.from.unwrap_or(0), q.limit.unwrap_or(100).min(1000))?))
        .await?;
    events
        .iter()
        .map(|e| to_json(&e.envelope))
        .collect::<Result<_, _>>()
        .map(Json)
}

/// `GET /v1/ledger/events/{index}`: one event (auditor, operator).
#[utoipa::path(get, path = "/v1/ledger/events/{index}", tag = "ledger", security(("signature" = [])),
    params(("index" = u64, Path, description = "Ledger index", minimum = 0)),
    responses((status = 200, description = "The event", body = serde_json::Value),
              (status = 400, description = "Not an index", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem),
              (status = 404, description = "No event there", body = Problem)))]
pub(crate) async fn event(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(at): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(READERS)?;
    let at = index(&at)?;
    let e = app.blocking(move |n| Ok(n.event(at)?)).await?;
    Ok(Json(to_json(&e.envelope)?))
}

/// `GET /v1/ledger/export`: the whole ledger as JSON Lines (auditor, operator).
#[utoipa::path(get, path = "/v1/ledger/export", tag = "ledger", security(("signature" = [])),
    responses((status = 200, description = "The export", content_type = "application/jsonl", body = String),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem)))]
pub(crate) async fn export(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(READERS)?;
    let bytes = app
        .blocking(|n| {
            let mut out = Vec::new();
            n.export(&mut out)?;
            Ok(out)
        })
        .await?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jsonl"),
    );
    Ok(response)
}

/// `GET /v1/ledger/verify`: audit the whole ledger on the node (auditor, operator).
#[utoipa::path(get, path = "/v1/ledger/verify", tag = "ledger", security(("signature" = [])),
    responses((status = 200, description = "The verification report", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem)))]
pub(crate) async fn verify(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(READERS)?;
    let report = app.blocking(|n| Ok(n.verify_ledger()?)).await?;
    Ok(Json(to_json(&report)?))
}
