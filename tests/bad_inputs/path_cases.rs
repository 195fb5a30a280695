//! The path case table: (name, method, request target, status Envoy must answer). The grant is
//! `GET /orders/*` on `orders`; `/datasets` routes to `billing`, everything else to `unrouted`.
//! 200 is expected only where Envoy's normalization leaves a path inside the grant.

use crate::paths::Case;

fn c(name: &'static str, target: &str, want: u16) -> Case {
    (name, "GET", target.to_string(), want)
}

fn m(name: &'static str, method: &'static str, target: &str, want: u16) -> Case {
    (name, method, target.to_string(), want)
}

pub fn cases() -> Vec<Case> {
    let mut v = vec![
        c("control: granted path", "/orders/1", 200),
        c("control: granted path with query", "/orders/1?x=1", 200),
        c("control: other service", "/datasets/1", 403),
        c("control: two segments deep", "/orders/1/items", 403),
        c("control: the collection itself", "/orders", 403),
        // Slashes and dot segments: Envoy merges and resolves, jitgate matches the result.
        c("leading double slash", "//orders/1", 200),
        c("inner double slash", "/orders//1", 200),
        c("triple slash", "/orders///1", 200),
        c("double slash to go deeper", "/orders/1//items", 403),
        c("dot segment", "/orders/./1", 200),
        c("dot-dot out of the grant", "/orders/../datasets/1", 403),
        c("dot-dot to admin", "/orders/../admin", 403),
        c("dot-dot within the grant", "/orders/x/../1", 200),
        c("dot-dot above root", "/../../orders/1", 200),
        c("dot-dot from deeper", "/orders/1/items/../../2", 200),
        c("trailing dot segment", "/orders/1/.", 403),
        c("trailing dot-dot", "/orders/1/..", 403),
        c("three dots", "/orders/...", 200),
        c("encoded dot segment %2e", "/orders/%2e/1", 200),
        c("encoded dot-dot %2e%2e", "/orders/%2e%2e/datasets", 403),
        c("encoded dot-dot upper %2E%2E", "/orders/%2E%2E/admin", 403),
        c("half-encoded dot-dot .%2e", "/orders/.%2e/admin", 403),
        c("overlong UTF-8 dot %c0%ae", "/orders/%c0%ae%c0%ae/admin", 400),
        // Escaped slashes and backslashes: rejected by Envoy (path_with_escaped_slashes_action).
        c("%2F", "/orders/1%2F..%2F..%2Fadmin", 400),
        c("%2f lower case", "/orders/1%2fitems", 400),
        c("%5C", "/orders/1%5C..%5Cadmin", 400),
        c("%5c lower case", "/orders/1%5citems", 400),
        c("%2F as the whole segment", "/orders/%2F", 400),
        c("double-encoded slash %252F", "/orders/1%252F..%252Fadmin", 400),
        c("double-encoded dot %252e", "/orders/%252e%252e/admin", 400),
        c("raw backslash (Envoy turns it into /)", "/orders\\1", 200),
        c("raw backslash dot-dot", "/orders/1\\..\\..\\admin", 403),
        c("raw backslash dot-dot to the other service", "/orders\\..\\datasets\\1", 403),
        // Parameters, fragments, NUL.
        c("..; (Tomcat)", "/orders/..;/admin", 403),
        c("..; as one segment", "/orders/..;", 403),
        c(";jsessionid", "/orders/1;jsessionid=abc", 400),
        c("; in the service prefix", "/orders;x=1/1", 400),
        c("%3B encoded ;", "/orders/1%3Bjsessionid=x", 400),
        c("fragment #", "/orders/1#/../../admin", 400),
        c(
            "%23 then dot-dot (resolves to /orders/admin, in the grant)",
            "/orders/1%23/../admin",
            200,
        ),
        c("%23 then dot-dot out of the grant", "/orders/1%23/../../datasets/1", 403),
        c("%00", "/orders/1%00", 400),
        c("%00 before an extension", "/orders/1%00.json", 400),
        c("%0a", "/orders/1%0aX-Injected:%201", 400),
        c("%0d%0a", "/orders/1%0d%0aSet-Cookie:%20x", 400),
        c("%09 tab", "/orders/1%09", 400),
        c("%7f DEL", "/orders/1%7f", 400),
        c("bad percent %zz", "/orders/%zz", 400),
        c("truncated percent %2", "/orders/1%2", 400),
        c("lone percent", "/orders/1%", 400),
        c("%25 encoded percent", "/orders/%25", 400),
        // Trailing slash, case, look-alikes, encoded ordinary characters.
        c("trailing slash", "/orders/1/", 403),
        c("collection with trailing slash", "/orders/", 403),
        c("upper-case prefix", "/ORDERS/1", 403),
        c("mixed-case prefix", "/Orders/1", 403),
        c("fullwidth slash ／", "/orders／1", 400),
        c("fullwidth slash encoded", "/orders%EF%BC%8F1", 400),
        c("division slash ∕", "/orders/1%E2%88%95..%E2%88%95admin", 400),
        c("fullwidth full stop", "/orders/%EF%BC%8E%EF%BC%8E/admin", 400),
        c("fullwidth reverse solidus", "/orders/1%EF%BC%BCadmin", 400),
        // Look-alikes whose NFKC form adds path syntax, and invisible characters (row 61).
        c("two dot leader ‥ (NFKC ..)", "/orders/%E2%80%A5", 400),
        c("two dot leader ‥ then a segment", "/orders/%E2%80%A5/secret", 400),
        c("small full stops ﹒﹒", "/orders/%EF%B9%92%EF%B9%92", 400),
        c("ellipsis … (NFKC ...)", "/orders/%E2%80%A6", 400),
        c("fullwidth percent ％2e", "/orders/%EF%BC%852e%EF%BC%852e", 400),
        c("fullwidth semicolon ；", "/orders/1%EF%BC%9Bjsessionid=x", 400),
        c("fullwidth question mark ？", "/orders/1%EF%BC%9Fx", 400),
        c("fullwidth number sign ＃", "/orders/1%EF%BC%83x", 400),
        c("Greek question mark (NFC ;)", "/orders/1%CD%BEx", 400),
        c("zero-width space between dots", "/orders/.%E2%80%8B.", 400),
        c("zero-width joiner after a dot", "/orders/1.%E2%80%8D", 400),
        c("word joiner", "/orders/1%E2%81%A0", 400),
        c("byte order mark", "/orders/%EF%BB%BF1", 400),
        c("right-to-left override", "/orders/%E2%80%AEgpj.exe", 400),
        c("left-to-right mark", "/orders/1%E2%80%8E", 400),
        c("first strong isolate", "/orders/1%E2%81%A8", 400),
        c("Arabic letter mark", "/orders/1%D8%9C", 400),
        c("dots with a combining overlay", "/orders/.%CC%B8.", 400),
        c("encoded ordinary letter", "/orders/%31", 200),
        c("encoded prefix letters (Envoy decodes)", "/%6Frders/1", 200),
        c("encoded prefix letters, other service", "/%64atasets/1", 403),
        c("unicode segment", "/orders/%C3%A9t%C3%A9", 200),
        c("raw UTF-8 segment", "/orders/été", 400),
        c("space encoded", "/orders/1%20", 200),
        c("plus sign", "/orders/1+2", 200),
        // Query-string tricks: grants match the path part only.
        c("query with a path", "/orders/1?x=/datasets/1", 200),
        c("query with dot-dot", "/orders/1?../../admin", 200),
        c("question mark in the prefix", "/orders?/1", 403),
        c("%3F then dot-dot (resolves to /orders/admin)", "/orders/1%3F/../admin", 200),
        c("%3F then dot-dot out of the grant", "/orders/1%3F/../../admin", 403),
        c("query _method override", "/orders/1?_method=DELETE", 400),
        c("query %5Fmethod override", "/orders/1?%5Fmethod=DELETE", 400),
        c("empty query", "/orders/1?", 200),
        c("query on the other service", "/datasets/1?orders/1", 403),
        // Request-target forms and request lines.
        c("absolute-URI", "http://orders/orders/1", 200),
        c("absolute-URI to the other service", "http://orders/datasets/1", 403),
        c("absolute-URI with userinfo", "http://alice@orders/orders/1", 200),
        c("absolute-URI https on a plain listener", "https://evil.test/orders/1", 403),
        c("absolute-URI with dot-dot", "http://orders/orders/../datasets/1", 403),
        c("asterisk form", "*", 400),
        c("authority form on GET", "orders:80", 400),
        c("no leading slash", "orders/1", 400),
        c("empty segment only", "/", 403),
        m("CONNECT authority", "CONNECT", "orders:443", 404),
        m("CONNECT path", "CONNECT", "/orders/1", 400),
        m("OPTIONS *", "OPTIONS", "*", 404),
        m("unknown method", "FOO", "/orders/1", 400),
        m("lower-case method", "get", "/orders/1", 400),
        m("POST to the granted path", "POST", "/orders/1", 403),
        m("HEAD to the granted path", "HEAD", "/orders/1", 403),
        m("DELETE with dot segment", "DELETE", "/orders/./1", 403),
        m("TRACE", "TRACE", "/orders/1", 403),
        m("PURGE", "PURGE", "/orders/1", 403),
    ];
    // Very long paths: under and over jitgate's 8 KiB cap and Envoy's 60 KiB header limit.
    v.push(("long segment 4 KiB", "GET", format!("/orders/{}", "a".repeat(4096)), 200));
    v.push(("long path 9 KiB", "GET", format!("/orders/{}", "a".repeat(9 * 1024)), 400));
    v.push(("long path 70 KiB", "GET", format!("/orders/{}", "a".repeat(70 * 1024)), 431));
    v.push(("1000 dot segments", "GET", format!("/orders/{}1", "./".repeat(1000)), 200));
    v.push(("1000 dot-dots", "GET", format!("{}/orders/1", "/..".repeat(1000)), 200));
    v.push(("2000 slashes", "GET", format!("/orders{}1", "/".repeat(2000)), 200));
    v
}
