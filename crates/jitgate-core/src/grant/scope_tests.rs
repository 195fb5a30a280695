use super::*;

fn wire(service: &str, methods: &[&str], paths: &[&str]) -> ScopeWire {
    ScopeWire {
        service: service.into(),
        methods: methods.iter().map(|s| s.to_string()).collect(),
        paths: paths.iter().map(|s| s.to_string()).collect(),
        query: None,
    }
}

#[test]
fn methods_are_upper_cased_and_star_means_any() {
    let s = Scope::from_wire(wire("orders", &["get", "Head"], &["/o"])).unwrap();
    assert!(s.methods.contains("GET") && s.methods.contains("HEAD"));
    assert!(!s.methods.contains("get"));
    let any = Scope::from_wire(wire("orders", &["*"], &["/o"])).unwrap();
    assert_eq!(any.methods, Methods::Any);
}

#[test]
fn reports_every_bad_field_at_once() {
    let errs = Scope::from_wire(wire("Orders!", &[], &["nope", "/ok", "/a//b"])).unwrap_err();
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs[0].starts_with("service:"));
    assert!(errs[1].starts_with("methods:"));
    assert!(errs[2].starts_with("paths[0]:"));
    assert!(errs[3].starts_with("paths[2]:"));
}

#[test]
fn empty_paths_are_refused() {
    let errs = Scope::from_wire(wire("orders", &["GET"], &[])).unwrap_err();
    assert!(errs[0].contains("at least one path"));
}

#[test]
fn scope_containment() {
    let outer = Scope::from_wire(wire("orders", &["GET", "HEAD"], &["/orders/**"])).unwrap();
    let inner = Scope::from_wire(wire("orders", &["GET"], &["/orders/7"])).unwrap();
    let other = Scope::from_wire(wire("billing", &["GET"], &["/orders/7"])).unwrap();
    let wider = Scope::from_wire(wire("orders", &["*"], &["/orders/7"])).unwrap();
    assert!(inner.is_within(&outer));
    assert!(!outer.is_within(&inner));
    assert!(!other.is_within(&outer));
    assert!(!wider.is_within(&outer));
}

fn call(p: &str) -> RequestPath {
    RequestPath::parse(p).unwrap()
}

#[test]
fn an_exact_scope_binds_the_query_string() {
    // SECURITY row 58: approving `DELETE /datasets/q` must not allow `?purge=all`.
    let s = Scope::exact("billing", "DELETE", &call("/datasets/q")).unwrap();
    assert!(s.is_single_call());
    assert!(s.matches("billing", "DELETE", &call("/datasets/q")));
    assert!(s.matches("billing", "DELETE", &call("/datasets/q?")));
    assert!(!s.matches("billing", "DELETE", &call("/datasets/q?purge=all&cascade=true")));
    let q = Scope::exact("billing", "DELETE", &call("/datasets/q?v=%41&x=1")).unwrap();
    assert!(q.matches("billing", "DELETE", &call("/datasets/q?v=A&x=1")));
    assert!(q.matches("billing", "DELETE", &call("/datasets/q?v=%41&x=1")));
    assert!(!q.matches("billing", "DELETE", &call("/datasets/q?v=A&x=1&x=2")));
    assert!(!q.matches("billing", "DELETE", &call("/datasets/q?x=1&v=A")));
    assert!(!q.matches("billing", "DELETE", &call("/datasets/q")));
    assert_eq!(q.to_string(), "billing DELETE /datasets/q?v=A&x=1");
    assert_eq!(s.to_string(), "billing DELETE /datasets/q (no query string)");
}

#[test]
fn scopes_with_queries_compare_by_query() {
    let any = Scope::from_wire(wire("s", &["GET"], &["/a/*"])).unwrap();
    let one = Scope::exact("s", "GET", &call("/a/b?x=1")).unwrap();
    let other = Scope::exact("s", "GET", &call("/a/b?x=2")).unwrap();
    assert!(one.is_within(&any));
    assert!(!any.is_within(&one));
    assert!(!one.is_within(&other));
    assert!(one.overlaps(&any) && any.overlaps(&one));
    assert!(!one.overlaps(&other));
    assert!(!Scope::exact_path("s", "GET", &call("/a/b?x=1")).is_single_call());
    assert_eq!(Scope::exact_path("s", "GET", &call("/a/b?x=1")).with_bound_query(), {
        Scope::exact("s", "GET", &call("/a/b")).unwrap()
    });
}

#[test]
fn a_query_too_long_to_bind_gives_no_exact_scope() {
    let long = format!("/a?{}", "x".repeat(crate::grant::MAX_QUERY_LEN + 1));
    assert!(Scope::exact("s", "GET", &call(&long)).is_none());
    let mut w = wire("s", &["GET"], &["/a"]);
    w.query = Some("y".repeat(crate::grant::MAX_QUERY_LEN + 1));
    assert!(Scope::from_wire(w).unwrap_err()[0].starts_with("query:"));
}

#[test]
fn the_wire_form_carries_the_query_only_when_bound() {
    let s = Scope::exact("s", "GET", &call("/a?b=c")).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(json, r#"{"service":"s","methods":["GET"],"paths":["/a"],"query":"b=c"}"#);
    assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), s);
    let any = Scope::exact_path("s", "GET", &call("/a?b=c"));
    assert!(!serde_json::to_string(&any).unwrap().contains("query"));
}
