//! The protected upstream: echoes what it received (method, path, headers) as JSON and counts
//! requests, so tests can see exactly what Envoy forwarded.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::{Request, State};
use serde_json::{Value, json};

pub struct Upstream {
    pub port: u16,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new().fallback(echo).with_state(hits.clone());
        let task = tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(listener, app).await;
        });
        Self { port, hits, task }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn echo(State(hits): State<Arc<AtomicUsize>>, req: Request) -> Json<Value> {
    hits.fetch_add(1, Ordering::SeqCst);
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in req.headers() {
        headers
            .entry(k.to_string())
            .or_default()
            .push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    Json(
        json!({"method": req.method().as_str(), "path": req.uri().to_string(), "headers": headers}),
    )
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}
