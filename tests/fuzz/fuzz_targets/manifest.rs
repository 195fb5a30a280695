//! Manifests and grant JSON: bytes → the manifest reader (split into documents, YAML through
//! serde-saphyr with its budgets, every domain rule, duplicate names, standing checks) or
//! `serde_json::from_slice::<Grant>`. Oracles: no panic, bounded time and memory (libFuzzer's
//! `-timeout` and `-rss_limit_mb` turn a YAML alias bomb that got through into a crash), and a
//! grant that parses survives a JSON round trip unchanged.

#![no_main]

use std::path::Path;

use jitgate::access::PolicySet;
use jitgate::grant::Grant;
use jitgate::manifest::{self, load};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        let (mut docs, mut errors) = (Vec::new(), Vec::new());
        load::split(Path::new("fuzz.yaml"), text, &mut docs, &mut errors);
        let (manifests, parse_errors) = manifest::parse_all(&docs);
        let _ = manifest::check_standing(&manifests, &PolicySet::default());
        for e in errors.iter().chain(&parse_errors) {
            let _ = e.to_string();
        }
    } else if let Ok(grant) = serde_json::from_slice::<Grant>(rest) {
        let json = serde_json::to_vec(&grant).expect("a parsed grant serializes");
        let again: Grant = serde_json::from_slice(&json).expect("a serialized grant parses");
        assert_eq!(again, grant, "grant JSON round trip");
    }
});
