//! CheckRequest → the real Check service (request parsing, JWT verification, grant cache over
//! an in-memory store, the engine, response encoding). Oracle: every call answers a
//! CheckResponse (never a gRPC error, never a panic, caught or not), and an OK answer must be
//! one the reference model allows, for the subject the model names.
//!
//! The first byte picks how the rest is read: a protobuf CheckRequest (as Envoy sends it), a
//! short text form (`METHOD target` then `name: value` lines; `$0`..`$9` stand for the known
//! tokens), or an `arbitrary`-built request drawn mostly from small dictionaries so that valid
//! tokens, granted services and near-miss paths come up often.

#![no_main]

use std::collections::HashMap;

use arbitrary::{Arbitrary, Unstructured};
use envoy_types::pb::envoy::config::core::v3::{HeaderMap, HeaderValue};
use envoy_types::pb::envoy::service::auth::v3::attribute_context::{HttpRequest, Peer, Request};
use envoy_types::pb::envoy::service::auth::v3::check_response::HttpResponse;
use envoy_types::pb::envoy::service::auth::v3::{AttributeContext, CheckRequest, CheckResponse};
use jitgate_fuzz::{WORLD, World, model};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let world = &*WORLD;
    let Some((&mode, rest)) = data.split_first() else { return };
    let req = match mode % 3 {
        0 => match CheckRequest::decode(rest) {
            Ok(r) => r,
            // tonic refuses it before jitgate sees it.
            Err(_) => return,
        },
        1 => match std::str::from_utf8(rest) {
            Ok(text) => from_text(world, text),
            Err(_) => return,
        },
        _ => match Shaped::arbitrary(&mut Unstructured::new(rest)) {
            Ok(s) => s.build(world),
            Err(_) => return,
        },
    };
    world.keep_fresh();
    let expected = model::allowed_subject(world, &req);
    let resp = world.run_check(req.clone());
    judge(&req, &resp, expected);
});

fn judge(req: &CheckRequest, resp: &CheckResponse, expected: Option<String>) {
    let Some(status) = resp.status.as_ref() else {
        panic!("CheckResponse without a status for {req:?}");
    };
    let ok_response = matches!(resp.http_response, Some(HttpResponse::OkResponse(_)));
    if status.code != 0 {
        assert!(!ok_response, "a deny status with an OK http_response: {resp:?}");
        return;
    }
    if std::env::var_os("JITGATE_FUZZ_SHOW_ALLOWS").is_some() {
        // To see that the oracle is exercised: `JITGATE_FUZZ_SHOW_ALLOWS=1 <binary> <corpus>`.
        eprintln!("allowed: {:?}", expected.as_deref());
    }
    let Some(subject) = expected else {
        panic!("allowed, but the reference model says deny\nrequest: {req:?}\nresponse: {resp:?}");
    };
    let Some(HttpResponse::OkResponse(ok)) = &resp.http_response else {
        panic!("allowed without an OK http_response: {resp:?}");
    };
    let sent: Vec<&str> = ok
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .filter(|h| h.key == jitgate::grpc::HEADER_SUBJECT)
        .map(|h| h.value.as_str())
        .collect();
    assert_eq!(sent, [subject.as_str()], "the upstream must see exactly the verified subject");
}

/// `METHOD target` on the first line; then `name: value` header lines, with three pseudo
/// headers: `@service` (the route's context extension), `@host`, `@workload`; and `$N` in a
/// value replaced by known token N.
fn from_text(world: &World, text: &str) -> CheckRequest {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let (method, target) = first.split_once(' ').unwrap_or((first, ""));
    let mut http = HttpRequest { method: method.into(), path: target.into(), ..Default::default() };
    let mut ext = HashMap::new();
    let mut workload = None;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = expand(world, value.strip_prefix(' ').unwrap_or(value));
        match name {
            "@service" => drop(ext.insert("service".to_string(), value)),
            "@host" => http.host = value,
            "@workload" => workload = Some(value),
            _ => drop(http.headers.insert(name.to_string(), value)),
        }
    }
    request(http, ext, workload)
}

fn expand(world: &World, value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().and_then(|d| d.to_digit(10))) {
            ('$', Some(d)) => {
                chars.next();
                out.push_str(world.token(d as usize));
            }
            _ => out.push(c),
        }
    }
    out
}

fn request(
    http: HttpRequest,
    ext: HashMap<String, String>,
    workload: Option<String>,
) -> CheckRequest {
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request { http: Some(http), ..Default::default() }),
            context_extensions: ext,
            source: workload.map(|principal| Peer { principal, ..Default::default() }),
            ..Default::default()
        }),
    }
}

const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "get", "GET ", "HEAD", "CONNECT", ""];
const SEGMENTS: &[&str] = &[
    "orders",
    "1",
    "42",
    "items",
    "invoices",
    "admin",
    "",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    ".%2e",
    "%2F",
    "%2f",
    "%5C",
    "%252F",
    "..;",
    "%3B",
    "%23",
    "%00",
    "%20",
    "a%20b",
    "ORDERS",
    "%6Frders",
    "\u{FF0F}",
    "%EF%BC%8F",
    "%C0%AE",
    "*",
    "**",
    "%3F",
    "~",
    "%7E",
    "%ff",
    "%",
];
const QUERIES: &[&str] = &["x=1", "_method=DELETE", "%5Fmethod=GET", "a=/admin", "", "a&_METHOD"];
const SERVICES: &[&str] = &["orders", "billing", "Orders", "orders ", "", "other", "billing."];
const HOSTS: &[&str] =
    &["orders", "orders:8080", "Orders.", "billing:443", "[::1]:80", "[orders]:80", "evil"];
const SCHEMES: &[&str] = &["Bearer ", "bearer ", "BEARER  ", " Bearer ", "Basic ", "Bearer", ""];
const NAMES: &[&str] = &[
    "authorization",
    "Authorization",
    "x-http-method-override",
    "X-HTTP-Method",
    "x-method-override",
    "x-jitgate-subject",
    "user-agent",
];

/// A pick from a dictionary, or anything.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(String),
}

impl Text {
    fn get(&self, dict: &[&str]) -> String {
        match self {
            Self::Known(i) => dict[usize::from(*i) % dict.len()].to_string(),
            Self::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Auth {
    /// A known token (valid or not) after a scheme, optionally with one byte changed.
    Token {
        which: u8,
        scheme: u8,
        flip: Option<(u16, u8)>,
        trailer: bool,
    },
    Raw(String),
    Bytes(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct Shaped {
    method: Text,
    segments: Vec<Text>,
    query: Option<Text>,
    service: Option<Text>,
    host: Text,
    auth: Vec<Auth>,
    /// Send headers as Envoy's raw header map (bytes) instead of the string map.
    raw_map: bool,
    headers: Vec<(Text, String)>,
    workload: Option<String>,
    /// Drop parts of the message: bit 0 attributes, 1 request, 2 http.
    holes: u8,
}

impl Shaped {
    fn build(self, world: &World) -> CheckRequest {
        let mut path: String =
            self.segments.iter().map(|s| format!("/{}", s.get(SEGMENTS))).collect();
        if path.is_empty() {
            path.push('/');
        }
        if let Some(q) = &self.query {
            path = format!("{path}?{}", q.get(QUERIES));
        }
        let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
        for a in &self.auth {
            headers.push(("authorization".into(), auth_value(world, a)));
        }
        for (name, value) in &self.headers {
            headers.push((name.get(NAMES), value.clone().into_bytes()));
        }
        let mut http = HttpRequest {
            method: self.method.get(METHODS),
            path,
            host: self.host.get(HOSTS),
            ..Default::default()
        };
        if self.raw_map {
            let headers = headers
                .into_iter()
                .map(|(key, raw_value)| HeaderValue { key, raw_value, ..Default::default() })
                .collect();
            http.header_map = Some(HeaderMap { headers });
        } else {
            for (k, v) in headers {
                http.headers.insert(k, String::from_utf8_lossy(&v).into_owned());
            }
        }
        let ext =
            self.service.map(|s| ("service".to_string(), s.get(SERVICES))).into_iter().collect();
        let mut req = request(http, ext, self.workload);
        if let Some(attrs) = req.attributes.as_mut() {
            if self.holes & 4 != 0 {
                attrs.request.as_mut().map(|r| r.http = None);
            }
            if self.holes & 2 != 0 {
                attrs.request = None;
            }
        }
        if self.holes & 1 != 0 {
            req.attributes = None;
        }
        req
    }
}

fn auth_value(world: &World, a: &Auth) -> Vec<u8> {
    match a {
        Auth::Token { which, scheme, flip, trailer } => {
            let mut token = world.token(usize::from(*which)).as_bytes().to_vec();
            if let Some((pos, byte)) = flip {
                let n = token.len().max(1);
                if let Some(b) = token.get_mut(usize::from(*pos) % n) {
                    *b = *byte;
                }
            }
            let scheme = SCHEMES[usize::from(*scheme) % SCHEMES.len()];
            let mut v = scheme.as_bytes().to_vec();
            v.extend(token);
            if *trailer {
                v.extend(b" ");
            }
            v
        }
        Auth::Raw(s) => s.clone().into_bytes(),
        Auth::Bytes(b) => b.clone(),
    }
}
