use super::*;

fn path(p: &str) -> RequestPath {
    RequestPath::parse(p).unwrap()
}

fn fold(paths: &[&str]) -> Vec<String> {
    let parsed: Vec<RequestPath> = paths.iter().map(|p| path(p)).collect();
    fold_paths(&parsed)
}

#[test]
fn identifiers_are_variable_and_route_names_are_not() {
    let variable = [
        "7",
        "0042",
        "550e8400-e29b-41d4-a716-446655440000",
        "6f1ed002ab5595859014ebf0951522d9",
        "507f1f77bcf86cd799439011",
        "01HZX3K4M5N6P7Q8R9S0T1V2W3",
        "2026-11-30",
        "1.2.3",
        "alice@example.com",
        "tok_9f8e7d6c5b4a3f2e1d",
    ];
    for s in variable {
        assert!(is_variable(s), "{s} should fold");
    }
    let literal = [
        "orders",
        "v1",
        "v2",
        "api",
        "items",
        "me",
        "deadbeef",
        "healthz",
        "",
        "order-lines",
        "x86_64",
    ];
    for s in literal {
        assert!(!is_variable(s), "{s} should stay literal");
    }
    for s in ["a;b", "..", "a\\b"] {
        assert!(!literal_ok(s), "{s} cannot be a literal pattern segment");
    }
    // `*` and `%` are written escaped, so they stay literal (never a wildcard).
    for s in ["a*b", "*", "100%"] {
        assert!(literal_ok(s), "{s} is a literal, escaped by render");
    }
    let rendered = render(&[Seg::Literal("*".into()), Seg::Literal("a*%".into()), Seg::Any]);
    assert_eq!(rendered, "/%2A/a%2A%25/*");
    assert!(PathPattern::parse(&rendered).is_ok());
    let star = PathPattern::parse(&render(&[Seg::Literal("*".into()), Seg::Any])).unwrap();
    assert!(star.matches(&path("/%2A/y")));
    assert!(!star.matches(&path("/x/y")), "a literal `*` folded from traffic is no wildcard");
}

#[test]
fn paths_fold_into_the_narrowest_patterns() {
    let cases: &[(&[&str], &[&str])] = &[
        (&["/orders/7"], &["/orders/*"]),
        (&["/orders/7", "/orders/8", "/orders/123"], &["/orders/*"]),
        (&["/orders/7/items", "/orders/8/items/3"], &["/orders/*/items", "/orders/*/items/*"]),
        (&["/orders", "/orders/7"], &["/orders", "/orders/*"]),
        (&["/v1/orders/550e8400-e29b-41d4-a716-446655440000"], &["/v1/orders/*"]),
        (&["/orders/export"], &["/orders/export"]),
        (&["/"], &["/"]),
        (&["/orders/"], &["/orders/"]),
        (&["/orders/7?verbose=1"], &["/orders/*"]),
        (&["/files/my%20file"], &["/files/my file"]),
    ];
    for (input, want) in cases {
        assert_eq!(fold(input), want.to_vec(), "{input:?}");
    }
}

#[test]
fn many_literal_siblings_merge_and_few_do_not() {
    let four = ["/users/alice", "/users/bob", "/users/carol", "/users/dave"];
    assert_eq!(fold(&four), four.to_vec(), "below the threshold: literal");
    let five = ["/users/alice", "/users/bob", "/users/carol", "/users/dave", "/users/erin"];
    assert_eq!(fold(&five), ["/users/*"]);
    // Only siblings that share everything else merge; the odd one keeps its literal.
    let mut mixed = five.to_vec();
    mixed.push("/teams/core");
    assert_eq!(fold(&mixed), ["/teams/core", "/users/*"]);
    // Different lengths never merge.
    let lengths = ["/a/b", "/a/c", "/a/d", "/a/e", "/a/h", "/a/f/g"];
    assert_eq!(fold(&lengths), ["/a/*", "/a/f/g"]);
}

#[test]
fn every_folded_pattern_is_a_valid_grant_path_and_covers_its_calls() {
    let calls = ["/orders/7", "/orders/7/items", "/files/a%20b", "/users/alice@example.com", "/"];
    let patterns = fold(&calls);
    for p in &patterns {
        assert!(valid(p), "{p}");
    }
    for c in calls {
        let rp = path(c);
        assert!(
            patterns.iter().any(|p| PathPattern::parse(p).unwrap().matches(&rp)),
            "{c} not covered by {patterns:?}"
        );
    }
    // Nothing wider: a sibling route with another shape stays uncovered.
    let other = path("/orders/7/items/1");
    assert!(!patterns.iter().any(|p| PathPattern::parse(p).unwrap().matches(&other)));
}
