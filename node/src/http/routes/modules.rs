//! Modules: a buyer uploads a signed component (up to the module cap); the
//! node stores it and answers with its hash, its signer and the WIT imports
//! it declares — what an owner reviews before approving it.
//!
//! Defends against oversized uploads (capped before the body is read in
//! full), a buyer uploading code signed by someone else (the module's
//! signature must verify against the caller's own key, so nobody can spend
//! another buyer's budget or bill), and buyers browsing other buyers'
//! modules (a buyer sees only modules it signed).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use sluice_runtime::signing;
use utoipa::ToSchema;

use super::PathText;
use crate::http::app::App;
use crate::http::problem::{ApiError, Problem};
use crate::http::roles::Caller;
use crate::keys::Role;

/// The signed component's bytes, as a request body (only its schema is
/// used: the handler reads the raw body).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub(crate) struct ModuleBytes(Vec<u8>);

/// A stored module.
#[derive(Serialize, ToSchema)]
pub(crate) struct ModuleView {
    /// Module hash: SHA-256 without the signature section, hex.
    hash: String,
    /// Size of the stored (signed) bytes.
    size: u64,
    /// Key id of its signer, when it verified against a buyer key the node knew.
    #[serde(skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
    /// When it was first stored.
    stored_at: String,
    /// The WIT imports it declares.
    imports: Vec<String>,
}

fn view(n: &crate::Node, hash: &str) -> Result<ModuleView, ApiError> {
    let record = n.module_record(hash)?;
    let imports = crate::imports::wit_imports(&n.module(hash)?).unwrap_or_default();
    Ok(ModuleView {
        hash: record.hash,
        size: record.size,
        signer: record.signer,
        stored_at: record.stored_at,
        imports,
    })
}

/// Refuses a module that is not signed by `caller` (buyers must upload
/// and run only their own signed code).
pub(crate) fn check_signer(caller: &Caller, bytes: &[u8]) -> Result<(), ApiError> {
    if caller.role() != Role::Buyer {
        return Ok(());
    }
    signing::verify(bytes, None, std::slice::from_ref(&caller.key))
        .map(|_| ())
        .map_err(|e| {
            ApiError::forbidden(
                "module-signer",
                format!(
                    "the module must carry a valid signature by your key {} ({e}); sign it with `sluice sign`",
                    caller.record.key_id
                ),
            )
        })
}

/// `POST /v1/modules`: store a signed component (buyer, operator).
#[utoipa::path(post, path = "/v1/modules", tag = "modules", security(("signature" = [])),
    request_body(content = ModuleBytes, content_type = "application/octet-stream", description = "The signed component (any content type: `application/wasm` is usual)"),
    responses((status = 201, description = "The stored module", body = ModuleView),
              (status = 400, description = "Not a component", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not a buyer, or not signed by the caller", body = Problem),
              (status = 413, description = "Larger than the module cap", body = Problem)))]
pub(crate) async fn upload(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: bytes::Bytes,
) -> Result<(StatusCode, Json<ModuleView>), ApiError> {
    caller.require(&[Role::Buyer, Role::Operator])?;
    if crate::imports::wit_imports(&body).is_err() || signing::module_hash(&body).is_err() {
        return Err(ApiError::invalid(
            "module",
            "the body is not a WebAssembly component; build it with `cargo build --target wasm32-wasip2` and sign it",
        ));
    }
    check_signer(&caller, &body)?;
    let module = app
        .blocking(move |n| {
            let record = n.put_module(&body)?;
            view(n, &record.hash)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(module)))
}

/// `GET /v1/modules/{hash}`: what the node knows of a module.
#[utoipa::path(get, path = "/v1/modules/{hash}", tag = "modules", security(("signature" = [])),
    params(("hash" = String, Path, description = "Module hash, hex")),
    responses((status = 200, description = "The module", body = ModuleView),
              (status = 401, description = "Not signed", body = Problem),
              (status = 404, description = "No such module (or not the caller's)", body = Problem)))]
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(hash): PathText,
) -> Result<Json<ModuleView>, ApiError> {
    let module = app.blocking(move |n| view(n, &hash)).await?;
    if caller.role() == Role::Buyer && module.signer.as_deref() != Some(&caller.record.key_id) {
        return Err(ApiError::not_found(
            "module",
            "no module you signed has this hash; upload it first",
        ));
    }
    Ok(Json(module))
}
