//! A client that signs every request it sends: what `sluice client`, the
//! tests and the load harness talk to a node with.
//!
//! Plain HTTP/1.1 over hyper (a TLS-terminating proxy in front of the node
//! is the deployment's business). Each request gets a fresh nonce and the
//! current time; the body is covered by its `Content-Digest`.

use std::time::Duration;

use axum::http::{HeaderMap, Method, Request, StatusCode, Uri, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::http::auth::sign::{RequestSigner, SignOptions};

/// Why a request could not be made (an answer with an error status is not
/// an error here: it is returned with its status).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node's address or the path is not a URI.
    #[error("bad node address or path {0:?}: use e.g. http://127.0.0.1:8080")]
    BadUri(String),
    /// The request could not be signed.
    #[error("cannot sign the request: {0}")]
    Sign(String),
    /// The node could not be reached or the answer not read.
    #[error("cannot reach the node at {url}: {message}; is `sluice serve` running there?")]
    Connect {
        /// The node's address.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// An answer: status, headers, body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A signing client for one node and one key.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    signer: Option<RequestSigner>,
    http: HyperClient<HttpConnector, Full<Bytes>>,
}

impl Client {
    /// A client of the node at `base` (e.g. `http://127.0.0.1:8080`) signing
    /// with `signer` (`None`: unsigned requests, for health and tests).
    pub fn new(base: &str, signer: Option<RequestSigner>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Self {
            base: base.trim_end_matches('/').to_string(),
            signer,
            http,
        }
    }

    /// The node's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends `method path` with a JSON body (or none when `body` is `None`).
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, ClientError> {
        let bytes = body.map(|b| serde_json::to_vec(b).unwrap_or_default());
        let ct = bytes.as_ref().map(|_| "application/json");
        self.send(
            method,
            path,
            bytes.unwrap_or_default(),
            ct,
            &SignOptions::default(),
        )
        .await
    }

    /// Sends a request with `body` of `content_type`, signed with `options`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
        options: &SignOptions,
    ) -> Result<Answer, ClientError> {
        let req = self.build(method, path, body, content_type, options)?;
        self.send_request(req).await
    }

    /// Builds (and signs, if the client has a key) a request.
    pub fn build(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        content_type: Option<&str>,
        options: &SignOptions,
    ) -> Result<Request<Full<Bytes>>, ClientError> {
        let url = format!("{}{path}", self.base);
        let uri: Uri = url.parse().map_err(|_| ClientError::BadUri(url.clone()))?;
        let mut req = Request::new(Full::new(Bytes::from(body.clone())));
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        if let Some(ct) = content_type
            && let Ok(v) = ct.parse()
        {
            req.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        if let Some(signer) = &self.signer {
            signer
                .sign_with(&mut req, &body, options)
                .map_err(ClientError::Sign)?;
        }
        Ok(req)
    }

    /// Sends a request as it is.
    pub async fn send_request(&self, req: Request<Full<Bytes>>) -> Result<Answer, ClientError> {
        let connect = |message: String| ClientError::Connect {
            url: self.base.clone(),
            message,
        };
        let response = self
            .http
            .request(req)
            .await
            .map_err(|e| connect(format!("{e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| connect(e.to_string()))?
            .to_bytes();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}
