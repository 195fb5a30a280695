//! Readiness shared by the gRPC health service and `/readyz`: ready when the grant store
//! answers and the process is not draining for shutdown.

use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Default)]
pub struct Readiness {
    store_ok: AtomicBool,
    draining: AtomicBool,
}

// === impl Readiness ===

impl Readiness {
    pub fn set_store_ok(&self, ok: bool) -> bool {
        self.store_ok.swap(ok, Ordering::AcqRel) != ok
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.store_ok.load(Ordering::Acquire) && !self.draining.load(Ordering::Acquire)
    }

    /// Why not ready, for `/readyz`.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if !self.store_ok.load(Ordering::Acquire) {
            out.push("the grant store (Redis) is not answering");
        }
        if self.draining.load(Ordering::Acquire) {
            out.push("shutting down");
        }
        out
    }
}
