//! Fair share of the control plane (SECURITY row 63): one caller has at most
//! [`PER_CALLER`] `/v1` calls in progress at once; further ones wait their turn (up to
//! [`MAX_WAIT`], then `429 too_many_requests`). So however heavy one caller's calls are (a
//! large body, a long listing), they occupy at most that many of the control plane's threads,
//! and everybody else's calls still find one free.
//!
//! A caller is whoever the credentials name: the bearer token, the session cookie or the
//! proxy's token header, hashed (the same token is the same caller; nothing is verified here,
//! the handlers do that). Calls without credentials share one slot set: they are refused at
//! once anyway. Health, metrics and the OpenAPI document are not counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use super::ApiError;

/// `/v1` calls one caller may have in progress at once (the control plane has two threads).
pub const PER_CALLER: usize = 1;

/// How long a caller's further call waits for one of its own to finish.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// Callers tracked before idle ones are forgotten.
const PRUNE_AT: usize = 4096;

/// The in-flight slots of each caller.
#[derive(Clone, Default)]
pub struct FairShare {
    callers: Arc<Mutex<HashMap<[u8; 32], Arc<Semaphore>>>>,
    /// The proxy header that carries the caller's token (`ui.token_header`), if any.
    token_header: Option<String>,
}

impl FairShare {
    pub fn new(token_header: Option<String>) -> Self {
        Self { callers: Arc::default(), token_header }
    }

    fn slots(&self, caller: [u8; 32]) -> Arc<Semaphore> {
        let Ok(mut callers) = self.callers.lock() else {
            return Arc::new(Semaphore::new(PER_CALLER));
        };
        if callers.len() >= PRUNE_AT {
            callers.retain(|_, s| Arc::strong_count(s) > 1);
        }
        callers.entry(caller).or_insert_with(|| Arc::new(Semaphore::new(PER_CALLER))).clone()
    }

    /// Who `req` comes from: a digest of the credentials it carries.
    fn caller(&self, req: &Request) -> [u8; 32] {
        let mut h = Sha256::new();
        let headers = req.headers();
        let named =
            [Some(header::AUTHORIZATION.as_str()), Some("cookie"), self.token_header.as_deref()];
        for name in named.into_iter().flatten() {
            h.update(name.as_bytes());
            h.update([0]);
            for v in headers.get_all(name) {
                h.update(v.as_bytes());
                h.update([0]);
            }
        }
        h.finalize().into()
    }
}

/// The middleware: waits for one of the caller's slots, then runs the call.
pub async fn fair_share(State(fair): State<FairShare>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/v1/") {
        return next.run(req).await;
    }
    let slots = fair.slots(fair.caller(&req));
    match tokio::time::timeout(MAX_WAIT, slots.acquire_owned()).await {
        Ok(Ok(_permit)) => next.run(req).await,
        _ => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "a call of yours is still in progress after {}s: wait for them before sending more",
                MAX_WAIT.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(auth: &str) -> Request {
        Request::builder()
            .uri("/v1/requests")
            .header("authorization", auth)
            .body(Default::default())
            .unwrap()
    }

    #[test]
    fn the_same_credentials_are_the_same_caller() {
        let f = FairShare::new(Some("x-token".into()));
        assert_eq!(f.caller(&req("Bearer a")), f.caller(&req("Bearer a")));
        assert_ne!(f.caller(&req("Bearer a")), f.caller(&req("Bearer b")));
    }

    #[tokio::test]
    async fn a_caller_holds_at_most_its_slots_and_idle_callers_are_forgotten() {
        let f = FairShare::default();
        let slots = f.slots([1; 32]);
        let held: Vec<_> =
            (0..PER_CALLER).map(|_| slots.clone().try_acquire_owned().unwrap()).collect();
        assert!(f.slots([1; 32]).try_acquire_owned().is_err(), "a third call waits");
        assert!(f.slots([2; 32]).try_acquire_owned().is_ok(), "another caller does not");
        drop(held);
        assert!(slots.try_acquire_owned().is_ok());
        for i in 0..PRUNE_AT {
            let mut k = [0; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let _ = f.slots(k);
        }
        assert!(f.callers.lock().unwrap().len() <= PRUNE_AT);
    }
}
