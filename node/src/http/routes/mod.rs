//! The API's handlers, one file per resource, and the extractors they share.
//!
//! The extractors turn every malformed input into a problem answer
//! (`invalid.json`, `invalid.query`, `unsupported.media-type`) instead of
//! axum's plain-text rejections, so every error a client sees is RFC 9457.

pub(crate) mod approvals;
pub(crate) mod billing;
pub(crate) mod catalog;
pub(crate) mod datasets;
pub(crate) mod keys;
pub(crate) mod ledger;
pub(crate) mod modules;
pub(crate) mod node;
pub(crate) mod runs;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::http::problem::ApiError;
use crate::http::roles::Caller;

/// A JSON request body, refused as problem details when it does not parse.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.trim().to_ascii_lowercase();
                v.starts_with("application/json") || v.starts_with("application/problem+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported.media-type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid("body", e.body_text()))?;
        serde_json::from_slice(&bytes).map(Self).map_err(|e| {
            ApiError::invalid(
                "json",
                format!("the JSON body does not fit this route: {e}"),
            )
        })
    }
}

/// Query parameters, refused as problem details when they do not parse.
pub(crate) struct Query<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::invalid("query", e.body_text()))
    }
}

/// A path parameter as text, refused as problem details when it is not UTF-8.
pub(crate) struct PathText(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for PathText {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| ApiError::invalid("path", e.body_text()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            ApiError::unauthorized("missing-signature", "this request is not signed")
        })
    }
}

/// Parses a ledger index.
pub(crate) fn index(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::invalid(
            "index",
            format!("{text:?} is not a ledger index; use a whole number from 0"),
        )
    })
}
