//! OpenTelemetry: a trace per run and the server's metrics, exported over
//! OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! Every run gets a `sluice.run` span (a child of the caller's W3C
//! `traceparent` when one is sent); the node's and the engine's spans for
//! the run's phases nest under it, on the worker thread that runs it. Its
//! trace id is handed to [`Node::run`](crate::Node::run) as the run's
//! `traceparent` and so stored in the usage event: the ledger says which
//! trace a billed run belongs to. Metrics: `sluice.runs` (by decision and
//! code), `sluice.run.fuel`, `sluice.run.latency` (ms), `sluice.run.queue`
//! (runs waiting), `sluice.privacy.epsilon` (budget spent).
//!
//! Without the variable nothing is exported and no exporter is built; the
//! ledger remains the source of truth for billing either way. Defends
//! against telemetry taking the node down: exporting happens on the SDK's
//! own threads, errors are logged, never returned to a request.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter, UpDownCounter};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_http::HttpClient;
use opentelemetry_otlp::WithHttpConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The installed providers; [`Telemetry::shutdown`] flushes them.
#[derive(Default)]
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    meter: Option<SdkMeterProvider>,
}

/// The OTLP exporter's HTTP client: hyper, run on the server's runtime so
/// that the SDK's export threads need no reactor of their own.
#[derive(Debug)]
struct OnRuntime {
    inner: Arc<opentelemetry_http::hyper::HyperClient>,
    handle: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(
        &self,
        request: axum::http::Request<bytes::Bytes>,
    ) -> Result<axum::http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let inner = self.inner.clone();
        self.handle
            .spawn(async move { inner.send_bytes(request).await })
            .await
            .map_err(|e| Box::new(e) as opentelemetry_http::HttpError)?
    }
}

fn client() -> OnRuntime {
    OnRuntime {
        inner: Arc::new(
            opentelemetry_http::hyper::HyperClient::with_default_connector(
                std::time::Duration::from_secs(10),
                None,
            ),
        ),
        handle: tokio::runtime::Handle::current(),
    }
}

impl Telemetry {
    /// Installs the process's tracing subscriber (logs to stderr filtered by
    /// `RUST_LOG`, default `info`) and, when `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// is set, OTLP trace and metric exporters. Call inside the runtime.
    pub fn init() -> Result<Self, String> {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
        if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
            let _ = tracing_subscriber::registry()
                .with(filter)
                .with(fmt)
                .try_init();
            return Ok(Self::default());
        }
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client())
            .build()
            .map_err(|e| format!("cannot build the OTLP span exporter: {e}"))?;
        let tracer = SdkTracerProvider::builder()
            .with_batch_exporter(spans)
            .with_resource(resource())
            .build();
        let metrics = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_http_client(client())
            .build()
            .map_err(|e| format!("cannot build the OTLP metric exporter: {e}"))?;
        let meter = SdkMeterProvider::builder()
            .with_periodic_exporter(metrics)
            .with_resource(resource())
            .build();
        opentelemetry::global::set_meter_provider(meter.clone());
        let layer = tracing_opentelemetry::layer().with_tracer(tracer.tracer("sluice"));
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .with(layer)
            .try_init();
        tracing::info!("exporting traces and metrics over OTLP");
        Ok(Self {
            tracer: Some(tracer),
            meter: Some(meter),
        })
    }

    /// Flushes and stops the exporters.
    pub fn shutdown(self) {
        if let Some(t) = self.tracer
            && let Err(e) = t.shutdown()
        {
            tracing::warn!(error = %e, "trace exporter did not shut down cleanly");
        }
        if let Some(m) = self.meter
            && let Err(e) = m.shutdown()
        {
            tracing::warn!(error = %e, "metric exporter did not shut down cleanly");
        }
    }
}

fn resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name("sluice-node")
        .build()
}

/// The server's metric instruments.
#[derive(Clone)]
pub struct Metrics {
    runs: Counter<u64>,
    fuel: Histogram<u64>,
    latency: Histogram<f64>,
    queue: UpDownCounter<i64>,
    epsilon: Counter<f64>,
}

impl Metrics {
    /// Instruments from `meter`.
    pub fn new(meter: &Meter) -> Self {
        Self {
            runs: meter
                .u64_counter("sluice.runs")
                .with_description("runs recorded, by decision and outcome code")
                .build(),
            fuel: meter
                .u64_histogram("sluice.run.fuel")
                .with_description("fuel consumed per run")
                .build(),
            latency: meter
                .f64_histogram("sluice.run.latency")
                .with_unit("ms")
                .with_description("time from submission to recorded result")
                .build(),
            queue: meter
                .i64_up_down_counter("sluice.run.queue")
                .with_description("runs waiting for a worker")
                .build(),
            epsilon: meter
                .f64_counter("sluice.privacy.epsilon")
                .with_description("differential-privacy budget spent")
                .build(),
        }
    }

    /// Instruments from the global meter provider (no-op unless one is set).
    pub fn global() -> Self {
        Self::new(&opentelemetry::global::meter("sluice"))
    }

    /// Counts one recorded run.
    pub(crate) fn run(&self, decision: &str, code: Option<&str>, fuel: u64, ms: f64, eps: f64) {
        let attrs = [
            KeyValue::new("decision", decision.to_string()),
            KeyValue::new("code", code.unwrap_or("released").to_string()),
        ];
        self.runs.add(1, &attrs);
        self.fuel.record(fuel, &attrs[..1]);
        self.latency.record(ms, &attrs[..1]);
        if eps > 0.0 {
            self.epsilon.add(eps, &[]);
        }
    }

    /// One more (`+1`) or one fewer (`-1`) run waiting.
    pub(crate) fn queued(&self, delta: i64) {
        self.queue.add(delta, &[]);
    }
}

/// The W3C `traceparent` of `span`: its OpenTelemetry context when a
/// tracer is installed; else the caller's trace (`incoming`, if valid) or a
/// fresh one, with a fresh span id (so every event names a trace the caller
/// can quote).
pub(crate) fn traceparent(span: &tracing::Span, incoming: Option<&str>) -> String {
    let context = span.context();
    let sc = context.span().span_context().clone();
    if sc.is_valid() {
        return format!("00-{}-{}-01", sc.trace_id(), sc.span_id());
    }
    let trace = incoming
        .filter(|v| valid_traceparent(v))
        .and_then(|v| v.split('-').nth(1))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string);
    let span_id = &uuid::Uuid::new_v4().simple().to_string()[..16];
    format!("00-{trace}-{span_id}-01")
}

/// Makes the caller's `traceparent` header (if valid) the parent of `span`.
pub(crate) fn adopt_parent(span: &tracing::Span, header: Option<&str>) {
    let Some(value) = header.filter(|v| valid_traceparent(v)) else {
        return;
    };
    use opentelemetry::propagation::TextMapPropagator;
    let propagator = opentelemetry_sdk::propagation::TraceContextPropagator::new();
    let mut carrier = std::collections::HashMap::new();
    carrier.insert("traceparent".to_string(), value.to_string());
    let _ = span.set_parent(propagator.extract(&carrier));
}

/// Whether `v` is a W3C traceparent: `00-<32 hex>-<16 hex>-<2 hex>`, ids not zero.
pub(crate) fn valid_traceparent(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() == 4
        && parts[0] == "00"
        && hex(parts[1], 32)
        && hex(parts[2], 16)
        && hex(parts[3], 2)
        && parts[1].bytes().any(|b| b != b'0')
        && parts[2].bytes().any(|b| b != b'0')
}
