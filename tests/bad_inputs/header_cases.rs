//! The header case table. Requests are raw bytes so odd spacing, duplicates, underscores and
//! non-UTF-8 values reach Envoy exactly as written.

use crate::headers::Case;
use crate::stack::Reply;

/// `GET <path>` with `Authorization: Bearer <token>` and the given raw header lines.
fn get(path: &str, token: &str, lines: &[&[u8]]) -> Vec<u8> {
    let mut req =
        format!("GET {path} HTTP/1.1\r\nHost: example.test\r\nAuthorization: Bearer {token}\r\n")
            .into_bytes();
    for l in lines {
        req.extend_from_slice(l);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req
}

/// A request with a custom head (no default Host or Authorization).
fn head(start: &str, lines: &[&[u8]]) -> Vec<u8> {
    let mut req = format!("{start}\r\n").into_bytes();
    for l in lines {
        req.extend_from_slice(l);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req
}

fn path_is(r: &Reply, p: &str) -> bool {
    r.json["path"].as_str() == Some(p)
}

fn no_header(r: &Reply, k: &str) -> bool {
    r.upstream_header(k).is_empty()
}

pub fn cases(t: &str) -> Vec<Case> {
    let auth = format!("Authorization: Bearer {t}");
    let auth = auth.as_bytes();
    let many: Vec<Vec<u8>> = (0..120).map(|i| format!("x-filler-{i}: v").into_bytes()).collect();
    let many: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    let many_jitgate: Vec<Vec<u8>> =
        (0..90).map(|i| format!("x-jitgate-f{i}: user:root").into_bytes()).collect();
    let many_jitgate: Vec<&[u8]> = many_jitgate.iter().map(Vec::as_slice).collect();
    let big_value = format!("x-big: {}", "v".repeat(61 * 1024));
    let g = |path: &str, lines: &[&[u8]]| get(path, t, lines);
    vec![
        ("control: plain granted request", g("/orders/1", &[]), 200, None),
        // Client copies of jitgate's headers: stripped, jitgate's value arrives once.
        ("client x-jitgate-subject", g("/orders/1", &[b"x-jitgate-subject: user:root"]), 200, None),
        (
            "client X-Jitgate-Subject mixed case",
            g("/orders/1", &[b"X-Jitgate-Subject: user:root"]),
            200,
            None,
        ),
        (
            "client X-JITGATE-SUBJECT upper case",
            g("/orders/1", &[b"X-JITGATE-SUBJECT: user:root"]),
            200,
            None,
        ),
        (
            "two client subjects",
            g("/orders/1", &[b"x-jitgate-subject: user:root", b"x-jitgate-subject: user:admin"]),
            200,
            None,
        ),
        (
            "client subject list",
            g("/orders/1", &[b"x-jitgate-subject: user:alice, user:root"]),
            200,
            None,
        ),
        ("client empty subject", g("/orders/1", &[b"x-jitgate-subject:"]), 200, None),
        ("client grant id", g("/orders/1", &[b"x-jitgate-grant-id: forged"]), 200, None),
        (
            "client grant expiry",
            g("/orders/1", &[b"x-jitgate-grant-expires: 2999-01-01T00:00:00Z"]),
            200,
            None,
        ),
        ("client decision id", g("/orders/1", &[b"x-jitgate-decision-id: forged"]), 200, None),
        ("client unknown x-jitgate-admin", g("/orders/1", &[b"x-jitgate-admin: true"]), 200, None),
        ("90 client x-jitgate-* headers", g("/orders/1", &many_jitgate), 200, None),
        (
            "client subject, non-UTF-8",
            g("/orders/1", &[b"x-jitgate-subject: user:r\xf6ot"]),
            200,
            None,
        ),
        (
            "Connection names x-jitgate-subject",
            g("/orders/1", &[b"Connection: x-jitgate-subject"]),
            200,
            None,
        ),
        (
            "client subject on a denied path",
            g("/datasets/1", &[b"x-jitgate-subject: user:alice"]),
            403,
            None,
        ),
        (
            "client subject without a token",
            head("GET /orders/1 HTTP/1.1", &[b"Host: x", b"x-jitgate-subject: user:alice"]),
            401,
            None,
        ),
        // Envoy-internal and forwarding headers are not authorization inputs.
        (
            "x-envoy-original-path to a granted path",
            g("/datasets/1", &[b"x-envoy-original-path: /orders/1"]),
            403,
            None,
        ),
        (
            "x-envoy-original-path on a granted path",
            g("/orders/1", &[b"x-envoy-original-path: /admin"]),
            200,
            Some(|r| path_is(r, "/orders/1")),
        ),
        ("x-envoy-internal", g("/datasets/1", &[b"x-envoy-internal: true"]), 403, None),
        ("x-forwarded-for loopback", g("/datasets/1", &[b"x-forwarded-for: 127.0.0.1"]), 403, None),
        ("x-forwarded-host", g("/datasets/1", &[b"x-forwarded-host: orders"]), 403, None),
        ("x-original-url", g("/datasets/1", &[b"x-original-url: /orders/1"]), 403, None),
        ("x-rewrite-url", g("/datasets/1", &[b"x-rewrite-url: /orders/1"]), 403, None),
        (
            "forwarded host",
            g("/datasets/1", &[b"Forwarded: for=127.0.0.1;host=orders;proto=https"]),
            403,
            None,
        ),
        (
            "x-envoy-decorator-operation",
            g("/orders/1", &[b"x-envoy-decorator-operation: admin"]),
            200,
            None,
        ),
        (
            "x-envoy-retry-on",
            g("/orders/1", &[b"x-envoy-retry-on: 5xx"]),
            200,
            Some(|r| no_header(r, "x-envoy-retry-on")),
        ),
        // Method overrides: refused, whatever the value.
        (
            "X-HTTP-Method-Override DELETE",
            g("/orders/1", &[b"X-HTTP-Method-Override: DELETE"]),
            400,
            None,
        ),
        (
            "X-HTTP-Method-Override GET (same)",
            g("/orders/1", &[b"X-HTTP-Method-Override: GET"]),
            400,
            None,
        ),
        ("X-HTTP-Method", g("/orders/1", &[b"X-HTTP-Method: DELETE"]), 400, None),
        ("X-Method-Override", g("/orders/1", &[b"X-Method-Override: PUT"]), 400, None),
        ("override header, empty value", g("/orders/1", &[b"x-http-method-override:"]), 400, None),
        ("_method in the query", g("/orders/1?_method=DELETE", &[]), 400, None),
        ("_METHOD in the query", g("/orders/1?a=1&_METHOD=DELETE", &[]), 400, None),
        // Query keys frameworks decode to `_method` (SECURITY.md row 59).
        ("_%6Dethod in the query", g("/orders/1?_%6Dethod=DELETE", &[]), 400, None),
        ("fully encoded _method", g("/orders/1?%5f%6d%65%74%68%6f%64=DELETE", &[]), 400, None),
        ("double-encoded %255Fmethod", g("/orders/1?%255Fmethod=DELETE", &[]), 400, None),
        (".method (PHP folds . to _)", g("/orders/1?.method=DELETE", &[]), 400, None),
        ("+method (PHP folds space to _)", g("/orders/1?+method=DELETE", &[]), 400, None),
        ("_method%00 (cut at NUL)", g("/orders/1?_method%00=DELETE", &[]), 400, None),
        ("_method[] (array key)", g("/orders/1?_method[]=DELETE", &[]), 400, None),
        ("_method after ;", g("/orders/1?x=1;_method=DELETE", &[]), 400, None),
        ("control: method in a value", g("/orders/1?a=_method&method=x", &[]), 200, None),
        // Underscores in header names: rejected by Envoy.
        ("x_jitgate_subject", g("/orders/1", &[b"x_jitgate_subject: user:root"]), 400, None),
        ("x_http_method_override", g("/orders/1", &[b"x_http_method_override: DELETE"]), 400, None),
        (
            "authorization_ underscore twin",
            g("/datasets/1", &[b"authorization_: Bearer x"]),
            400,
            None,
        ),
        ("x_forwarded_for", g("/orders/1", &[b"x_forwarded_for: 10.0.0.1"]), 400, None),
        // Host and authority: the service comes from the route.
        (
            "Host of another service",
            head("GET /orders/1 HTTP/1.1", &[b"Host: billing", auth]),
            200,
            None,
        ),
        (
            "Host orders on the billing route",
            head("GET /datasets/1 HTTP/1.1", &[b"Host: orders", auth]),
            403,
            None,
        ),
        (
            "Host with port and trailing dot",
            head("GET /datasets/1 HTTP/1.1", &[b"Host: orders.:443", auth]),
            403,
            None,
        ),
        // Envoy folds a duplicate Host into one `a,b` value; the scope still comes from the route.
        (
            "duplicate Host",
            head("GET /orders/1 HTTP/1.1", &[b"Host: orders", b"Host: billing", auth]),
            200,
            None,
        ),
        (
            "duplicate Host on the billing route",
            head("GET /datasets/1 HTTP/1.1", &[b"Host: orders", b"Host: orders", auth]),
            403,
            None,
        ),
        ("no Host on HTTP/1.1", head("GET /orders/1 HTTP/1.1", &[auth]), 400, None),
        (
            "absolute-URI to billing host",
            head("GET http://billing/orders/1 HTTP/1.1", &[b"Host: billing", auth]),
            200,
            None,
        ),
        (
            "absolute-URI authority differs from Host",
            head("GET http://orders/datasets/1 HTTP/1.1", &[b"Host: orders", auth]),
            403,
            None,
        ),
        (
            "Host with userinfo",
            head("GET /datasets/1 HTTP/1.1", &[b"Host: orders@billing", auth]),
            403,
            None,
        ),
        // Sizes and bytes.
        ("120 headers (over max_headers_count)", g("/orders/1", &many), 431, None),
        ("61 KiB header value", g("/orders/1", &[big_value.as_bytes()]), 431, None),
        ("non-UTF-8 in an unrelated header", g("/orders/1", &[b"x-note: caf\xe9"]), 200, None),
        ("NUL in a header value", g("/orders/1", &[b"x-note: a\x00b"]), 400, None),
        ("space before the colon", g("/orders/1", &[b"x-note : v"]), 400, None),
        // Envoy unfolds obs-fold lines into one value.
        ("obs-fold continuation", g("/orders/1", &[b"x-note: a", b" folded"]), 200, None),
        (
            "obs-fold inside a client x-jitgate-subject",
            g("/orders/1", &[b"x-jitgate-subject: a", b" user:root"]),
            200,
            None,
        ),
        (
            "obs-fold into a method override",
            g("/orders/1", &[b"x-note: a", b" X-HTTP-Method-Override: DELETE"]),
            200,
            None,
        ),
        ("header name with a slash", g("/orders/1", &[b"x/y: v"]), 400, None),
        ("pseudo-header in HTTP/1", g("/orders/1", &[b":path: /datasets/1"]), 400, None),
        (
            "Proxy-Authorization only",
            head(
                "GET /orders/1 HTTP/1.1",
                &[b"Host: x", format!("Proxy-Authorization: Bearer {t}").as_bytes()],
            ),
            401,
            None,
        ),
        (
            "Cookie with the token only",
            head("GET /orders/1 HTTP/1.1", &[b"Host: x", format!("Cookie: token={t}").as_bytes()]),
            401,
            None,
        ),
        (
            "Upgrade: websocket (not configured)",
            g("/orders/1", &[b"Upgrade: websocket", b"Connection: Upgrade"]),
            403,
            None,
        ),
        ("traceparent garbage", g("/orders/1", &[b"traceparent: zz-\xff-1"]), 200, None),
    ]
}
