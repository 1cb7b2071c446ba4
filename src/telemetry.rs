//! Logs and traces. Logs go to stderr, as text or (with `MESSENGER_LOG_FORMAT=json`) one JSON
//! object per line, at the levels of `RUST_LOG` (default `info`). With
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, spans also go to that OpenTelemetry collector over
//! OTLP/HTTP: one span per GraphQL operation ([`crate::graphql::observe`]) with a child span
//! per SQL statement ([`crate::db`]). The standard `OTEL_*` variables apply (service name,
//! resource attributes, batch delays). Without the endpoint no span is even created, so tracing
//! costs nothing when it is off.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static TRACING: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported (set once, at start).
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// Flushes the spans still buffered when dropped (at exit).
pub struct Telemetry(Option<SdkTracerProvider>);

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.0.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {e}");
        }
    }
}

/// Installs the process's logging, and tracing when configured. Call once, before anything
/// logs; keep the result until exit.
pub fn init() -> anyhow::Result<Telemetry> {
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let json = match get("MESSENGER_LOG_FORMAT").as_deref() {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            bail!("MESSENGER_LOG_FORMAT has an invalid value {other:?}: expected text or json")
        }
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = if json {
        logs.json().boxed()
    } else {
        logs.boxed()
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let exporting = get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
    if !exporting {
        tracing_subscriber::registry()
            .with(logs.with_filter(filter))
            .init();
        return Ok(Telemetry(None));
    }
    // The exporter's HTTP client speaks TLS to https:// collectors.
    crate::media::store::install_crypto_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .context("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter")?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if get("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("messenger");
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    // Spans of this crate at info and above, whatever `RUST_LOG` says about the logs.
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("messenger"))
        .with_filter(EnvFilter::new("messenger=info"));
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(spans)
        .init();
    TRACING.store(true, Ordering::Relaxed);
    Ok(Telemetry(Some(provider)))
}
