//! Paths and patterns: `pattern \n path` → `PathPattern::parse` and `RequestPath::parse`, then
//! `matches`. Oracles: no panic; a parsed path holds none of what SECURITY.md promise 6 refuses
//! (decoded segments without `/`, `\`, `%`, `;`, `#`, `?`, control characters, dot segments;
//! no empty inner segment) and its segments are those of the reference decoder; `matches` agrees
//! with the reference matcher, and with `exact`, `is_within`, `overlaps` and `literal_prefix`.

#![no_main]

use jitgate::grant::{PathPattern, RequestPath};
use jitgate_fuzz::model;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pattern, target) = text.split_once('\n').unwrap_or(("/**", text));
    let path = RequestPath::parse(target);
    let reference = model::segments(target);
    if let Ok(p) = &path {
        let segs = p.segments();
        assert_eq!(Some(segs.to_vec()), reference, "segments of {target:?}");
        for (i, s) in segs.iter().enumerate() {
            assert!(!s.is_empty() || i + 1 == segs.len(), "inner empty segment in {target:?}");
            assert!(s != "." && s != "..", "dot segment in {target:?}");
            let bad = |c: char| "/\\%;#?".contains(c) || c.is_control();
            assert!(!s.chars().any(bad), "segment {s:?} of {target:?}");
        }
        assert!(!p.as_str().contains('?') && p.as_str().starts_with('/'));
        // The exact pattern of a path matches it and nothing else.
        let exact = PathPattern::exact(p);
        assert!(exact.matches(p), "exact pattern of {target:?}");
        assert!(exact.is_exact());
        // Its text reads back as the same literal segments (SECURITY row 51: a `*` in the
        // path must not come back as a wildcard).
        let back = PathPattern::parse(exact.as_str());
        assert_eq!(back.as_ref(), Ok(&exact), "exact pattern text of {target:?}");
    } else {
        // Stricter than the reference is fine (look-alikes, length), looser is not.
        let _ = reference;
    }
    let Ok(pat) = PathPattern::parse(pattern) else { return };
    assert_eq!(pat.as_str(), pattern);
    assert_eq!(PathPattern::parse(pat.as_str()).as_ref(), Ok(&pat), "round trip");
    let Ok(p) = &path else { return };
    let m = pat.matches(p);
    assert_eq!(m, model::pattern_matches(pattern, p.segments()), "{pattern:?} on {target:?}");
    let exact = PathPattern::exact(p);
    assert_eq!(exact.is_within(&pat), m, "is_within: {pattern:?} on {target:?}");
    assert_eq!(pat.overlaps(&exact), m, "overlaps: {pattern:?} on {target:?}");
    if m {
        let prefix: Vec<&str> = pat.literal_prefix().collect();
        assert!(
            p.segments().iter().map(String::as_str).take(prefix.len()).eq(prefix.iter().copied())
        );
    }
});
