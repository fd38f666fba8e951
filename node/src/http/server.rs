//! Building the router and serving it until SIGTERM.
//!
//! The public routes (`/healthz`, `/openapi.json`) sit outside the
//! authentication layer; everything under `/v1/` sits inside it. Unknown
//! routes and wrong methods answer problem details too. On SIGTERM (or
//! Ctrl-C) the server stops accepting connections, lets requests in flight
//! finish, waits for every admitted run to be recorded (up to the grace
//! period), and only then returns, so no run that started loses its event.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::app::App;
use crate::http::auth;
use crate::http::openapi::ApiDoc;
use crate::http::problem::ApiError;
use crate::http::routes::{
    approvals, billing, catalog, datasets, keys, ledger, modules, node, runs,
};

/// The signed routes and their documentation.
fn signed() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::new()
        .routes(routes!(node::info))
        .routes(routes!(node::whoami))
        .routes(routes!(keys::list, keys::add))
        .routes(routes!(catalog::catalog))
        .routes(routes!(datasets::list, datasets::register))
        .routes(routes!(datasets::show))
        .routes(routes!(datasets::policies, datasets::put_policy))
        .routes(routes!(datasets::policy))
        .routes(routes!(modules::upload))
        .routes(routes!(modules::show))
        .routes(routes!(approvals::request, approvals::list))
        .routes(routes!(approvals::show))
        .routes(routes!(approvals::approve))
        .routes(routes!(approvals::reject))
        .routes(routes!(runs::submit, runs::list))
        .routes(routes!(runs::job))
        .routes(routes!(runs::show))
        .routes(routes!(runs::receipt))
        .routes(routes!(runs::replay))
        .routes(routes!(billing::report))
        .routes(routes!(ledger::checkpoint))
        .routes(routes!(ledger::consistency))
        .routes(routes!(ledger::inclusion))
        .routes(routes!(ledger::events))
        .routes(routes!(ledger::event))
        .routes(routes!(ledger::export))
        .routes(routes!(ledger::verify))
}

/// The router and the OpenAPI document it serves.
pub fn router(app: Arc<App>) -> (Router, utoipa::openapi::OpenApi) {
    let (signed, mut api) = signed().split_for_parts();
    let (public, public_api) = OpenApiRouter::<Arc<App>>::new()
        .routes(routes!(node::health))
        .split_for_parts();
    api.merge(public_api);
    let mut doc = ApiDoc::openapi();
    doc.merge(api);
    let document = doc.clone();
    let json = Arc::new(doc.to_json().unwrap_or_else(|_| "{}".into()));
    let signed = signed.layer(axum::middleware::from_fn_with_state(
        app.clone(),
        auth::authenticate,
    ));
    let router = Router::new()
        .merge(signed)
        .merge(public)
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json.as_str().to_string(),
                    )
                }
            }),
        )
        .fallback(|| async {
            ApiError::not_found(
                "route",
                "no such route; GET /openapi.json lists every route",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method.not-allowed",
                "this route does not take that method; GET /openapi.json lists the methods",
            )
            .into_response()
        })
        .with_state(app);
    (router, document)
}

/// Resolves when the process gets SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Serves `app` on `listener` until `stop` resolves, then drains: returns
/// the number of runs still in flight when the grace period ended (0 when
/// every admitted run was recorded).
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<usize> {
    let (router, _) = router(app.clone());
    let grace = Duration::from_secs(app.config.shutdown_grace_secs);
    let pool = app.pool.clone();
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        stop.await;
        tracing::info!("stopping: no new connections; finishing runs in flight");
        let _ = stopped_tx.send(());
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let serving = tokio::spawn(async move { server.await });
    let _ = stopped_rx.await;
    pool.close();
    // Requests in flight get the grace period to write their answers; then
    // every admitted run (also those whose request answered 202, or left)
    // gets the grace period to be recorded.
    let _ = tokio::time::timeout(grace, serving).await;
    let left = pool.drain(grace).await;
    if left > 0 {
        tracing::warn!(left, "runs still in flight at the end of the grace period");
    } else {
        tracing::info!("every admitted run was recorded; stopped");
    }
    Ok(left)
}
