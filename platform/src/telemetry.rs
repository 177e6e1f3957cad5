//! Logs and traces. JSON lines on stderr through `tracing` (stdout stays clean for command output) (a readable format may be chosen for `dev`),
//! with a filter that can be swapped at run time (SIGHUP), and spans exported over OTLP/HTTP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _, Registry, fmt, reload};

use crate::config::LogFormat;

/// Handle on the installed subscriber: swap the filter, flush spans at exit.
#[derive(Debug)]
pub struct Telemetry {
    filter: reload::Handle<EnvFilter, Registry>,
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Replaces the log filter (for SIGHUP reloads).
    pub fn set_filter(&self, directives: &str) -> Result<(), TelemetryError> {
        self.filter.reload(log_filter(directives)?).map_err(|e| TelemetryError::Reload(e.to_string()))
    }

    /// Flushes spans not yet exported; call once at exit.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("trace export did not shut down cleanly: {e}");
        }
    }
}

/// Why logging or tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("KAIROS_LOG: {0}")]
    Filter(String),
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter: {0}")]
    Exporter(String),
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInstalled(String),
    #[error("the log filter could not be swapped: {0}")]
    Reload(String),
}

/// `KAIROS_LOG`'s directives with arkworks' constraint tracing (target `r1cs`) off whatever
/// they say: its spans format the whole constraint system, which turned a 16-tick key setup of
/// seconds into minutes, and a proof into seconds, in any process that logs at `info`.
fn log_filter(directives: &str) -> Result<EnvFilter, TelemetryError> {
    let quiet = "r1cs=off"
        .parse()
        .map_err(|e: tracing_subscriber::filter::ParseError| TelemetryError::Filter(e.to_string()))?;
    Ok(EnvFilter::try_new(directives).map_err(|e| TelemetryError::Filter(e.to_string()))?.add_directive(quiet))
}

/// Installs the global subscriber. `otlp_endpoint` is the value of
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; the exporter reads it (and the other standard `OTEL_*`
/// variables) itself and sends to `<endpoint>/v1/traces`.
pub fn init(
    service: &'static str,
    log: &str,
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    let (filter, handle) = reload::Layer::new(log_filter(log)?);
    let provider = match otlp_endpoint {
        Some(_) => Some(otlp_provider(service)?),
        None => None,
    };
    let output = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        LogFormat::Pretty => fmt::layer().with_writer(std::io::stderr).boxed(),
    };
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service)));
    tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(otel)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(e.to_string()))?;
    Ok(Telemetry { filter: handle, provider })
}

fn otlp_provider(service: &'static str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service).build())
        .build())
}

/// A `tracing` layer that turns spans into OpenTelemetry spans of `provider`. Exposed so tests
/// can prove spans are produced with an in-memory exporter.
pub fn otel_layer<S>(provider: &SdkTracerProvider, service: &'static str) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer(service))
}
