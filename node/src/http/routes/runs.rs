//! Runs: submit, poll, read, prove, replay.
//!
//! `POST /v1/runs` admits the run to the bounded pool (or answers 429/503
//! with `Retry-After`), runs it on a worker thread under a `sluice.run`
//! span whose trace id goes into the usage event, and answers with the
//! result and its receipt: `200` when released; when not, an RFC 9457
//! problem whose `type` is the outcome code (`403` for `denied.*`, `422`
//! for `withheld.*` and `aborted.*`) that still carries the run id and the
//! receipt, because the attempt was recorded. A run that takes longer than
//! the wait answers `202` with a job to poll at `GET /v1/jobs/{id}`.
//!
//! Defends against a buyer running code signed by another key (the module
//! must verify against the caller's key before the run is admitted),
//! against reading other buyers' runs (buyers see their own runs, owners
//! runs over their datasets), and against releasing anything unrecorded
//! (the answer is built only from what `Node::run` returned, which it
//! returns only after the event is durable).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sluice_ledger::RunEvent;
use utoipa::{IntoParams, ToSchema};

use super::datasets::to_json;
use super::{JsonBody, PathText, Query};
use crate::http::app::App;
use crate::http::jobs::JobView;
use crate::http::problem::{ApiError, Problem, problem_response};
use crate::http::roles::Caller;
use crate::http::telemetry;
use crate::keys::Role;
use crate::run::{ModuleSource, RunRequest, RunResult};

/// A run to submit.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRun {
    /// Hash of a module stored with `POST /v1/modules` (signed by the caller).
    #[serde(default)]
    module_hash: Option<String>,
    /// Or the signed module itself, base64 (within the request body cap).
    #[serde(default)]
    module: Option<String>,
    /// Registered dataset names.
    datasets: Vec<String>,
    /// Parameters passed to the guest as text.
    #[serde(default)]
    params: Option<String>,
    /// Seed of the guest's randomness (default: the node picks and records one).
    #[serde(default)]
    #[schema(minimum = 0)]
    seed: Option<u64>,
    /// Longest wait for the result, ms, before answering 202 with a job
    /// (default and maximum: the server's `run_wait_ms`).
    #[serde(default)]
    #[schema(minimum = 0)]
    wait_ms: Option<u64>,
}

/// A released run: the output and its receipt.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunResponse {
    /// The run id (the usage event's id).
    run_id: String,
    /// `released`.
    decision: String,
    /// The released table: columns with `name`, `type`, `values`.
    #[schema(value_type = Object)]
    output: serde_json::Value,
    /// SHA-256 of the canonical output, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    output_hash: Option<String>,
    /// The trace the run was recorded under.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
    /// The receipt: event, index, signed checkpoint, inclusion proof.
    #[schema(value_type = Object)]
    receipt: serde_json::Value,
}

/// A recorded run that released nothing: problem details plus the record.
/// (Refusals before a run is recorded are plain problem details: the run
/// fields are then absent.)
#[derive(Serialize, ToSchema)]
pub(crate) struct RunProblem {
    /// The outcome code (`denied.*`, `withheld.*`, `aborted.*`).
    #[serde(rename = "type")]
    problem_type: String,
    /// `Run denied`, `Output withheld` or `Run aborted`.
    title: String,
    /// The HTTP status.
    status: u16,
    /// What happened, for people (derived from the code).
    detail: String,
    /// The run id.
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<String>,
    /// `denied`, `withheld` or `aborted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    decision: Option<String>,
    /// The trace the run was recorded under.
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
    /// The receipt of the recorded attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    receipt: Option<serde_json::Value>,
}

/// The status, body and metric figures of a finished run.
fn answer(result: &RunResult) -> Result<(u16, serde_json::Value), ApiError> {
    let outcome = &result.outcome;
    let event = result.receipt.event.run();
    let trace_id = event.and_then(|e| e.trace_id.clone());
    let receipt = to_json(&result.receipt)?;
    let decision = serde_json::to_value(outcome.decision)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if decision == "released" {
        let body = RunResponse {
            run_id: outcome.run_id.clone(),
            decision,
            output: to_json(&outcome.output)?,
            output_hash: outcome.output_hash.clone(),
            trace_id,
            receipt,
        };
        return Ok((200, to_json(&body)?));
    }
    let code = event
        .and_then(|e| e.code.clone())
        .unwrap_or_else(|| format!("{decision}.unknown"));
    let status = if decision == "denied" { 403 } else { 422 };
    let detail = event
        .and_then(|e| e.reason.clone())
        .unwrap_or_else(|| code.clone());
    let body = RunProblem {
        title: match decision.as_str() {
            "denied" => "Run denied",
            "withheld" => "Output withheld",
            _ => "Run aborted",
        }
        .into(),
        problem_type: code,
        status,
        detail,
        run_id: Some(outcome.run_id.clone()),
        decision: Some(decision),
        trace_id,
        receipt: Some(receipt),
    };
    Ok((status, to_json(&body)?))
}

fn respond(status: u16, body: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::OK {
        (status, Json(body)).into_response()
    } else {
        problem_response(status, body, None)
    }
}

fn module_source(new: &NewRun, n: &crate::Node) -> Result<Vec<u8>, ApiError> {
    match (&new.module_hash, &new.module) {
        (Some(hash), None) => Ok(n.module(hash)?),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| ApiError::invalid("module", format!("`module` is not base64: {e}"))),
        _ => Err(ApiError::invalid(
            "request",
            "give exactly one of `module_hash` (a stored module) and `module` (base64 bytes)",
        )),
    }
}

/// `POST /v1/runs`: run a module over datasets (buyer); the answer carries the receipt.
#[utoipa::path(post, path = "/v1/runs", tag = "runs", security(("signature" = [])),
    request_body = NewRun,
    params(("traceparent" = Option<String>, Header, description = "W3C trace context to continue")),
    responses((status = 200, description = "Released: the output and the receipt", body = RunResponse),
              (status = 202, description = "Still running: poll the job", body = JobView),
              (status = 400, description = "Bad request", body = Problem),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Denied (recorded; `type` is the code), not a buyer, or not the caller's module", body = RunProblem),
              (status = 404, description = "No such stored module", body = Problem),
              (status = 422, description = "Withheld or aborted (recorded; `type` is the code)", body = RunProblem),
              (status = 429, description = "This key has too many runs in flight", body = Problem),
              (status = 503, description = "The queue is full or the node is stopping", body = Problem)))]
pub(crate) async fn submit(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(new): JsonBody<NewRun>,
) -> Result<Response, ApiError> {
    caller.require(&[Role::Buyer])?;
    if new.datasets.is_empty() {
        return Err(ApiError::invalid(
            "request",
            "name at least one dataset in `datasets`",
        ));
    }
    if let Some(d) = new.datasets.iter().find(|d| !caller.in_scope(d)) {
        return Err(ApiError::forbidden(
            "scope",
            format!("your key may not use dataset `{d}`"),
        ));
    }
    let owner = caller.hex().to_string();
    let ticket = app.pool.admit(&owner)?;
    let started = Instant::now();
    let job = app.jobs.create(caller.hex());
    let span = tracing::info_span!("sluice.run", job = %job, buyer = %caller.record.key_id);
    let incoming = headers.get("traceparent").and_then(|v| v.to_str().ok());
    telemetry::adopt_parent(&span, incoming);
    let traceparent = telemetry::traceparent(&span, incoming);
    let wait = Duration::from_millis(
        new.wait_ms
            .unwrap_or(app.config.run_wait_ms)
            .min(app.config.run_wait_ms),
    );
    let worker_app = app.clone();
    let job_id = job.clone();
    let handle = app.pool.spawn(ticket, move || {
        let app = worker_app;
        app.jobs.start(&job_id);
        let result = span.in_scope(|| -> Result<RunResult, ApiError> {
            let bytes = module_source(&new, &app.node)?;
            super::modules::check_signer(&caller, &bytes)?;
            let mut request = RunRequest::new(ModuleSource::Bytes(bytes), new.datasets);
            request.params = new.params.unwrap_or_default();
            request.seed = new.seed;
            request.traceparent = Some(traceparent);
            Ok(app.node.run(request)?)
        });
        let (status, body) = match result.and_then(|r| {
            let a = answer(&r)?;
            let u = &r.outcome.usage;
            let code = r.receipt.event.run().and_then(|e| e.code.clone());
            let decision = r
                .receipt
                .event
                .run()
                .map(|e| e.decision.clone())
                .unwrap_or_default();
            app.metrics.run(
                &decision,
                code.as_deref(),
                u.fuel_consumed,
                started.elapsed().as_secs_f64() * 1e3,
                u.epsilon_spent,
            );
            Ok(a)
        }) {
            Ok(a) => a,
            Err(e) => (e.status.as_u16(), to_json(&e.problem()).unwrap_or_default()),
        };
        app.jobs.finish(&job_id, status, body.clone());
        (status, body)
    });
    match tokio::time::timeout(wait, handle).await {
        Ok(Ok(Some((status, body)))) => Ok(respond(status, &body)),
        Ok(_) => Err(ApiError::internal(
            "internal.worker",
            "the run's worker stopped",
        )),
        Err(_) => {
            let view = app
                .jobs
                .get(&job, &owner)
                .ok_or_else(|| ApiError::internal("internal.job", "job vanished"))?;
            let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/v1/jobs/{job}")) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
    }
}

/// `GET /v1/jobs/{id}`: a submitted run that outlived its request (the submitter only).
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "runs", security(("signature" = [])),
    params(("id" = String, Path, description = "Job id from a 202 answer")),
    responses((status = 200, description = "Queued, running, or finished with its answer", body = JobView),
              (status = 401, description = "Not signed", body = Problem),
              (status = 404, description = "No such job of the caller (or forgotten)", body = Problem)))]
pub(crate) async fn job(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
) -> Result<Json<JobView>, ApiError> {
    app.jobs.get(&id, caller.hex()).map(Json).ok_or_else(|| {
        ApiError::not_found(
            "job",
            "no job of yours has this id (finished jobs are kept for a while; the run itself is in the ledger: GET /v1/runs)",
        )
    })
}

/// Whether `caller` may see run `run`.
pub(crate) fn sees_run(caller: &Caller, run: &RunEvent) -> bool {
    match caller.role() {
        Role::Operator | Role::Auditor => true,
        Role::Buyer => run.buyer.as_deref() == Some(caller.hex()),
        Role::Owner => run.datasets.iter().any(|d| caller.owns(&d.dataset)),
    }
}

/// A page of runs.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// First ledger index to look at (default 0).
    #[param(minimum = 0)]
    from: Option<u64>,
    /// Most runs to return (default 100, at most 1000).
    #[param(minimum = 0)]
    limit: Option<u64>,
}

/// Runs the caller may see, and where to continue.
#[derive(Serialize, ToSchema)]
pub(crate) struct RunPage {
    /// Run events (CloudEvents envelopes), in ledger order.
    #[schema(value_type = Vec<Object>)]
    runs: Vec<serde_json::Value>,
    /// The ledger index to continue from, when there may be more.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

/// Events scanned per page at most.
const SCAN: u64 = 10_000;

/// `GET /v1/runs`: usage — the run events the caller may see (buyers: their own).
#[utoipa::path(get, path = "/v1/runs", tag = "runs", security(("signature" = [])),
    params(Page),
    responses((status = 200, description = "A page of runs", body = RunPage),
              (status = 400, description = "Bad query", body = Problem),
              (status = 401, description = "Not signed", body = Problem)))]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    Query(page): Query<Page>,
) -> Result<Json<RunPage>, ApiError> {
    let from = page.from.unwrap_or(0);
    let limit = page.limit.unwrap_or(100).min(1000);
    let page = app
        .blocking(move |n| {
            let len = n.ledger().len().map_err(crate::NodeError::from)?;
            let mut runs = Vec::new();
            let mut at = from;
            while at < len && at < from.saturating_add(SCAN) && (runs.len() as u64) < limit {
                let chunk = n.events(at, 512)?;
                if chunk.is_empty() {
                    break;
                }
                for e in chunk {
                    at = e.index + 1;
                    if e.envelope.run().is_some_and(|r| sees_run(&caller, r)) {
                        runs.push(to_json(&e.envelope)?);
                        if runs.len() as u64 >= limit {
                            break;
                        }
                    }
                }
            }
            Ok(RunPage {
                runs,
                next: (at < len).then_some(at),
            })
        })
        .await?;
    Ok(Json(page))
}

/// The stored run event `id`, if the caller may see it.
fn visible_run(
    n: &crate::Node,
    caller: &Caller,
    id: &str,
) -> Result<sluice_ledger::StoredEvent, ApiError> {
    let stored = n.event_by_id(id)?;
    match stored.envelope.run() {
        Some(run) if sees_run(caller, run) => Ok(stored),
        _ => Err(ApiError::not_found(
            "run",
            "no run you may see has this id; GET /v1/runs lists yours",
        )),
    }
}

/// `GET /v1/runs/{id}`: a run's usage event.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", security(("signature" = [])),
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The usage event", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 404, description = "No such run the caller may see", body = Problem)))]
pub(crate) async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    let stored = app.blocking(move |n| visible_run(n, &caller, &id)).await?;
    Ok(Json(to_json(&stored.envelope)?))
}

/// `GET /v1/runs/{id}/receipt`: the run's receipt against the latest checkpoint.
#[utoipa::path(get, path = "/v1/runs/{id}/receipt", tag = "runs", security(("signature" = [])),
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The receipt", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 404, description = "No such run the caller may see", body = Problem)))]
pub(crate) async fn receipt(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    let receipt = app
        .blocking(move |n| {
            let stored = visible_run(n, &caller, &id)?;
            Ok(n.ledger()
                .receipt(stored.index)
                .map_err(crate::NodeError::from)?)
        })
        .await?;
    Ok(Json(to_json(&receipt)?))
}

/// `POST /v1/runs/{id}/replay`: re-run a recorded run and compare (auditor, operator).
#[utoipa::path(post, path = "/v1/runs/{id}/replay", tag = "runs", security(("signature" = [])),
    params(("id" = String, Path, description = "Run id")),
    responses((status = 200, description = "The replay report", body = serde_json::Value),
              (status = 401, description = "Not signed", body = Problem),
              (status = 403, description = "Not an auditor or the operator", body = Problem),
              (status = 404, description = "No such run", body = Problem),
              (status = 429, description = "This key has too many runs in flight", body = Problem),
              (status = 503, description = "The queue is full", body = Problem)))]
pub(crate) async fn replay(
    State(app): State<Arc<App>>,
    caller: Caller,
    PathText(id): PathText,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&[Role::Auditor, Role::Operator])?;
    let ticket = app.pool.admit(caller.hex())?;
    let node = app.node.clone();
    let report = app
        .pool
        .spawn(ticket, move || node.replay(&id))
        .await
        .ok()
        .flatten()
        .ok_or_else(|| ApiError::internal("internal.worker", "the replay's worker stopped"))??;
    Ok(Json(to_json(&report)?))
}
