//! A local signing proxy: listens on loopback, signs every request it
//! receives with one key, forwards it to a node and relays the answer.
//! It lets tools that cannot sign RFC 9421 requests (schemathesis, curl in
//! a script) use the API as one role; `sluice client proxy` starts it.
//!
//! Defends the key, not the node: it listens where its operator tells it
//! (loopback by default), holds the key in its own process, and forwards
//! nothing but the method, path, query, `Content-Type` and body it got.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::client::Client;
use crate::http::problem::ApiError;

/// Largest request body the proxy forwards.
const MAX_BODY: usize = 64 << 20;

async fn forward(State(client): State<Client>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large.body",
            "too large for the proxy",
        )
        .into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match client
        .send(parts.method, &path, bytes.to_vec(), ct, &Default::default())
        .await
    {
        Ok(answer) => {
            let mut response = Response::new(Body::from(answer.body));
            *response.status_mut() = answer.status;
            for name in [header::CONTENT_TYPE, header::RETRY_AFTER, header::LOCATION] {
                if let Some(v) = answer.headers.get(&name) {
                    response.headers_mut().insert(name, v.clone());
                }
            }
            response
        }
        Err(e) => {
            let mut r = ApiError::new(StatusCode::BAD_GATEWAY, "proxy.unreachable", e.to_string())
                .into_response();
            r.headers_mut()
                .insert("x-sluice-proxy", HeaderValue::from_static("1"));
            r
        }
    }
}

/// Serves the proxy on `listener` until `stop` resolves.
pub async fn signing_proxy(
    listener: tokio::net::TcpListener,
    client: Client,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = Router::new().fallback(forward).with_state(client);
    axum::serve(listener, router)
        .with_graceful_shutdown(stop)
        .await
}
