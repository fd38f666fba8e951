//! Authentication: every request under `/v1/` must carry an RFC 9421
//! signature by a key the node knows (see [`verify`] for the checks), and a
//! body no larger than its route's cap.
//!
//! The middleware reads the body up to the cap (413 `too-large.body`
//! beyond it, before anything else is done with it), verifies the
//! signature, digest, age and nonce, looks the key up, and hands the
//! handler a [`Caller`](crate::http::roles::Caller). Defends against
//! unauthenticated access, oversized bodies exhausting memory, and callers
//! claiming a role (the role comes from the node's key table).

pub(crate) mod nonce;
pub mod sign;
pub(crate) mod verify;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::app::App;
use crate::http::problem::ApiError;
use crate::http::roles::Caller;

/// The body cap of a request: module uploads get the module cap.
fn body_cap(app: &App, method: &Method, path: &str) -> usize {
    if method == Method::POST && path == "/v1/modules" {
        app.config.max_module_bytes
    } else {
        app.config.max_body_bytes
    }
}

fn too_large(cap: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large.body",
        format!(
            "the request body is larger than this route accepts ({cap} bytes); send less, or ask the operator to raise the limit"
        ),
    )
}

/// The authentication middleware.
pub(crate) async fn authenticate(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    match check(&app, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn check(app: &Arc<App>, req: Request) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    let cap = body_cap(app, &parts.method, parts.uri.path());
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(too_large(cap));
    }
    let bytes = axum::body::to_bytes(body, cap)
        .await
        .map_err(|_| too_large(cap))?;
    let now = sign::unix_now();
    let window = app.config.signature_window_secs;
    let signed = verify::request_of(&parts, &bytes);
    let params = verify::signature_params(&signed, now, window)?;
    let keyid = params.keyid.clone().unwrap_or_default();
    let record = app.key(&keyid).ok_or_else(|| {
        ApiError::unauthorized(
            "unknown-key",
            format!(
                "this node does not know the key {}; ask its operator to add your public key",
                keyid.chars().take(64).collect::<String>()
            ),
        )
    })?;
    let key = record
        .public_key()
        .map_err(|e| ApiError::internal("internal.key", e))?;
    verify::verify(signed, &params, &key.raw(), &app.nonces, now, window)?;
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(Caller { key, record });
    Ok(req)
}
