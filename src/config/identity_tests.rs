//! Issuer names and the default issuer: who gets plain principals, and the configurations
//! that are refused (each with what to write instead).

use crate::config::load_str;
use crate::grant::{IssuerName, Naming};

fn issuers(names: &[Option<&str>], rest: &str) -> String {
    let mut yaml = String::from("identity:\n  issuers:\n");
    for (i, name) in names.iter().enumerate() {
        let name = name.map_or(String::new(), |n| format!("name: \"{n}\", "));
        yaml.push_str(&format!(
            "    - {{ {name}issuer: \"https://idp{i}.test\", audiences: [jitgate], jwks_url: \"https://idp{i}.test/jwks\" }}\n"
        ));
    }
    yaml.push_str(rest);
    yaml
}

fn errors(yaml: &str) -> String {
    load_str(yaml, "test", &[]).unwrap_err().errors.join("\n")
}

fn qualified(name: &str) -> Naming {
    Naming::Qualified(IssuerName::new(name).unwrap())
}

#[test]
fn a_sole_issuer_is_the_default_named_or_not() {
    for name in [None, Some("corp")] {
        let c = load_str(&issuers(&[name], "admins: [\"user:alice\"]\n"), "test", &[]).unwrap();
        assert_eq!(c.identity.namings(), Ok(vec![Naming::Default]));
    }
}

#[test]
fn the_default_issuer_is_plain_and_the_others_are_qualified() {
    let yaml = issuers(
        &[Some("corp"), Some("partner")],
        "  default_issuer: corp\nadmins: [\"user:alice\", \"group:partner/ops\"]\n",
    );
    let c = load_str(&yaml, "test", &[]).unwrap();
    assert_eq!(c.identity.namings(), Ok(vec![Naming::Default, qualified("partner")]));
}

#[test]
fn several_issuers_without_a_default_are_all_qualified() {
    let yaml = issuers(&[Some("corp"), Some("partner")], "admins: [\"user:corp/root\"]\n");
    let c = load_str(&yaml, "test", &[]).unwrap();
    assert_eq!(c.identity.namings(), Ok(vec![qualified("corp"), qualified("partner")]));
    // A plain principal could then never be carried by any token.
    let all = errors(&issuers(&[Some("corp"), Some("partner")], "admins: [\"user:root\"]\n"));
    assert!(all.contains("`admins[0]`: `user:root` carries no issuer name"), "{all}");
    assert!(all.contains("`user:<issuer>/root` or set `identity.default_issuer`"), "{all}");
}

#[test]
fn several_issuers_must_each_have_a_unique_valid_name() {
    let all = errors(&issuers(&[None, Some("Partner"), Some("ci"), Some("ci")], ""));
    for expected in [
        "`identity.issuers[0].name` is required when several issuers are trusted",
        "`identity.issuers[1].name`: `Partner` is not an issuer name",
        "`identity.issuers[3].name`: `ci` is already the name of another issuer",
    ] {
        assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
    }
}

#[test]
fn the_default_issuer_must_name_one_of_them() {
    let all = errors(&issuers(&[Some("corp"), Some("partner")], "  default_issuer: crop\n"));
    assert!(all.contains("`identity.default_issuer` is `crop`, but no issuer"), "{all}");
    let all = errors(&issuers(&[None], "  default_issuer: corp\n"));
    assert!(all.contains("`identity.default_issuer` is `corp`"), "{all}");
}

#[test]
fn admins_must_name_an_issuer_the_way_its_tokens_do() {
    let rest =
        "  default_issuer: corp\naudit: { readers: [\"user:corp/alice\", \"group:nope/x\"] }\n";
    let all = errors(&issuers(&[Some("corp"), Some("partner")], rest));
    assert!(
        all.contains(
            "`audit.readers[0]`: `user:corp/alice` names issuer `corp`, the default issuer"
        ),
        "{all}"
    );
    assert!(all.contains("write `user:alice`"), "{all}");
    assert!(
        all.contains("`audit.readers[1]`: `group:nope/x` names issuer `nope`, but no issuer"),
        "{all}"
    );
    // Services come from mTLS, not tokens: never checked against the issuers.
    let ok = issuers(&[Some("corp"), Some("partner")], "admins: [\"service:spiffe://x/y\"]\n");
    assert!(load_str(&ok, "test", &[]).is_ok());
}

#[test]
fn the_documented_several_issuers_example_loads() {
    let yaml = r#"
identity:
  default_issuer: corp
  issuers:
    - name: corp                # user:alice, group:eng
      issuer: "https://login.corp.example"
      audiences: ["jitgate"]
      jwks_url: "https://login.corp.example/.well-known/jwks.json"
    - name: ci                  # user:ci/repo:org/app:ref:refs/heads/main
      issuer: "https://token.actions.githubusercontent.com"
      audiences: ["jitgate"]
      jwks_url: "https://token.actions.githubusercontent.com/.well-known/jwks"
admins: ["group:platform", "user:ci/repo:org/deployer:ref:refs/heads/main"]
"#;
    let c = load_str(yaml, "test", &[]).unwrap();
    let ci = c.identity.namings().unwrap().pop().unwrap();
    let sub = "repo:org/app:ref:refs/heads/main";
    assert_eq!(ci.user(sub).unwrap().to_string(), format!("user:ci/{sub}"));
}
