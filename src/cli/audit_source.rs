//! Where `jitgate audit` reads from: the REST API (default), Redis directly (`--redis-url`,
//! read-only commands only), or an export file (`--file`, for `verify`).

use jitgate_api_types::AuditHead;

use super::client::{CliError, Client};
use super::direct::{Direct, unavailable};
use super::exit;
use super::grants::encode;
use crate::audit::export::{EntryLine, PageBody, parse_lines};
use crate::audit::query::{AuditQuery, Order, query};
use crate::audit::{AuditLog, Head, Stored};
use crate::store::RedisAuditLog;

pub enum Source {
    Api(Client),
    Redis(Box<RedisAuditLog>),
}

/// One page and where the next starts.
pub struct Page {
    pub entries: Vec<Stored>,
    pub next: Option<String>,
}

impl Source {
    pub fn open(client: Client, redis_url: Option<&str>, prefix: &str) -> Result<Self, CliError> {
        match redis_url {
            Some(url) => {
                Ok(Self::Redis(Box::new(RedisAuditLog::new(Direct::open(url, prefix)?.conn))))
            }
            None => Ok(Self::Api(client)),
        }
    }

    pub async fn head(&self) -> Result<Head, CliError> {
        match self {
            Self::Redis(log) => log.head().await.map_err(unavailable),
            Self::Api(c) => {
                let h: AuditHead = c.get("/v1/audit/head").await?;
                Ok(Head {
                    seq: h.seq,
                    hash: h.hash,
                    start_seq: h.start_seq,
                    start_hash: h.start_hash,
                })
            }
        }
    }

    pub async fn page(&self, q: &AuditQuery) -> Result<Page, CliError> {
        match self {
            Self::Redis(log) => {
                let p = query(log.as_ref(), q).await.map_err(unavailable)?;
                Ok(Page { entries: p.entries, next: p.next })
            }
            Self::Api(c) => {
                let text = c.get_raw(&format!("/v1/audit?{}", params(q))).await?;
                let page: PageBody = serde_json::from_str(&text).map_err(|e| bad_reply(&e))?;
                let entries = page.entries.iter().map(EntryLine::to_stored).collect();
                Ok(Page { entries, next: page.next })
            }
        }
    }
}

fn bad_reply(e: &dyn std::fmt::Display) -> CliError {
    CliError::new(exit::UNAVAILABLE, format!("the server sent an unreadable audit entry: {e}"))
}

/// The query string for `GET /v1/audit`.
pub fn params(q: &AuditQuery) -> String {
    let f = &q.filter;
    let mut out: Vec<String> = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push(format!("{k}={}", encode(&v)));
        }
    };
    add("principal", f.principal.clone());
    add("service", f.service.clone());
    add("grant", f.grant.clone());
    add("request", f.request.clone());
    add("decision", f.decision.clone());
    add("kind", (!f.kinds.is_empty()).then(|| f.kinds.join(",")));
    add("since", f.since.map(|t| t.to_rfc3339()));
    add("until", f.until.map(|t| t.to_rfc3339()));
    add("limit", Some(q.limit.to_string()));
    add("cursor", q.cursor.clone());
    add("order", Some(if q.order == Order::Asc { "asc" } else { "desc" }.to_string()));
    out.join("&")
}

/// Reads an export file for `verify --file`.
pub fn read_export(path: &std::path::Path) -> Result<Vec<Stored>, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(exit::USAGE, format!("cannot read `{}`: {e}", path.display()))
    })?;
    parse_lines(&text)
        .map_err(|e| CliError::new(exit::AUDIT_FAILED, format!("{}: {e}", path.display())))
}
