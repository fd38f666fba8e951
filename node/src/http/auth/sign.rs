//! Signing requests the way the server checks them (RFC 9421 with an
//! RFC 9530 `Content-Digest`), for `sluice client`, the tests and the load
//! harness: nobody hand-crafts a signature.
//!
//! A signed request carries `Content-Digest: sha-256=:…:` over its body and
//! one signature, labelled `sig`, over `@method`, `@path`, `@query` and
//! `content-digest`, with the parameters `created` (now), `nonce` (128
//! random bits), `keyid` (the caller's public key, hex) and `alg="ed25519"`.

use axum::http::{HeaderValue, Request};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use httpsig_hyper::MessageSignatureReq;
use httpsig_hyper::prelude::message_component::HttpMessageComponentId;
use httpsig_hyper::prelude::{AlgorithmName, HttpSignatureParams, SecretKey as HttpKey};
use sha2::{Digest, Sha256};
use sluice_runtime::signing::SecretKey;

/// The components every signature must cover.
pub const COVERED: [&str; 4] = ["@method", "@path", "@query", "content-digest"];
/// The signature label the client writes.
pub const LABEL: &str = "sig";

/// The `Content-Digest` value of `body` (SHA-256).
pub fn content_digest(body: &[u8]) -> String {
    format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    )
}

/// Signs requests with one Ed25519 key.
#[derive(Clone)]
pub struct RequestSigner {
    key: HttpKey,
    keyid: String,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RequestSigner({})", self.keyid)
    }
}

/// How to sign: normally `created` is now and the nonce random; tests set
/// them to check the server's refusals.
#[derive(Debug, Clone, Default)]
pub struct SignOptions {
    /// `created`, Unix seconds (default: now).
    pub created: Option<u64>,
    /// `expires`, Unix seconds.
    pub expires: Option<u64>,
    /// The nonce (default: 128 random bits, base64url).
    pub nonce: Option<String>,
    /// Components covered (default: [`COVERED`]).
    pub covered: Option<Vec<String>>,
    /// Leave out the nonce.
    pub no_nonce: bool,
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn random_nonce() -> String {
    let bytes: [u8; 16] = uuid::Uuid::new_v4().into_bytes();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl RequestSigner {
    /// A signer for `key`.
    pub fn new(key: &SecretKey) -> Self {
        let bytes = key.to_bytes();
        let http = HttpKey::from_bytes(&AlgorithmName::Ed25519, &bytes[1..33])
            .unwrap_or_else(|_| unreachable!("32-byte Ed25519 seeds are always valid"));
        Self {
            key: http,
            keyid: key.public().to_hex(),
        }
    }

    /// The key id the server looks the caller up by (the public key, hex).
    pub fn keyid(&self) -> &str {
        &self.keyid
    }

    /// Adds `Content-Digest`, `Signature-Input` and `Signature` to `request`.
    pub fn sign(&self, request: &mut Request<Full<Bytes>>, body: &[u8]) -> Result<(), String> {
        self.sign_with(request, body, &SignOptions::default())
    }

    /// [`RequestSigner::sign`] with explicit options.
    pub fn sign_with(
        &self,
        request: &mut Request<Full<Bytes>>,
        body: &[u8],
        options: &SignOptions,
    ) -> Result<(), String> {
        let digest = content_digest(body);
        request.headers_mut().insert(
            "content-digest",
            HeaderValue::from_str(&digest).map_err(|e| e.to_string())?,
        );
        let covered: Vec<String> = options
            .covered
            .clone()
            .unwrap_or_else(|| COVERED.iter().map(|s| s.to_string()).collect());
        let ids = covered
            .iter()
            .map(|c| HttpMessageComponentId::try_from(c.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let mut params = HttpSignatureParams::try_new(&ids).map_err(|e| e.to_string())?;
        params.set_created(options.created.unwrap_or_else(unix_now));
        params.set_alg(&AlgorithmName::Ed25519);
        params.set_keyid(&self.keyid);
        if !options.no_nonce {
            params.set_nonce(&options.nonce.clone().unwrap_or_else(random_nonce));
        }
        if let Some(e) = options.expires {
            params.set_expires(e);
        }
        sign_blocking(request, &params, &self.key)
    }
}

fn sign_blocking(
    request: &mut Request<Full<Bytes>>,
    params: &HttpSignatureParams,
    key: &HttpKey,
) -> Result<(), String> {
    // Signing does no I/O: the future completes without waiting, in or out
    // of an async runtime.
    poll_ready(request.set_message_signature(params, key, Some(LABEL))).map_err(|e| e.to_string())
}

/// Polls a future that never waits (pure computation) to completion.
pub(crate) fn poll_ready<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
