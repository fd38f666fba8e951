//! OpenTelemetry, checked with the SDK's in-memory exporters: a run over
//! HTTP makes a `sluice.run` trace whose id is the one stored in the usage
//! event, with a span per phase (admit, approve, compile, execute,
//! release-check, record) nested under it, and the run metrics count it.

mod http_support;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::json;
use sluice_node::http::Method;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn a_run_is_one_trace_whose_id_is_in_its_usage_event_and_is_counted() {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(tracer.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    opentelemetry::global::set_meter_provider(meter.clone());

    let s = http_support::start(|_| {});
    let buyer = s.client(&s.keys.buyer);
    let answer =
        s.rt.block_on(buyer.json(
            Method::POST,
            "/v1/runs",
            Some(&json!({"module_hash": s.module_hash, "datasets": ["sales"]})),
        ))
        .unwrap();
    assert_eq!(answer.status, 200);
    let recorded = answer.json()["receipt"]["event"]["data"]["trace_id"]
        .as_str()
        .unwrap()
        .to_string();

    tracer.force_flush().unwrap();
    let finished = spans.get_finished_spans().unwrap();
    let root = finished
        .iter()
        .find(|sp| sp.name == "sluice.run" && sp.span_context.trace_id().to_string() == recorded)
        .expect("a sluice.run span with the recorded trace id");
    let trace = root.span_context.trace_id();
    let names: Vec<_> = finished
        .iter()
        .filter(|sp| sp.span_context.trace_id() == trace)
        .map(|sp| sp.name.to_string())
        .collect();
    assert!(names.iter().any(|n| n == "node.run"), "{names:?}");
    for phase in [
        "run",
        "admit",
        "approve",
        "compile",
        "execute",
        "release-check",
        "record",
    ] {
        assert!(
            names.iter().any(|n| n == phase),
            "a `{phase}` span under the run: {names:?}"
        );
    }

    meter.force_flush().unwrap();
    let exported = metrics.get_finished_metrics().unwrap();
    let runs: u64 = exported
        .iter()
        .flat_map(|rm| rm.scope_metrics())
        .flat_map(|sm| sm.metrics())
        .filter(|m| m.name() == "sluice.runs")
        .map(|m| match m.data() {
            AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                sum.data_points().map(|p| p.value()).sum::<u64>()
            }
            _ => 0,
        })
        .sum();
    assert!(runs >= 2, "the setup run and this one are counted: {runs}");
    assert_eq!(s.shutdown(), 0);
}
