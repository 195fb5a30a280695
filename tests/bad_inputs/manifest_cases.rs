//! The manifest case table: each file's text and the fragments its error must show.

use crate::manifests::Case;

const GRANT: &str = "apiVersion: jitgate.dev/v1alpha1
kind: Grant
metadata:
  name: release
spec:
  subject: group:release-managers
  resources:
    - service: orders
      methods: [GET]
      paths: [\"/orders/**\"]
  ttl: 8h
  reason: CHG-1
";

const POLICY: &str = "apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata:
  name: orders-read
spec:
  resources:
    - service: orders
      methods: [GET]
      paths: [\"/orders/**\"]
  requesters: [group:eng]
  approvers: [group:leads]
  max_ttl: 1h
";

/// The grant with line `from` replaced by `to` (a whole-line edit keeps line numbers exact).
fn grant(from: &str, to: &str) -> Vec<u8> {
    assert!(GRANT.contains(from), "{from}");
    GRANT.replacen(from, to, 1).into_bytes()
}

fn policy(from: &str, to: &str) -> Vec<u8> {
    assert!(POLICY.contains(from), "{from}");
    POLICY.replacen(from, to, 1).into_bytes()
}

/// Fragments: `document D line L` and, when given, the field.
fn at(doc: usize, line: usize, field: &str) -> Vec<String> {
    let mut v = vec![format!("document {doc} line {line}")];
    if !field.is_empty() {
        v.push(format!("`{field}`"));
    }
    v
}

pub fn cases() -> Vec<Case> {
    let bomb = "a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    let huge: String =
        (0..40_000).map(|i| format!("# padding line {i}\n")).collect::<String>() + "kind: Nope\n";
    let many_docs: String =
        (0..500).map(|_| format!("{GRANT}---\n")).collect::<String>() + "kind: Nope\n";
    vec![
        (
            "YAML alias bomb",
            bomb.as_bytes().to_vec(),
            vec!["document 1 line 6".into(), "budget".into()],
        ),
        // Lines count from the top of the file: document 2 starts on line 14.
        (
            "alias bomb after a good document",
            format!("{GRANT}---\n{bomb}").into_bytes(),
            vec!["document 2 line 19".into(), "budget".into()],
        ),
        ("recursive alias", b"a: &a [*a]\n".to_vec(), at(1, 1, "")),
        (
            "duplicate top-level key",
            grant("kind: Grant\n", "kind: Grant\nkind: AccessPolicy\n"),
            vec!["duplicate".into(), "document 1".into()],
        ),
        (
            "duplicate spec key",
            grant("  ttl: 8h\n", "  ttl: 8h\n  ttl: 1000h\n"),
            vec!["duplicate".into(), "document 1".into()],
        ),
        ("unknown kind", grant("kind: Grant", "kind: ClusterAdmin"), at(1, 2, "kind")),
        ("kind missing", grant("kind: Grant\n", ""), vec!["document 1".into(), "kind".into()]),
        ("kind lower case", grant("kind: Grant", "kind: grant"), at(1, 2, "kind")),
        (
            "wrong apiVersion",
            grant("apiVersion: jitgate.dev/v1alpha1", "apiVersion: jitgate.dev/v9"),
            at(1, 1, "apiVersion"),
        ),
        (
            "apiVersion missing",
            grant("apiVersion: jitgate.dev/v1alpha1\n", ""),
            vec!["document 1".into(), "apiVersion".into()],
        ),
        (
            "unknown top-level field",
            grant("metadata:", "status: {}\nmetadata:"),
            vec!["document 1".into(), "status".into()],
        ),
        (
            "unknown spec field",
            grant("  reason: CHG-1", "  reason: CHG-1\n  admin: true"),
            vec!["document 1 line 13".into(), "admin".into()],
        ),
        (
            "unknown resource field",
            grant("      methods: [GET]", "      methods: [GET]\n      hosts: [evil]"),
            vec!["document 1".into(), "hosts".into()],
        ),
        (
            "name missing",
            grant("  name: release\n", "  labels: {}\n"),
            vec!["document 1".into(), "name".into()],
        ),
        (
            "name with a slash",
            grant("name: release", "name: ../release"),
            at(1, 4, "metadata.name"),
        ),
        ("bad duration", grant("ttl: 8h", "ttl: soon"), at(1, 11, "spec.ttl")),
        ("negative duration", grant("ttl: 8h", "ttl: -8h"), at(1, 11, "spec.ttl")),
        ("duration as a number", grant("ttl: 8h", "ttl: 28800"), at(1, 11, "spec.ttl")),
        ("absurd duration", grant("ttl: 8h", "ttl: 99999999999999999999h"), at(1, 11, "spec.ttl")),
        (
            "no ttl and not standing",
            grant("  ttl: 8h\n", ""),
            vec!["document 1".into(), "ttl".into()],
        ),
        ("bad path pattern", grant("[\"/orders/**\"]", "[\"orders/**\"]"), at(1, 10, "")),
        ("path with dot-dot", grant("[\"/orders/**\"]", "[\"/orders/../admin\"]"), at(1, 10, "")),
        ("path with ** in the middle", grant("[\"/orders/**\"]", "[\"/**/admin\"]"), at(1, 10, "")),
        ("lower-case method", grant("methods: [GET]", "methods: [\"GE T\"]"), at(1, 9, "")),
        (
            "bad subject",
            grant("subject: group:release-managers", "subject: release-managers"),
            at(1, 6, "spec.subject"),
        ),
        ("service upper case", grant("service: orders", "service: Orders"), at(1, 8, "")),
        (
            "resources empty",
            grant(
                "  resources:\n    - service: orders\n      methods: [GET]\n      paths: [\"/orders/**\"]\n",
                "  resources: []\n",
            ),
            vec!["document 1".into(), "resources".into()],
        ),
        (
            "policy with a bad max_ttl",
            policy("max_ttl: 1h", "max_ttl: forever"),
            at(1, 12, "spec.max_ttl"),
        ),
        (
            "policy with a bad approver",
            policy("approvers: [group:leads]", "approvers: [leads]"),
            at(1, 11, ""),
        ),
        (
            "policy with an unknown field",
            policy("  max_ttl: 1h", "  max_ttl: 1h\n  auto_approve_everything: true"),
            vec!["document 1".into(), "auto_approve_everything".into()],
        ),
        (
            "second document broken",
            format!("{GRANT}---\n{}", String::from_utf8(grant("ttl: 8h", "ttl: soon")).unwrap())
                .into_bytes(),
            at(2, 24, "spec.ttl"),
        ),
        (
            "third document not YAML",
            format!("{GRANT}---\n{POLICY}---\nkind: [unclosed\n").into_bytes(),
            vec!["document 3".into()],
        ),
        (
            "two documents with one name",
            format!("{GRANT}---\n{GRANT}").into_bytes(),
            vec!["document 2".into(), "release".into()],
        ),
        ("a document that is a list", b"- kind: Grant\n- kind: Grant\n".to_vec(), at(1, 1, "")),
        ("a document that is a scalar", b"just text\n".to_vec(), at(1, 1, "")),
        (
            "tabs for indentation",
            grant("  name: release", "\tname: release"),
            vec!["document 1".into()],
        ),
        (
            "non-UTF-8 bytes",
            grant("reason: CHG-1", "reason: CHG-\u{1}")
                .into_iter()
                .map(|b| if b == 1 { 0xff } else { b })
                .collect(),
            vec!["UTF-8".into()],
        ),
        (
            "UTF-16 file",
            GRANT.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            vec!["document 1 line 1".into(), "not valid YAML".into()],
        ),
        ("NUL byte", grant("reason: CHG-1", "reason: CHG\u{0}1"), vec!["document 1".into()]),
        ("huge file, error at the end", huge.into_bytes(), at(1, 40_001, "kind")),
        (
            "500 documents, the last broken",
            many_docs.into_bytes(),
            vec!["document 501".into(), "kind".into()],
        ),
        (
            "deep nesting",
            format!("kind: Grant\nspec: {}{}\n", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            vec!["document 1".into()],
        ),
    ]
}
