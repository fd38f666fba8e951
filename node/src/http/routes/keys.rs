//! Keys the node knows and their roles: the operator lists and adds them.
//! Adding a key is a recorded ledger event; the server's key cache is
//! reloaded at once so the new key can sign its next request.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sluice_runtime::signing::PublicKey;
use utoipa::ToSchema;

use super::JsonBody;
use super::node::KeyView;
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

/// `GET /v1/keys`: every key (operator).
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("signature" = [])),
    responses((status = 200, description = "Every key", body = Vec<KeyView>),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not the operator", body = Problem)))]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<KeyView>>, ApiError> {
    caller.require(&[Role::Operator])?;
    let keys = app.blocking(|n| Ok(n.keys()?)).await?;
    Ok(Json(keys.into_iter().map(KeyView::from).collect()))
}

/// A role, as the API names it.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleName {
    /// Runs the node.
    Operator,
    /// Owns the datasets listed.
    Owner,
    /// Runs signed modules.
    Buyer,
    /// Reads the ledger, replays.
    Auditor,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Self {
        match r {
            RoleName::Operator => Role::Operator,
            RoleName::Owner => Role::Owner,
            RoleName::Buyer => Role::Buyer,
            RoleName::Auditor => Role::Auditor,
        }
    }
}

/// A key to add.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// The public key (hex, base64 or PEM).
    key: String,
    /// `operator`, `owner`, `buyer` or `auditor`.
    role: RoleName,
    /// Buyers: the datasets it may use (empty: all). Owners: the datasets it owns.
    #[serde(default)]
    datasets: Vec<String>,
}

/// `POST /v1/keys`: add a key or change its role (operator; recorded).
#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("signature" = [])),
    request_body = NewKey,
    responses((status = 201, description = "The key as stored", body = KeyView),
              (status = 400, description = "Unusable key", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not the operator", body = Problem)))]
pub(crate) async fn add(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(new): JsonBody<NewKey>,
) -> Result<(StatusCode, Json<KeyView>), ApiError> {
    caller.require(&[Role::Operator])?;
    let key = PublicKey::parse(new.key.trim())
        .map_err(|e| ApiError::invalid("key", format!("`key`: {e}")))?;
    let by = caller.key.clone();
    let record = app
        .blocking(move |n| Ok(n.add_key(&key, new.role.into(), &new.datasets, Some(&by))?))
        .await?;
    app.reload_keys()?;
    Ok((StatusCode::CREATED, Json(record.into())))
}
