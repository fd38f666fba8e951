//! Health, the node's identity (what receipts verify against), and who the
//! caller is to this node.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::KeyRecord;

/// Liveness.
#[derive(Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` while the server answers.
    status: String,
}

/// `GET /healthz`: the server is up (no signature needed).
#[utoipa::path(get, path = "/healthz", tag = "node",
    responses((status = 200, description = "The server answers", body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The node's identity.
#[derive(Serialize, ToSchema)]
pub(crate) struct NodeInfo {
    /// The node id (its key id).
    node_id: String,
    /// The node's Ed25519 public key, hex.
    public_key: String,
    /// The C2SP note verifier key of its checkpoints (what receipts verify against).
    note_verifier: String,
    /// The engine and its deterministic configuration.
    engine: String,
    /// The Sluice version.
    version: String,
}

/// `GET /v1/node`: the node's id, key and checkpoint verifier.
#[utoipa::path(get, path = "/v1/node", tag = "node", security(("signature" = [])),
    responses((status = 200, description = "The node's identity", body = NodeInfo),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn info(State(app): State<Arc<App>>, _caller: Caller) -> Json<NodeInfo> {
    let node = &app.node;
    Json(NodeInfo {
        node_id: node.id(),
        public_key: node.public_key().to_hex(),
        note_verifier: node.note_verifier().vkey(),
        engine: node.engine().description().to_string(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// A key as the API shows it.
#[derive(Serialize, ToSchema)]
pub(crate) struct KeyView {
    /// The public key, hex.
    key: String,
    /// Its key id.
    key_id: String,
    /// `operator`, `owner`, `buyer` or `auditor`.
    role: String,
    /// Datasets it is limited to (buyers; empty: all) or owns (owners).
    datasets: Vec<String>,
    /// When it was added.
    added_at: String,
    /// Who added it.
    added_by: String,
}

impl From<KeyRecord> for KeyView {
    fn from(k: KeyRecord) -> Self {
        Self {
            key: k.key,
            key_id: k.key_id,
            role: k.role.as_str().into(),
            datasets: k.datasets,
            added_at: k.added_at,
            added_by: k.added_by,
        }
    }
}

/// `GET /v1/whoami`: the caller's key as this node knows it.
#[utoipa::path(get, path = "/v1/whoami", tag = "node", security(("signature" = [])),
    responses((status = 200, description = "The caller's key record", body = KeyView),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn whoami(caller: Caller) -> Result<Json<KeyView>, ApiError> {
    Ok(Json(caller.record.into()))
}
