//! The token sources and the CSRF rule, table-driven.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn proxy_mode() -> UiSettings {
    UiSettings::new(true, Some("X-Forwarded-Access-Token"), Some("https://jit.example.com/base"))
}

#[test]
fn explicit_bearer_is_never_csrf_checked() {
    let ui = proxy_mode();
    let h = headers(&[("authorization", "Bearer abc"), ("origin", "https://evil.example")]);
    let (t, src) = ui.token(&Method::POST, &h).unwrap();
    assert_eq!((t.as_str(), src), ("abc", TokenSource::Authorization));
}

#[test]
fn without_token_header_configured_the_proxy_header_is_ignored() {
    let ui = UiSettings::new(true, None, None);
    let h = headers(&[("x-forwarded-access-token", "abc")]);
    let e = ui.token(&Method::GET, &h).unwrap_err();
    assert_eq!(e.code, "unauthenticated");
}

#[test]
fn proxy_token_reads_need_no_csrf_header() {
    for value in ["abc", "Bearer abc"] {
        let h = headers(&[("x-forwarded-access-token", value)]);
        let (t, src) = proxy_mode().token(&Method::GET, &h).unwrap();
        assert_eq!((t.as_str(), src), ("abc", TokenSource::ProxyHeader));
    }
}

#[test]
fn proxy_token_writes_follow_the_csrf_rule() {
    let tok = ("x-forwarded-access-token", "abc");
    let csrf = (CSRF_HEADER, "1");
    let cases: &[(&[(&str, &str)], bool)] = &[
        (&[tok], false),
        (&[tok, ("sec-fetch-site", "same-origin")], false),
        (&[tok, csrf], false),
        (&[tok, csrf, ("sec-fetch-site", "same-origin")], true),
        (&[tok, csrf, ("sec-fetch-site", "cross-site")], false),
        (&[tok, csrf, ("sec-fetch-site", "same-site")], false),
        (&[tok, csrf, ("sec-fetch-site", "none")], false),
        (&[tok, csrf, ("host", "jit.internal:8080"), ("origin", "http://jit.internal:8080")], true),
        (&[tok, csrf, ("host", "jit.internal:8080"), ("origin", "https://jit.example.com")], true),
        (&[tok, csrf, ("host", "jit.internal:8080"), ("origin", "https://evil.example")], false),
        (&[tok, csrf, ("host", "jit.internal:8080"), ("origin", "null")], false),
        (&[tok, csrf, ("host", "jit.internal:8080")], false),
    ];
    for (i, (pairs, ok)) in cases.iter().enumerate() {
        for method in [Method::POST, Method::DELETE, Method::PUT] {
            let got = proxy_mode().token(&method, &headers(pairs));
            assert_eq!(got.is_ok(), *ok, "case {i} {method}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.code, "csrf_refused", "case {i}");
                assert_eq!(e.status, StatusCode::FORBIDDEN);
            }
        }
    }
}

#[test]
fn authorization_as_the_proxy_header_is_ambient() {
    let ui = UiSettings::new(true, Some("authorization"), None);
    let h = headers(&[("authorization", "Bearer abc")]);
    assert!(ui.token(&Method::GET, &h).is_ok());
    assert_eq!(ui.token(&Method::POST, &h).unwrap_err().code, "csrf_refused");
}

#[test]
fn two_proxy_header_values_are_refused() {
    let h = headers(&[("x-forwarded-access-token", "a"), ("x-forwarded-access-token", "b")]);
    assert_eq!(proxy_mode().token(&Method::GET, &h).unwrap_err().code, "unauthenticated");
}
