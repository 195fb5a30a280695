use std::path::Path;

use super::*;
use crate::manifest::check_standing;
use crate::manifest::load::split as split_file;

fn read(text: &str) -> (Vec<Manifest>, Vec<ManifestError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    split_file(Path::new("access.yaml"), text, &mut docs, &mut errors);
    let (manifests, more) = parse_all(&docs);
    errors.extend(more);
    (manifests, errors)
}

const GOOD: &str = "\
# platform access
apiVersion: jitgate.dev/v1alpha1
kind: Grant
metadata: { name: ci-deployer }
spec:
  subject: service:ci
  resources:
    - { service: orders, methods: [GET, POST], paths: [\"/orders/**\"] }
  ttl: 8h
  reason: CI deploys orders
---
apiVersion: jitgate.dev/v1alpha1
kind: AccessPolicy
metadata: { name: orders }
spec:
  resources: [{ service: orders, methods: [GET], paths: [\"/orders/**\"] }]
  requesters: [\"group:eng\"]
  approvers: [\"group:leads\"]
  max_ttl: 1h
";

#[test]
fn several_documents_per_file() {
    let (m, e) = read(GOOD);
    assert!(e.is_empty(), "{e:?}");
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].kind(), m[0].name(), m[0].source.line), ("Grant", "ci-deployer", 1));
    assert_eq!((m[1].kind(), m[1].source.doc, m[1].source.line), ("AccessPolicy", 2, 12));
    let Object::Grant(g) = &m[0].object else { panic!() };
    assert_eq!(g.id().as_str(), "manifest-ci-deployer");
    assert_eq!(g.ttl, Some(std::time::Duration::from_secs(8 * 3600)));
}

#[test]
fn the_same_spec_always_hashes_the_same() {
    let (a, _) = read(GOOD);
    let (b, _) = read(&GOOD.replace("# platform access", "# reformatted"));
    let (c, _) = read(&GOOD.replace("ttl: 8h", "ttl: 9h"));
    let hash = |m: &[Manifest]| match &m[0].object {
        Object::Grant(g) => g.hash.clone(),
        Object::Policy(_) => unreachable!(),
    };
    assert_eq!(hash(&a), hash(&b));
    assert_ne!(hash(&a), hash(&c));
}

#[test]
fn errors_name_file_document_line_and_field() {
    let bad = GOOD
        .replace("ttl: 8h", "ttl: soon")
        .replace("subject: service:ci", "subject: ci")
        .replace("max_ttl: 1h", "max_ttl: 1h\n  colour: blue");
    let (_, e) = read(&bad);
    let all: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert!(all.iter().any(|m| m == "`access.yaml` document 1 line 6: `spec.subject`: `ci` is not a principal: write `user:<id>`, `group:<name>` or `service:<id>`"), "{all:#?}");
    assert!(
        all.iter().any(|m| m
            .starts_with("`access.yaml` document 1 line 9: `spec.ttl`: `soon` is not a duration")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|m| m.contains("document 2 line 20: `spec.colour`: unknown field `colour`")),
        "{all:#?}"
    );
}

#[test]
fn a_managed_grant_needs_a_ttl_or_an_explicit_standing() {
    let (_, e) = read(&GOOD.replace("  ttl: 8h\n", ""));
    assert!(e[0].to_string().contains("a managed grant needs a `ttl`"), "{e:?}");
    let (m, e) = read(&GOOD.replace("ttl: 8h", "standing: true"));
    assert!(e.is_empty());
    let Object::Grant(g) = &m[0].object else { panic!() };
    assert!(g.standing());
    let (_, e) = read(&GOOD.replace("ttl: 8h", "ttl: 8h\n  standing: true"));
    assert!(e[0].message.contains("not both"));
}

#[test]
fn standing_grants_need_a_policy_that_allows_them() {
    let (m, _) = read(&GOOD.replace("ttl: 8h", "standing: true"));
    let (_, policies) = (m.clone(), crate::access::PolicySet::default());
    let e = check_standing(&m, &policies);
    assert!(e[0].message.contains("no policy allows standing access"), "{e:?}");
    let allowing = GOOD
        .replace("ttl: 8h", "standing: true")
        .replace(
            "requesters: [\"group:eng\"]",
            "requesters: [\"service:ci\"]\n  allow_standing: true",
        )
        .replace("methods: [GET], paths", "methods: [GET, POST], paths");
    let (m, e) = read(&allowing);
    assert!(e.is_empty(), "{e:?}");
    let set = crate::access::PolicySet::new(
        m.iter()
            .filter_map(|x| match &x.object {
                Object::Policy(p) => Some((**p).clone()),
                Object::Grant(_) => None,
            })
            .collect(),
    );
    assert!(check_standing(&m, &set).is_empty());
}

#[test]
fn unknown_kinds_duplicates_and_bad_yaml_are_reported() {
    let text = format!(
        "{GOOD}---\nkind: Gadget\n---\n{}\n---\nkey: [unclosed\n",
        GOOD.split("---").next().unwrap()
    );
    let (_, e) = read(&text);
    let all: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    assert!(
        all.iter().any(|m| m.contains("document 3") && m.contains("unknown kind `Gadget`")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|m| m.contains("document 4") && m.contains("already defined")),
        "{all:#?}"
    );
    assert!(
        all.iter().any(|m| m.contains("document 5") && m.contains("not valid YAML")),
        "{all:#?}"
    );
}
