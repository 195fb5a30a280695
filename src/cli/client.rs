//! A small REST client for the CLI: bearer auth, the API's own body types in and out
//! (`jitgate_api_types`), and errors that carry the server's message and map to stable exit
//! codes.

use std::time::Duration;

use jitgate_api_types::ErrorBody;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::exit;

/// Where and as whom the CLI talks to jitgate.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

/// A failed call: the message to print and the exit code to use.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub details: Vec<String>,
    pub code: i32,
}

impl CliError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Self { message: message.into(), details: Vec::new(), code }
    }
}

// === impl Client ===

impl Client {
    pub fn new(server: &str, token: Option<String>) -> Result<Self, CliError> {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(30)).build().map_err(|e| {
                CliError::new(exit::UNAVAILABLE, format!("cannot build an HTTP client: {e}"))
            })?;
        Ok(Self { base: server.trim_end_matches('/').to_string(), token, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send(self.http.get(self.url(path))).await
    }

    /// GET, returning the body text unparsed (for bodies whose exact bytes matter).
    pub async fn get_raw(&self, path: &str) -> Result<String, CliError> {
        self.send_raw(self.http.get(self.url(path))).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CliError> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    /// PUT with a raw body (YAML or JSON as read from a file).
    pub async fn put_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        body: String,
        content_type: &str,
    ) -> Result<T, CliError> {
        self.send(self.http.put(self.url(path)).header("content-type", content_type).body(body))
            .await
    }

    pub async fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.send(self.http.delete(self.url(path))).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `req` and reads the answer as `T`; an answer that is not a `T` is an error that
    /// says so, never a silent default.
    async fn send<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Result<T, CliError> {
        let text = self.send_raw(req).await?;
        serde_json::from_str(&text).map_err(|e| {
            CliError::new(
                exit::UNAVAILABLE,
                format!(
                    "jitgate at {} answered with a body this CLI cannot read ({e}): are the CLI and the server the same version?",
                    self.base
                ),
            )
        })
    }

    async fn send_raw(&self, mut req: reqwest::RequestBuilder) -> Result<String, CliError> {
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| {
            CliError::new(
                exit::UNAVAILABLE,
                format!(
                    "cannot reach jitgate at {}: {e} (set --server or JITGATE_SERVER)",
                    self.base
                ),
            )
        })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let (message, details) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(e) => (e.message, e.details),
            Err(_) => (format!("{status}"), Vec::new()),
        };
        let code = match status.as_u16() {
            401 => exit::UNAUTHENTICATED,
            403 => exit::FORBIDDEN,
            404 => exit::NOT_FOUND,
            400..=499 => exit::REFUSED,
            _ => exit::UNAVAILABLE,
        };
        let hint = if code == exit::UNAUTHENTICATED && self.token.is_none() {
            " (pass --token or set JITGATE_TOKEN)"
        } else {
            ""
        };
        Err(CliError { message: format!("{message}{hint}"), details, code })
    }
}
