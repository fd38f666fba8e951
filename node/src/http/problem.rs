//! RFC 9457 problem details: every error the server answers with.
//!
//! The body is `application/problem+json` with `type` set to the stable
//! code of what went wrong (`not-found.dataset`, `unauthorized.replayed`,
//! `denied.unknown-signer`, ...), `title` a short text derived from the
//! code's class, `status` the HTTP status, and `detail` the message for
//! people: what was wrong and what to do. Codes are the node's and the
//! ledger's codes; the status follows from the code's class, so a client
//! branches on `type`, never on text.
//!
//! Defends against leaking internals (an internal error's detail is logged
//! for the operator and replaced by a generic sentence for the caller) and
//! against unmapped errors (every [`NodeError`] maps to a status here).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::NodeError;

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// The stable code of what went wrong (a relative URI reference).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the code's class.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong and what to do about it.
    pub detail: String,
    /// Seconds to wait before retrying (busy answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// An error the server answers with: a status, a code and a message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (the problem's `type`).
    pub code: String,
    /// The message for people.
    pub detail: String,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 400 `invalid.*`.
    pub fn invalid(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, format!("invalid.{code}"), detail)
    }

    /// 401 `unauthorized.*`.
    pub fn unauthorized(code: &str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            format!("unauthorized.{code}"),
            detail,
        )
    }

    /// 403 `forbidden.*`.
    pub fn forbidden(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, format!("forbidden.{code}"), detail)
    }

    /// 404 `not-found.*`.
    pub fn not_found(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("not-found.{code}"), detail)
    }

    /// An overloaded or stopping server: `status` (429 or 503) with `Retry-After`.
    pub fn busy(status: StatusCode, code: &str, detail: impl Into<String>, retry: u64) -> Self {
        Self {
            retry_after: Some(retry),
            ..Self::new(status, format!("busy.{code}"), detail)
        }
    }

    /// 500: the node failed. The detail is logged, not shown.
    pub fn internal(code: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!(code, error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code,
            "the node failed to handle this request; the operator's log has the cause. Retry later",
        )
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: self.code.clone(),
            title: title(&self.code).into(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            retry_after: self.retry_after,
        }
    }
}

/// The title of a code's class.
fn title(code: &str) -> &'static str {
    match code.split('.').next().unwrap_or("") {
        "invalid" => "Invalid request",
        "unauthorized" => "Not authenticated",
        "forbidden" => "Not allowed for this key",
        "not-found" => "Not found",
        "conflict" => "Conflict",
        "too-large" => "Request body too large",
        "unsupported" => "Unsupported media type",
        "method" => "Method not allowed",
        "busy" => "Busy",
        "denied" => "Run denied",
        "withheld" => "Output withheld",
        "aborted" => "Run aborted",
        _ => "Internal error",
    }
}

/// The status of a [`NodeError`]'s code.
pub fn status_of(code: &str) -> StatusCode {
    match code.split('.').next().unwrap_or("") {
        "not-found" => StatusCode::NOT_FOUND,
        "conflict" => StatusCode::CONFLICT,
        _ if code == "invalid.data-dir" => StatusCode::INTERNAL_SERVER_ERROR,
        "invalid" => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        let code = e.code();
        let status = status_of(code);
        if status.is_server_error() {
            Self::internal(code, &e)
        } else {
            Self::new(status, code, e.to_string())
        }
    }
}

/// A JSON body that `Content-Type: application/problem+json` labels.
pub(crate) fn problem_response<T: Serialize>(
    status: StatusCode,
    body: &T,
    retry_after: Option<u64>,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        problem_response(self.status, &self.problem(), self.retry_after)
    }
}
