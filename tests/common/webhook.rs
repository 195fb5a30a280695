//! A webhook receiver of the test's own: records every delivery (headers and body).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Delivery {
    pub event: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Delivery {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

pub struct Receiver {
    pub url: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    task: tokio::task::JoinHandle<()>,
}

async fn record(
    State(log): State<Arc<Mutex<Vec<Delivery>>>>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let get = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    log.lock().unwrap().push(Delivery {
        event: get("x-jitgate-event"),
        signature: get("x-jitgate-signature"),
        body: body.to_vec(),
    });
    "ok"
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(record))
            .with_state(deliveries.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, deliveries, task }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<String> {
        self.deliveries().into_iter().map(|d| d.event).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
