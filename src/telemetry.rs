//! Logs and traces. Logs: `tracing` to stderr, `text` or `json` (`--log-format` /
//! `log.format`), filtered by `RUST_LOG` (default `info`). Traces: OpenTelemetry over OTLP,
//! configured only by the standard `OTEL_*` variables and off unless an OTLP endpoint is set
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); protocol from
//! `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `grpc`).
//!
//! When tracing is off no span is even created on the hot path: [`span`] hands out
//! `Span::none()`, so the cost is one relaxed atomic load.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use jitgate_metrics::span;
pub use jitgate_metrics::spans::{set_tracing_enabled, tracing_enabled};

/// What must be flushed at exit.
pub struct Telemetry {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the span exporter (waits for the last batch).
    pub async fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(p) = self.provider {
            let _ = tokio::task::spawn_blocking(move || p.shutdown()).await;
        }
    }
}

/// Installs the global subscriber once (later calls only return a handle). Call it inside
/// the Tokio runtime: the span exporter runs on it.
pub fn init(format: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if format == "json" {
        fmt.json().flatten_event(true).with_current_span(false).boxed()
    } else {
        fmt.boxed()
    };
    #[cfg(feature = "otel")]
    {
        let provider = otel::provider();
        let layer = provider.as_ref().map(|p| {
            use opentelemetry::trace::TracerProvider;
            tracing_opentelemetry::layer().with_tracer(p.tracer("jitgate"))
        });
        let installed =
            tracing_subscriber::registry().with(filter).with(fmt).with(layer).try_init().is_ok();
        if installed && provider.is_some() {
            set_tracing_enabled();
            tracing::info!("OpenTelemetry tracing on (OTLP)");
        }
        Telemetry { provider: provider.filter(|_| installed) }
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = tracing_subscriber::registry().with(filter).with(fmt).try_init();
        Telemetry {}
    }
}

#[cfg(feature = "otel")]
pub mod otel {
    //! The OTLP exporter and the W3C trace-context extraction.

    use opentelemetry::propagation::{Extractor, TextMapPropagator};
    use opentelemetry_sdk::Resource;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;

    fn var(name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }

    /// A provider when the environment asks for traces; `None` (and a log line saying why)
    /// otherwise.
    pub(super) fn provider() -> Option<SdkTracerProvider> {
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))?;
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v != "otlp")
        {
            return None;
        }
        let exporter = match opentelemetry_otlp::SpanExporter::builder().build() {
            Ok(e) => e,
            Err(e) => {
                eprintln!(
                    "warning: OpenTelemetry exporter for {endpoint} failed to start: {e}; tracing stays off"
                );
                return None;
            }
        };
        let processor =
            BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio).build();
        let mut resource = Resource::builder();
        if var("OTEL_SERVICE_NAME").is_none() {
            resource = resource.with_service_name("jitgate");
        }
        Some(
            SdkTracerProvider::builder()
                .with_span_processor(processor)
                .with_resource(resource.build())
                .build(),
        )
    }

    /// Reads `traceparent`/`tracestate` from any header-like map.
    pub struct Headers<'a, F: Fn(&str) -> Option<&'a str>>(pub F);

    impl<'a, F: Fn(&str) -> Option<&'a str>> Extractor for Headers<'a, F> {
        fn get(&self, key: &str) -> Option<&str> {
            (self.0)(key)
        }

        fn keys(&self) -> Vec<&str> {
            vec!["traceparent", "tracestate"]
        }
    }

    /// Makes `span` a child of the W3C trace context in `headers`, when there is one.
    pub fn set_parent<'a>(span: &tracing::Span, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        use opentelemetry::trace::TraceContextExt;
        use tracing_opentelemetry::OpenTelemetrySpanExt;
        let cx = TraceContextPropagator::new().extract(&Headers(get));
        if !cx.span().span_context().is_valid() {
            return false;
        }
        span.set_parent(cx).is_ok()
    }
}
