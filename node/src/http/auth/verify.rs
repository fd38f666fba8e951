//! Checking a request's RFC 9421 signature, its RFC 9530 digest, its age
//! and its nonce.
//!
//! In order, and the first failure answers 401 with its own code:
//! exactly one signature (`unauthorized.missing-signature`,
//! `unauthorized.bad-signature-input`); parameters `created`, `nonce`,
//! `keyid` and `alg="ed25519"` present and the components `@method`,
//! `@path`, `@query` and `content-digest` covered
//! (`unauthorized.incomplete-signature`); `created` within the window of the
//! node's clock and `expires`, if any, not past (`unauthorized.expired`,
//! `unauthorized.from-the-future`); the key known to the node
//! (`unauthorized.unknown-key`); the signature valid for that key
//! (`unauthorized.bad-signature`); the body matching `Content-Digest`
//! (`unauthorized.digest-mismatch`); and only then the nonce unused within
//! the window (`unauthorized.replayed`).
//!
//! Defends against forged requests (Ed25519 over the method, path, query
//! and body digest), tampered bodies (digest), replays (nonce cache, window),
//! stale captures (window), and cache poisoning (a nonce is remembered only
//! once everything else verified).

use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use bytes::Bytes;
use http_body_util::Full;
use httpsig_hyper::prelude::{AlgorithmName, HttpSignatureParams, PublicKey as HttpPublicKey};
use httpsig_hyper::{MessageSignature, MessageSignatureReq, RequestContentDigest};

use super::nonce::{NonceCache, NonceCheck};
use super::sign::{COVERED, poll_ready};
use crate::http::problem::ApiError;

/// Longest nonce accepted, characters; shortest is 16.
const MAX_NONCE: usize = 128;

/// The parameters of the one signature on `req`, checked for completeness
/// and age. Returns the key id and the params.
pub(crate) fn signature_params(
    req: &Request<Full<Bytes>>,
    now: u64,
    window: u64,
) -> Result<HttpSignatureParams, ApiError> {
    let headers = req.headers();
    if !headers.contains_key("signature") || !headers.contains_key("signature-input") {
        return Err(ApiError::unauthorized(
            "missing-signature",
            "this request is not signed; sign it with your Ed25519 key (RFC 9421), e.g. with `sluice client`",
        ));
    }
    if headers.get_all("signature").iter().count() != 1
        || headers.get_all("signature-input").iter().count() != 1
    {
        return Err(ApiError::unauthorized(
            "bad-signature-input",
            "send exactly one Signature and one Signature-Input header, with one signature",
        ));
    }
    let all = req.get_signature_params().map_err(|e| {
        ApiError::unauthorized(
            "bad-signature-input",
            format!("the Signature-Input header does not parse: {e}"),
        )
    })?;
    if all.len() != 1 {
        return Err(ApiError::unauthorized(
            "bad-signature-input",
            format!(
                "the request carries {} signatures; send exactly one",
                all.len()
            ),
        ));
    }
    let params = all.into_values().next().unwrap_or_else(|| unreachable!());
    check_params(&params, now, window)?;
    Ok(params)
}

fn check_params(params: &HttpSignatureParams, now: u64, window: u64) -> Result<(), ApiError> {
    let incomplete = |what: String| ApiError::unauthorized("incomplete-signature", what);
    let covered: Vec<String> = params
        .covered_components
        .iter()
        .map(|c| c.to_string().trim_matches('"').to_string())
        .collect();
    for needed in COVERED {
        if !covered.iter().any(|c| c == needed) {
            return Err(incomplete(format!(
                "the signature must cover {needed}; cover {} (it covers {})",
                COVERED.join(", "),
                covered.join(", ")
            )));
        }
    }
    if params.alg.as_deref() != Some("ed25519") {
        return Err(incomplete(
            "the signature must say alg=\"ed25519\"; only Ed25519 keys are known to Sluice nodes"
                .into(),
        ));
    }
    if params.keyid.as_deref().is_none_or(str::is_empty) {
        return Err(incomplete(
            "the signature has no keyid; set it to your public key in hex".into(),
        ));
    }
    let nonce = params.nonce.as_deref().unwrap_or("");
    if nonce.len() < 16 || nonce.len() > MAX_NONCE {
        return Err(incomplete(format!(
            "the signature needs a nonce of 16 to {MAX_NONCE} characters (fresh for every request)"
        )));
    }
    let Some(created) = params.created else {
        return Err(incomplete(
            "the signature has no created time; set it to the current Unix time".into(),
        ));
    };
    if created + window < now {
        return Err(ApiError::unauthorized(
            "expired",
            format!(
                "the signature was created {}s ago; this node accepts signatures up to {window}s old: sign the request again",
                now - created
            ),
        ));
    }
    if created > now + window {
        return Err(ApiError::unauthorized(
            "from-the-future",
            format!(
                "the signature was created {}s in the future; check your clock (this node allows {window}s of skew)",
                created - now
            ),
        ));
    }
    if params.expires.is_some_and(|e| e < now) {
        return Err(ApiError::unauthorized(
            "expired",
            "the signature's expires time has passed: sign the request again",
        ));
    }
    Ok(())
}

/// Verifies the signature of `req` with `key_raw` (the key the node knows
/// under the signature's `keyid`), the body digest, and the nonce.
pub(crate) fn verify(
    req: Request<Full<Bytes>>,
    params: &HttpSignatureParams,
    key_raw: &[u8; 32],
    nonces: &NonceCache,
    now: u64,
    window: u64,
) -> Result<(), ApiError> {
    let keyid = params.keyid.clone().unwrap_or_default();
    let key = HttpPublicKey::from_bytes(&AlgorithmName::Ed25519, key_raw)
        .map_err(|e| ApiError::internal("internal.key", e))?;
    poll_ready(req.verify_message_signature(&key, Some(keyid.as_str()))).map_err(|_| {
        ApiError::unauthorized(
            "bad-signature",
            "the signature does not verify with the key named by keyid; sign exactly the method, path, query and Content-Digest you send",
        )
    })?;
    if !req.headers().contains_key("content-digest") {
        return Err(ApiError::unauthorized(
            "digest-mismatch",
            "the request has no Content-Digest header; send sha-256=:base64: of the body",
        ));
    }
    poll_ready(req.verify_content_digest()).map_err(|_| {
        ApiError::unauthorized(
            "digest-mismatch",
            "the body does not match its Content-Digest; the body was changed after signing",
        )
    })?;
    let created = params.created.unwrap_or(now);
    let nonce = params.nonce.as_deref().unwrap_or("");
    match nonces.check(&keyid, nonce, now, created + window + 1) {
        NonceCheck::Fresh => Ok(()),
        NonceCheck::Replayed => Err(ApiError::unauthorized(
            "replayed",
            "this signature's nonce was already used: a request is accepted once; sign each request anew",
        )),
        NonceCheck::Full => Err(ApiError::busy(
            StatusCode::SERVICE_UNAVAILABLE,
            "nonce-cache",
            "the node is remembering too many recent requests; retry shortly",
            1,
        )),
    }
}

/// `parts` and `body` as the request type the signature crate reads.
pub(crate) fn request_of(parts: &Parts, body: &Bytes) -> Request<Full<Bytes>> {
    let mut req = Request::new(Full::new(body.clone()));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.headers_mut() = parts.headers.clone();
    req
}
