//! Request smuggling corpus (SECURITY.md row 23): ambiguous framing through the real Envoy,
//! counting the requests the upstream receives. A smuggled request hides `GET /datasets/1`
//! (no grant, no token) behind an allowed `POST /orders/1`; the upstream must never see more
//! requests than the legitimate ones each case allows.

use crate::report::Tally;
use crate::stack::Stack;

/// (name, raw bytes, expected status of every response in order, most upstream requests).
type Case = (&'static str, Vec<u8>, Vec<u16>, usize);

const SMUGGLED: &str = "GET /datasets/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

fn raw(head: &str, auth: &str, lines: &[&str], body: &str) -> Vec<u8> {
    let mut s = format!("{head}\r\nHost: example.test\r\nAuthorization: Bearer {auth}\r\n");
    for l in lines {
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

fn cases(t: &str) -> Vec<Case> {
    let post = "POST /orders/1 HTTP/1.1";
    let chunked_smuggle = format!("0\r\n\r\n{SMUGGLED}");
    let cl = |n: usize| format!("Content-Length: {n}");
    let n = chunked_smuggle.len();
    let close = "Connection: close";
    let p = |lines: &[&str], body: &str| raw(post, t, lines, body);
    vec![
        ("control: POST with Content-Length", p(&[&cl(5), close], "hello"), vec![200], 1),
        ("control: POST chunked", p(&["Transfer-Encoding: chunked", close], "5\r\nhello\r\n0\r\n\r\n"), vec![200], 1),
        ("control: pipelined unauthenticated request", p(&[&cl(5)], &format!("hello{SMUGGLED}")), vec![200, 401], 1),
        ("CL.TE", p(&[&cl(n), "Transfer-Encoding: chunked"], &chunked_smuggle), vec![400], 0),
        ("TE.CL", p(&["Transfer-Encoding: chunked", &cl(4)], &format!("{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n", SMUGGLED.len())), vec![400], 0),
        ("Transfer-Encoding space before colon", p(&[&cl(n), "Transfer-Encoding : chunked"], &chunked_smuggle), vec![400], 0),
        ("TE chunked, identity", p(&[&cl(n), "Transfer-Encoding: chunked, identity"], &chunked_smuggle), vec![400], 0),
        ("TE identity with CL", p(&[&cl(n), "Transfer-Encoding: identity"], &chunked_smuggle), vec![400], 0),
        ("TE xchunked", p(&[&cl(n), "Transfer-Encoding: xchunked"], &chunked_smuggle), vec![400], 0),
        ("TE tab before value", p(&[&cl(n), "Transfer-Encoding:\tchunked"], &chunked_smuggle), vec![400], 0),
        ("TE upper case with CL", p(&[&cl(n), "Transfer-Encoding: CHUNKED"], &chunked_smuggle), vec![400], 0),
        ("TE twice", p(&["Transfer-Encoding: chunked", "Transfer-Encoding: identity", &cl(n)], &chunked_smuggle), vec![400], 0),
        ("TE obs-folded", p(&[&cl(n), "Transfer-Encoding:", " chunked"], &chunked_smuggle), vec![400], 0),
        ("TE with a vertical tab", p(&[&cl(n), "Transfer-Encoding:\x0bchunked"], &chunked_smuggle), vec![400], 0),
        ("TE in a header name with underscore", p(&[&cl(n), "Transfer_Encoding: chunked"], &chunked_smuggle), vec![400], 0),
        ("bare LF after TE", p(&[&format!("{}\nTransfer-Encoding: chunked", cl(n))], &chunked_smuggle), vec![400], 0),
        ("bare LF line endings throughout", format!("POST /orders/1 HTTP/1.1\nHost: x\nAuthorization: Bearer {t}\n{}\nTransfer-Encoding: chunked\n\n{chunked_smuggle}", cl(n)).into_bytes(), vec![400], 0),
        ("two different Content-Lengths", p(&[&cl(5), &cl(n)], &chunked_smuggle), vec![400], 0),
        ("Content-Length list", p(&[&format!("Content-Length: 5, {n}")], &chunked_smuggle), vec![400], 0),
        ("negative Content-Length", p(&["Content-Length: -1"], &chunked_smuggle), vec![400], 0),
        ("Content-Length with plus sign", p(&["Content-Length: +5"], &chunked_smuggle), vec![400], 0),
        ("hex Content-Length", p(&["Content-Length: 0x5"], &chunked_smuggle), vec![400], 0),
        ("Content-Length with inner space", p(&["Content-Length: 5 5"], &chunked_smuggle), vec![400], 0),
        ("Content-Length overflow", p(&["Content-Length: 99999999999999999999999"], &chunked_smuggle), vec![400], 0),
        ("Content-Length with NUL", p(&["Content-Length: 5\0"], &chunked_smuggle), vec![400], 0),
        ("chunk size overflow", p(&["Transfer-Encoding: chunked", close], "ffffffffffffffffffff\r\nx\r\n0\r\n\r\n"), vec![400], 0),
        ("chunk size not hex", p(&["Transfer-Encoding: chunked", close], "zz\r\nx\r\n0\r\n\r\n"), vec![400], 0),
        ("chunk size with LF only", p(&["Transfer-Encoding: chunked", close], "5\nhello\n0\n\n"), vec![400], 0),
        ("chunk extension then smuggled request", p(&["Transfer-Encoding: chunked"], &format!("5;ext=1\r\nhello\r\n0\r\n\r\n{SMUGGLED}")), vec![200, 401], 1),
        ("Content-Length body holding a request", p(&[&cl(SMUGGLED.len()), close], SMUGGLED), vec![200], 1),
        ("TE chunked on HTTP/1.0", raw("POST /orders/1 HTTP/1.0", t, &["Transfer-Encoding: chunked"], &chunked_smuggle), vec![426], 0),
        ("request line with extra token", raw("GET /orders/1 HTTP/1.1 x", t, &[close], ""), vec![400], 0),
        // Envoy reads `GET  /orders/1` as `GET /orders/1`: one granted request, no ambiguity.
        ("request line with two spaces", raw("GET  /orders/1 HTTP/1.1", t, &[close], ""), vec![200], 1),
        ("HTTP/1.2 version", raw("GET /orders/1 HTTP/1.2", t, &[close], ""), vec![426], 0),
    ]
}

#[tokio::test]
async fn smuggled_requests_never_reach_the_upstream() {
    let s = Stack::start().await;
    s.jitgate.grant("user:alice", "orders", &["GET", "POST"], &["/orders/*"], "30m").await;
    let token = s.jitgate.token("alice", &[]);
    let mut tally = Tally::new("smuggling");
    let mut legit = 0;
    for (name, bytes, want, max_upstream) in cases(&token) {
        let before = s.settled_hits().await;
        let got = s.send_all(&bytes).await;
        let seen = s.settled_hits().await - before;
        legit += max_upstream;
        let ok = got == want && seen <= max_upstream;
        let leak = seen > max_upstream;
        tally.record(
            name,
            ok,
            leak,
            &format!("statuses {got:?} (want {want:?}), upstream saw {seen} (max {max_upstream})"),
        );
    }
    let hits = s.settled_hits().await;
    tally.require("upstream requests", hits <= legit, &format!("{hits} > {legit}"));
    tally.finish(20);
}
