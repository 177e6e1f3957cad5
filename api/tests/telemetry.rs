//! Spans are produced for requests (what OTLP export sends when it is configured).
//!
//! A test binary of its own: it installs a global subscriber, which must not race the
//! callsite-interest caching of tests running beside it.

// Shared with the main test binary, which uses the helpers this one does not.
#[allow(dead_code, unreachable_pub)]
#[path = "api/support.rs"]
mod support;

use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

#[tokio::test]
async fn requests_produce_opentelemetry_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    let subscriber =
        tracing_subscriber::registry().with(kairos_platform::telemetry::otel_layer(&provider, "kairos-api-test"));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");

    let db = kairos_platform::storage::scratch::sqlite();
    let data = tempfile::tempdir().expect("dir");
    let settings = support::settings(&db, data.path(), &[]);
    let store = kairos_platform::storage::Db::connect(&db.url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    let state = kairos_api::state::AppState::new(settings, store, None).expect("state");
    let app = kairos_api::http::server::app(state);
    let req = axum::http::Request::get("/v1/markets?limit=1")
        .header("x-request-id", "trace-me-1")
        .body(axum::body::Body::empty())
        .expect("request");
    let res = app.oneshot(req).await.expect("response");
    assert_eq!(res.status().as_u16(), 200);
    // The span ends when the response body has been sent.
    http_body_util::BodyExt::collect(res.into_body()).await.expect("body");
    provider.force_flush().expect("flush");

    let spans = exporter.get_finished_spans().expect("spans");
    let span = spans.iter().find(|s| s.name == "http_request").expect("an http_request span");
    let attr = |key: &str| span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.to_string());
    assert_eq!(attr("request_id").as_deref(), Some("trace-me-1"));
    assert_eq!(attr("route").as_deref(), Some("/v1/markets"));
    assert_eq!(attr("status").as_deref(), Some("200"));
}
