//! Entry points for the `cargo fuzz` targets in `fuzz/` (`http_signature`,
//! `http_request`): the same code paths the server runs on untrusted
//! input, callable without a node or a socket.
//!
//! Defends (by being fuzzed) against panics, hangs and unbounded work in
//! the signature parser and verifier and in the request body and query
//! parsers, whatever bytes arrive.

use axum::http::{HeaderName, HeaderValue, Method, Request, Uri};
use bytes::Bytes;
use http_body_util::Full;
use sluice_runtime::signing::SecretKey;

use crate::http::auth::nonce::NonceCache;
use crate::http::auth::verify;

/// Parses and verifies the RFC 9421 signature of a request made of these
/// parts against a fixed key; `Err` names the refusal. Parts that are not
/// valid HTTP are skipped, as hyper would refuse them before the server.
pub fn signature(
    method: &[u8],
    target: &[u8],
    headers: &[(Vec<u8>, Vec<u8>)],
    body: &[u8],
) -> Result<(), String> {
    let method = Method::from_bytes(method).map_err(|e| e.to_string())?;
    let uri = Uri::try_from(target).map_err(|e| e.to_string())?;
    let mut req = Request::new(Full::new(Bytes::copy_from_slice(body)));
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            req.headers_mut().append(n, v);
        }
    }
    let now = 1_800_000_000;
    let params = verify::signature_params(&req, now, 300).map_err(|e| e.code)?;
    let key = SecretKey::from_seed(&[7; 32]).public().raw();
    verify::verify(req, &params, &key, &NonceCache::new(16), now, 300).map_err(|e| e.code)?;
    Ok(())
}

/// Parses `body` as every JSON request body the API takes and `query` as
/// every query string; returns how many parsed.
pub fn request(body: &[u8], query: &str) -> usize {
    use crate::http::routes::{approvals, billing, datasets, keys, ledger, runs};
    fn parses<T: serde::de::DeserializeOwned>(b: &[u8]) -> usize {
        usize::from(serde_json::from_slice::<T>(b).is_ok())
    }
    fn query_parses<T: serde::de::DeserializeOwned>(q: &str) -> usize {
        let uri = format!("/x?{q}");
        uri.parse::<Uri>()
            .ok()
            .and_then(|u| axum::extract::Query::<T>::try_from_uri(&u).ok())
            .map_or(0, |_| 1)
    }
    parses::<runs::NewRun>(body)
        + parses::<keys::NewKey>(body)
        + parses::<datasets::NewDataset>(body)
        + parses::<datasets::NewPolicy>(body)
        + parses::<approvals::NewRequest>(body)
        + parses::<approvals::Approve>(body)
        + parses::<approvals::Reject>(body)
        + query_parses::<runs::Page>(query)
        + query_parses::<approvals::ListQuery>(query)
        + query_parses::<billing::BillingQuery>(query)
        + query_parses::<ledger::Sizes>(query)
        + query_parses::<ledger::Inclusion>(query)
        + query_parses::<ledger::EventPage>(query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_not_a_panic() {
        let h = vec![
            (
                b"signature-input".to_vec(),
                b"sig=(\"@method\");created=1".to_vec(),
            ),
            (b"signature".to_vec(), b"sig=:AAAA:".to_vec()),
        ];
        assert!(signature(b"GET", b"/v1/node", &h, b"").is_err());
        assert!(signature(b"\xff", b"", &[], b"").is_err());
        let bad = "from=x&limit=y&status=z&group_by=w&index=v&to=u";
        assert_eq!(request(b"{", bad), 0);
        assert!(request(br#"{"reason": "r"}"#, "%%%") >= 1);
    }
}
