use super::*;

fn pat(p: &str) -> PathPattern {
    PathPattern::parse(p).unwrap()
}

fn path(p: &str) -> RequestPath {
    RequestPath::parse(p).unwrap()
}

#[test]
fn matching_table() {
    // (pattern, request path, matches)
    let table = [
        ("/orders/7", "/orders/7", true),
        ("/orders/7", "/orders/8", false),
        ("/orders/7", "/orders/7/", false),
        ("/orders/7", "/orders/7?x=1", true),
        ("/orders/7", "/Orders/7", false),
        ("/orders/*", "/orders/7", true),
        ("/orders/*", "/orders/", false),
        ("/orders/*", "/orders", false),
        ("/orders/*", "/orders/7/items", false),
        ("/orders/*/items", "/orders/7/items", true),
        ("/orders/*/items", "/orders/7/lines", false),
        ("/orders/**", "/orders", true),
        ("/orders/**", "/orders/", true),
        ("/orders/**", "/orders/7/items/3", true),
        ("/orders/**", "/ordersX", false),
        ("/orders/**", "/admin/orders", false),
        ("/orders/", "/orders/", true),
        ("/orders/", "/orders", false),
        ("/**", "/", true),
        ("/**", "/anything/at/all", true),
        ("/", "/", true),
        ("/", "/a", false),
        ("/orders/A", "/orders/%41", true),
        ("/files/my file", "/files/my%20file", true),
        ("/orders/*", "/orders/7?_=/../admin", true),
    ];
    for (p, r, want) in table {
        assert_eq!(pat(p).matches(&path(r)), want, "pattern {p} vs path {r}");
    }
}

#[test]
fn refuses_malformed_patterns() {
    let table = [
        ("orders/*", "must start with"),
        ("/orders//7", "empty segment"),
        ("/orders/**/items", "only allowed as the last"),
        ("/orders/7*", "whole segment"),
        ("/orders?x=1", "contains `?`"),
        ("/orders/%2F", "not `%2A` or `%25`"),
        ("/orders/../admin", "dot segment"),
        ("/orders;x", "contains `;`"),
    ];
    for (p, msg) in table {
        let err = PathPattern::parse(p).unwrap_err().to_string();
        assert!(err.contains(msg), "{p}: {err}");
    }
}

#[test]
fn exact_pattern_matches_only_its_path() {
    let p = PathPattern::exact(&path("/datasets/a%20b"));
    assert_eq!(p.as_str(), "/datasets/a b");
    assert!(p.matches(&path("/datasets/a%20b")));
    assert!(!p.matches(&path("/datasets/a")));
}

#[test]
fn overlap_between_patterns() {
    let table = [
        ("/datasets/*", "/datasets/**", true),
        ("/datasets/*", "/datasets/7", true),
        ("/datasets/*", "/datasets/", false),
        ("/datasets/*", "/datasets/7/x", false),
        ("/datasets/**", "/other/**", false),
        ("/**", "/anything", true),
        ("/a/*/c", "/a/b/*", true),
        ("/a/*/c", "/a/b/d", false),
        ("/a", "/a/b", false),
    ];
    for (a, b, want) in table {
        assert_eq!(pat(a).overlaps(&pat(b)), want, "{a} overlaps {b}");
        assert_eq!(pat(b).overlaps(&pat(a)), want, "{b} overlaps {a}");
    }
    assert!(pat("/a/b").is_exact() && !pat("/a/*").is_exact() && !pat("/a/**").is_exact());
}

#[test]
fn containment_between_patterns() {
    let table = [
        ("/orders/7", "/orders/**", true),
        ("/orders/7", "/orders/*", true),
        ("/orders/*", "/orders/**", true),
        ("/orders/**", "/orders/*", false),
        ("/orders/**", "/orders/**", true),
        ("/orders/*/x", "/orders/*/x", true),
        ("/orders/", "/orders/*", false),
        ("/admin", "/orders/**", false),
        ("/orders", "/orders/*", false),
    ];
    for (inner, outer, want) in table {
        assert_eq!(pat(inner).is_within(&pat(outer)), want, "{inner} within {outer}");
    }
}

#[test]
fn a_literal_star_is_escaped_and_never_reads_as_a_wildcard() {
    // SECURITY row 51: `DELETE /datasets/%2A` filed a request for `/datasets/*`, which read
    // back from Redis as a wildcard.
    for (call, text) in [
        ("/datasets/%2A", "/datasets/%2A"),
        ("/datasets/%2A%2A", "/datasets/%2A%2A"),
        ("/datasets/a%2Ab", "/datasets/a%2Ab"),
        ("/d/%2A/x", "/d/%2A/x"),
        ("/files/100%25", "/files/100%25"),
    ] {
        let Ok(p) = RequestPath::parse(call) else { continue };
        let exact = PathPattern::exact(&p);
        assert_eq!(exact.as_str(), text, "{call}");
        let back = PathPattern::parse(exact.as_str()).unwrap();
        assert_eq!(back, exact, "{call} round-trips");
        assert!(back.is_exact(), "{call} stays one path");
        assert!(back.matches(&p));
    }
    let star = PathPattern::exact(&path("/datasets/%2A"));
    assert!(!star.matches(&path("/datasets/customers-prod")));
    let stars = PathPattern::exact(&path("/datasets/%2A%2A"));
    assert!(!stars.matches(&path("/datasets/customers-prod/rows")));
    assert!(stars.is_within(&pat("/datasets/*")), "a literal `**` is one segment");
    assert!(stars.matches(&path("/datasets/%2a%2A")));
    assert!(star.is_within(&pat("/datasets/*")));
}

#[test]
fn escapes_are_the_only_percent_sequences() {
    assert_eq!(pat("/a/%2A").literal_prefix().collect::<Vec<_>>(), ["a", "*"]);
    assert_eq!(pat("/a/%25").literal_prefix().collect::<Vec<_>>(), ["a", "%"]);
    for bad in ["/a/%2a", "/a/%2F", "/a/%", "/a/%2", "/a/%41"] {
        let err = PathPattern::parse(bad).unwrap_err();
        assert!(matches!(err, PatternError::BadEscape(_)), "{bad}: {err}");
        assert!(err.to_string().contains("`%2A` is a literal `*`"), "{err}");
    }
    assert!(matches!(PathPattern::parse("/a/%2E%2E"), Err(PatternError::BadEscape(_))));
    assert_eq!(escape_segment("a*%b"), "a%2A%25b");
    assert_eq!(escape_segment("plain"), "plain");
}
