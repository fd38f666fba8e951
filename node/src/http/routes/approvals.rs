//! Approval requests over HTTP: a buyer asks; the dataset's owner lists
//! pending requests, reviews the module (hash, signer, imports, size) and
//! approves (optionally until an expiry: a new policy version) or rejects
//! with a reason. Both decisions are ledger events.
//!
//! Defends against a buyer asking about a module it did not sign or a
//! dataset outside its scope, an owner deciding for another owner's
//! dataset, and anyone reading requests that are not theirs (buyers see
//! their own, owners those for their datasets).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::datasets::to_json;
use super::{JsonBody, PathText, Query};
use crate::approvals::ApprovalRequest;
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

fn visible(caller: &Caller, r: &ApprovalRequest) -> bool {
    match caller.role() {
        Role::Operator | Role::Auditor => true,
        Role::Owner => caller.owns(&r.dataset),
        Role::Buyer => r.buyer == caller.hex(),
    }
}

/// A buyer's request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRequest {
    /// The dataset.
    dataset: String,
    /// The module hash (uploaded first with `POST /v1/modules`).
    module_hash: String,
    /// A note to the owner: what the module does and why it needs raw access.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /v1/approvals`: ask a dataset's owner to approve a module (buyer).
#[utoipa::path(post, path = "/v1/approvals", tag = "approvals", security(("signature" = [])),
    request_body = NewRequest,
    responses((status = 201, description = "The pending request", body = serde_json::Value),
              (status = 400, description = "Bad request", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not a buyer, out of scope, or not the caller's module", body = Problem),
              (status = 404, description = "No such dataset or module", body = Problem)))]
pub(crate) async fn request(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(new): JsonBody<NewRequest>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(&[Role::Buyer])?;
    if !caller.in_scope(&new.dataset) {
        return Err(ApiError::forbidden(
            "scope",
            format!("your key may not use dataset `{}`", new.dataset),
        ));
    }
    let key = caller.key.clone();
    let request = app
        .blocking(move |n| {
            let bytes = n.module(&new.module_hash)?;
            super::modules::check_signer(&caller, &bytes)?;
            Ok(n.request_approval(&key, &new.dataset, &new.module_hash, new.note.as_deref())?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(to_json(&request)?)))
}

/// Which requests to list.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only requests with this status: `pending`, `approved` or `rejected`.
    #[param(inline)]
    status: Option<crate::approvals::ApprovalStatus>,
}

/// `GET /v1/approvals`: the requests the caller may see.
#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", security(("signature" = [])),
    params(ListQuery),
    responses((status = 200, description = "Requests, oldest first", body = Vec<serde_json::Value>),
              (status = 400, description = "Bad query", body = Problem),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let all = app.blocking(|n| Ok(n.approval_requests()?)).await?;
    all.iter()
        .filter(|r| visible(&caller, r) && q.status.is_none_or(|s| r.status == s))
        .map(to_json)
        .collect::<Result<_, _>>()
        .map(Json)
}

async fn fetch(app: &Arc<App>, caller: &Caller, id: String) -> Result<ApprovalRequest, ApiError> {
    let r = app.blocking(move |n| Ok(n.approval_request(&id)?)).await?;
    if !visible(caller, &r) {
        return Err(ApiError::not_found(
            "approval",
            "no approval request you may see has this id",
        ));
    }
    Ok(r)
}

/// `GET /v1/approvals/{id}`: one request.
#[utoipa::path(get, path = "/v1/approvals/{id}", tag = "approvals", security(("signature" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The request", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 404, description = "No such request", body = Problem)))]
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(to_json(&fetch(&app, &caller, id).await?)?))
}

/// An owner's approval.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approve {
    /// When the approval ends, RFC 3339 (e.g. `2027-06-30T00:00:00Z`); absent: never.
    #[serde(default)]
    expires: Option<String>,
    /// The owner's note (who reviewed, what was checked).
    #[serde(default)]
    note: Option<String>,
}

/// An approval and the policy version it made current.
#[derive(Serialize, ToSchema)]
pub(crate) struct Approved {
    /// The decided request.
    #[schema(value_type = Object)]
    request: serde_json::Value,
    /// The new policy version.
    #[schema(value_type = Object)]
    policy: serde_json::Value,
}

/// `POST /v1/approvals/{id}/approve`: approve (the dataset's owner; recorded).
#[utoipa::path(post, path = "/v1/approvals/{id}/approve", tag = "approvals", security(("signature" = [])),
    params(("id" = String, Path, description = "Request id")),
    request_body = Approve,
    responses((status = 200, description = "Approved; a new policy version is current", body = Approved),
              (status = 400, description = "Bad expiry or note", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not the dataset's owner", body = Problem),
              (status = 404, description = "No such request", body = Problem),
              (status = 409, description = "Already decided, or already approved", body = Problem)))]
pub(crate) async fn approve(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
    JsonBody(body): JsonBody<Approve>,
) -> Result<Json<Approved>, ApiError> {
    let r = fetch(&app, &caller, id).await?;
    caller.require_owner_of(&r.dataset)?;
    let by = caller.key.clone();
    let (request, policy) = app
        .blocking(move |n| {
            Ok(n.approve(&r.id, &by, body.expires.as_deref(), body.note.as_deref())?)
        })
        .await?;
    Ok(Json(Approved {
        request: to_json(&request)?,
        policy: to_json(&policy)?,
    }))
}

/// An owner's rejection.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Reject {
    /// Why, for the buyer.
    reason: String,
}

/// `POST /v1/approvals/{id}/reject`: reject with a reason (the dataset's owner; recorded).
#[utoipa::path(post, path = "/v1/approvals/{id}/reject", tag = "approvals", security(("signature" = [])),
    params(("id" = String, Path, description = "Request id")),
    request_body = Reject,
    responses((status = 200, description = "Rejected", body = serde_json::Value),
              (status = 400, description = "No reason", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not the dataset's owner", body = Problem),
              (status = 404, description = "No such request", body = Problem),
              (status = 409, description = "Already decided", body = Problem)))]
pub(crate) async fn reject(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
    JsonBody(body): JsonBody<Reject>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = fetch(&app, &caller, id).await?;
    caller.require_owner_of(&r.dataset)?;
    let by = caller.key.clone();
    let request = app
        .blocking(move |n| Ok(n.reject(&r.id, &by, &body.reason)?))
        .await?;
    Ok(Json(to_json(&request)?))
}
