//! The switch for trace spans: when tracing is off no span is even created on the hot path,
//! [`span!`](crate::span) hands out `Span::none()` for the cost of one relaxed atomic load.
//! `jitgate::telemetry` turns it on when an OTLP exporter is configured.

use std::sync::atomic::{AtomicBool, Ordering};

static TRACING: AtomicBool = AtomicBool::new(false);

/// True when spans are exported.
pub fn tracing_enabled() -> bool {
    TRACING.load(Ordering::Relaxed)
}

/// Turns span creation on (once an exporter is installed).
pub fn set_tracing_enabled() {
    TRACING.store(true, Ordering::Relaxed);
}

/// Creates a span only when tracing is on: `span!(name, field = value, ...)`.
#[macro_export]
macro_rules! span {
    ($name:expr $(, $($fields:tt)*)?) => {
        if $crate::spans::tracing_enabled() {
            tracing::info_span!($name $(, $($fields)*)?)
        } else {
            tracing::Span::none()
        }
    };
}
