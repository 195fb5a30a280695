//! INFRASTRUCTURE: webhook delivery of workflow events. [`WebhookNotifier`] implements the
//! workflow's [`EventSink`]: `publish` only enqueues (a full queue drops and counts), and
//! delivery happens in background tasks, each retried with exponential backoff. A failing or
//! dead receiver therefore never blocks or fails a request, approval or revoke.

pub mod payload;
pub mod sign;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::access::{NotifySpec, PolicySet};
use crate::metrics::Metrics;
use crate::time::{Clock, SystemClock};
use crate::workflow::events::{Event, EventSink};

/// Delivery tuning.
#[derive(Clone, Debug)]
pub struct NotifySettings {
    /// Secret used when a target names none (`notifications.signing_secret_env`).
    pub default_secret: Option<Vec<u8>>,
    /// Secrets by environment variable name, for targets with `secret_env`.
    pub secrets: HashMap<String, Vec<u8>>,
    pub timeout: Duration,
    pub max_attempts: u32,
    pub retry_base: Duration,
    pub queue_size: usize,
    pub max_in_flight: usize,
    /// `check.public_url`: when set, messages link to the request's page on the web page.
    pub public_url: Option<String>,
}

struct Job {
    target: NotifySpec,
    event: Arc<Event>,
}

/// Sends events to the webhooks of the policy that governs them.
pub struct WebhookNotifier {
    tx: mpsc::Sender<Job>,
    policies: Arc<ArcSwap<PolicySet>>,
    metrics: Arc<Metrics>,
}

// === impl WebhookNotifier ===

impl WebhookNotifier {
    /// Starts the delivery loop; it stops on `cancel`.
    pub fn spawn(
        settings: NotifySettings,
        policies: Arc<ArcSwap<PolicySet>>,
        metrics: Arc<Metrics>,
        tracker: &TaskTracker,
        cancel: CancellationToken,
    ) -> Result<Self, String> {
        let (tx, rx) = mpsc::channel(settings.queue_size.max(1));
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        let deliverer = Arc::new(Deliverer { settings, http, metrics: metrics.clone() });
        tracker.spawn(run(rx, deliverer, tracker.clone(), cancel));
        Ok(Self { tx, policies, metrics })
    }
}

impl EventSink for WebhookNotifier {
    fn publish(&self, event: Event) {
        let set = self.policies.load();
        let Some(policy) = set.get(&event.policy) else { return };
        let event = Arc::new(event);
        for target in policy.notify_targets(event.kind.as_str()) {
            let job = Job { target: target.clone(), event: event.clone() };
            if self.tx.try_send(job).is_err() {
                Metrics::count_result(&self.metrics.notifications, "dropped");
                tracing::warn!(notify.webhook = %target.webhook, "Notification queue full; event dropped");
            }
        }
    }
}

struct Deliverer {
    settings: NotifySettings,
    http: reqwest::Client,
    metrics: Arc<Metrics>,
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    d: Arc<Deliverer>,
    tracker: TaskTracker,
    cancel: CancellationToken,
) {
    let in_flight = Arc::new(Semaphore::new(d.settings.max_in_flight.max(1)));
    loop {
        let job = tokio::select! {
            _ = cancel.cancelled() => return,
            job = rx.recv() => match job { Some(j) => j, None => return },
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let (d, cancel) = (d.clone(), cancel.clone());
        tracker.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = d.deliver(&job) => {}
            }
            drop(permit);
        });
    }
}

impl Deliverer {
    fn secret(&self, target: &NotifySpec) -> Option<&[u8]> {
        match &target.secret_env {
            Some(var) => self.settings.secrets.get(var).map(Vec::as_slice),
            None => self.settings.default_secret.as_deref(),
        }
    }

    async fn deliver(&self, job: &Job) {
        let Some(secret) = self.secret(&job.target) else {
            Metrics::count_result(&self.metrics.notifications, "unsigned");
            tracing::warn!(notify.webhook = %job.target.webhook, "No signing secret for this webhook; not sent (set notifications.signing_secret_env or the target's secret_env)");
            return;
        };
        let body =
            payload::body(&job.event, job.target.format, self.settings.public_url.as_deref());
        let mut delay = self.settings.retry_base;
        for attempt in 1..=self.settings.max_attempts {
            let t = SystemClock.now().as_secs();
            let result = self
                .http
                .post(&job.target.webhook)
                .header("content-type", "application/json")
                .header("x-jitgate-event", job.event.kind.as_str())
                .header("x-jitgate-delivery", &job.event.id)
                .header("x-jitgate-signature", sign::signature(secret, t, &body))
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => {
                    Metrics::count_result(&self.metrics.notifications, "delivered");
                    return;
                }
                Ok(r) => {
                    tracing::debug!(notify.webhook = %job.target.webhook, status = %r.status(), attempt, "Webhook refused")
                }
                Err(e) => {
                    tracing::debug!(notify.webhook = %job.target.webhook, error = %e, attempt, "Webhook unreachable")
                }
            }
            if attempt < self.settings.max_attempts {
                Metrics::count_result(&self.metrics.notifications, "retried");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
        Metrics::count_result(&self.metrics.notifications, "failed");
        tracing::warn!(notify.webhook = %job.target.webhook, notify.event = %job.event.kind, "Webhook delivery failed after retries");
    }
}
