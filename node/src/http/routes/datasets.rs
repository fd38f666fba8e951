//! Datasets and their policy versions. The operator registers a dataset (a
//! file already on the node's disk, with its first policy and, optionally,
//! its owner's key); an owner reads its datasets and uploads new policy
//! versions (old ones stay addressable by hash); auditors read all of them.
//!
//! Defends against an owner touching another owner's dataset (each route
//! checks ownership) and against paths chosen over the network: only the
//! operator may name a file on the node's disk.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use sluice_runtime::signing::PublicKey;
use utoipa::ToSchema;

use super::{JsonBody, PathText};
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

/// `v` as a JSON value (an encoding failure is the node's).
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(v).map_err(|e| ApiError::internal("internal.encode", e))
}

/// `GET /v1/datasets`: registered datasets the caller manages or audits.
#[utoipa::path(get, path = "/v1/datasets", tag = "datasets", security(("signature" = [])),
    responses((status = 200, description = "Datasets with their current policy", body = Vec<serde_json::Value>),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "A buyer (use /v1/catalog)", body = Problem)))]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(&[Role::Operator, Role::Owner, Role::Auditor])?;
    let all = app.blocking(|n| Ok(n.datasets()?)).await?;
    all.iter()
        .filter(|d| caller.reads_everything() || caller.owns(&d.name))
        .map(to_json)
        .collect::<Result<_, _>>()
        .map(Json)
}

/// A dataset to register.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewDataset {
    /// Its name (letters, digits, `_`, `-`).
    name: String,
    /// The file or directory on the node's disk (CSV or Parquet).
    path: String,
    /// The first policy (TOML text) whose `dataset` is `name`.
    policy: String,
    /// The owner's public key: added (or extended) as owner of this dataset.
    #[serde(default)]
    owner: Option<String>,
}

/// `POST /v1/datasets`: register a dataset on the node (operator; recorded).
#[utoipa::path(post, path = "/v1/datasets", tag = "datasets", security(("signature" = [])),
    request_body = NewDataset,
    responses((status = 201, description = "The registered dataset", body = serde_json::Value),
              (status = 400, description = "Bad name, path or policy", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not the operator", body = Problem),
              (status = 409, description = "The name is taken", body = Problem)))]
pub(crate) async fn register(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(new): JsonBody<NewDataset>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(&[Role::Operator])?;
    let owner = new
        .owner
        .as_deref()
        .map(|k| PublicKey::parse(k.trim()))
        .transpose()
        .map_err(|e| ApiError::invalid("key", format!("`owner`: {e}")))?;
    let by = caller.key.clone();
    let record = app
        .blocking(move |n| {
            let record =
                n.add_dataset(&new.name, &PathBuf::from(&new.path), &new.policy, Some(&by))?;
            if let Some(owner) = owner {
                let mut owned = n
                    .keys()?
                    .into_iter()
                    .find(|k| k.key == owner.to_hex() && k.role == Role::Owner)
                    .map(|k| k.datasets)
                    .unwrap_or_default();
                owned.push(new.name.clone());
                n.add_key(&owner, Role::Owner, &owned, Some(&by))?;
            }
            Ok(record)
        })
        .await?;
    app.reload_keys()?;
    Ok((StatusCode::CREATED, Json(to_json(&record)?)))
}

/// `GET /v1/datasets/{name}`: one dataset, its file reopened (owner, operator, auditor).
#[utoipa::path(get, path = "/v1/datasets/{name}", tag = "datasets", security(("signature" = [])),
    params(("name" = String, Path, description = "Dataset name")),
    responses((status = 200, description = "The dataset", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not its owner", body = Problem),
              (status = 404, description = "No such dataset", body = Problem)))]
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(name): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !caller.reads_everything() {
        caller.require_owner_of(&name)?;
    }
    let record = app.blocking(move |n| Ok(n.dataset(&name)?)).await?;
    Ok(Json(to_json(&record)?))
}

/// `GET /v1/datasets/{name}/policies`: every policy version, oldest first.
#[utoipa::path(get, path = "/v1/datasets/{name}/policies", tag = "policies", security(("signature" = [])),
    params(("name" = String, Path, description = "Dataset name")),
    responses((status = 200, description = "Every version", body = Vec<serde_json::Value>),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not its owner", body = Problem),
              (status = 404, description = "No such dataset", body = Problem)))]
pub(crate) async fn policies(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(name): PathText,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    if !caller.reads_everything() {
        caller.require_owner_of(&name)?;
    }
    let versions = app.blocking(move |n| Ok(n.policy_versions(&name)?)).await?;
    versions
        .iter()
        .map(to_json)
        .collect::<Result<_, _>>()
        .map(Json)
}

/// A new policy version.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPolicy {
    /// The policy (TOML text) whose `dataset` is this dataset.
    policy: String,
}

/// `POST /v1/datasets/{name}/policies`: make a new policy version current (owner; recorded).
#[utoipa::path(post, path = "/v1/datasets/{name}/policies", tag = "policies", security(("signature" = [])),
    params(("name" = String, Path, description = "Dataset name")),
    request_body = NewPolicy,
    responses((status = 201, description = "The version now current", body = serde_json::Value),
              (status = 400, description = "Invalid policy", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not its owner", body = Problem),
              (status = 404, description = "No such dataset", body = Problem)))]
pub(crate) async fn put_policy(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(name): PathText,
    JsonBody(new): JsonBody<NewPolicy>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require_owner_of(&name)?;
    let by = caller.key.clone();
    let version = app
        .blocking(move |n| Ok(n.put_policy(&name, &new.policy, Some(&by))?))
        .await?;
    Ok((StatusCode::CREATED, Json(to_json(&version)?)))
}

/// `GET /v1/policies/{hash}`: a policy version by hash (its dataset's owner, operator, auditor).
#[utoipa::path(get, path = "/v1/policies/{hash}", tag = "policies", security(("signature" = [])),
    params(("hash" = String, Path, description = "SHA-256 of the policy text, hex")),
    responses((status = 200, description = "The version", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not its owner", body = Problem),
              (status = 404, description = "No such version", body = Problem)))]
pub(crate) async fn policy(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(hash): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Operator, Role::Owner, Role::Auditor])?;
    let version = app.blocking(move |n| Ok(n.policy_by_hash(&hash)?)).await?;
    if !caller.reads_everything() {
        caller.require_owner_of(&version.dataset)?;
    }
    Ok(Json(to_json(&version)?))
}
