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
        ("/orders/%2F", "contains `%`"),
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
