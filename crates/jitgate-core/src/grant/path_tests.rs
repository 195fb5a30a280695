use super::*;

fn segs(p: &str) -> Vec<String> {
    RequestPath::parse(p).unwrap().segments().to_vec()
}

#[test]
fn splits_and_drops_the_query() {
    assert_eq!(segs("/"), vec![""]);
    assert_eq!(segs("/orders"), vec!["orders"]);
    assert_eq!(segs("/orders/"), vec!["orders", ""]);
    assert_eq!(segs("/orders/7?x=/admin"), vec!["orders", "7"]);
    assert_eq!(RequestPath::parse("/a?b").unwrap().as_str(), "/a");
}

#[test]
fn decodes_harmless_escapes() {
    assert_eq!(segs("/orders/%41"), vec!["orders", "A"]);
    assert_eq!(segs("/files/my%20file"), vec!["files", "my file"]);
}

#[test]
fn refuses_every_shape_changing_trick() {
    let refused = [
        "/orders/../admin",
        "/orders/./7",
        "/orders/%2e%2e/admin",
        "/orders/%2E/7",
        "/orders%2Fadmin",
        "/orders%2fadmin",
        "/orders%5Cadmin",
        "/orders%252Fadmin",
        "/orders/7;jsessionid=1",
        "/orders/..;/admin",
        "/orders/7%3Bx",
        "/orders/7#frag",
        "/orders/7%23frag",
        "/orders/7%00",
        "/orders//7",
        "//orders",
        "/orders\\7",
        "/orders/\u{7f}",
        "/orders/%EF%BC%8Fadmin",
        "/orders/7%3Fx",
        "/orders/%zz",
        "/orders/%4",
        "/orders/%C3",
        "orders/7",
        "",
        "*",
    ];
    for p in refused {
        assert!(RequestPath::parse(p).is_err(), "{p:?} must be refused");
    }
}

#[test]
fn refuses_raw_non_ascii_and_overlong_paths() {
    assert!(RequestPath::parse("/caf\u{e9}").is_err());
    let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
    assert_eq!(RequestPath::parse(&long), Err(PathError::TooLong(MAX_PATH_LEN)));
}
