//! Characters in a decoded path segment that a back end may read as path syntax, or that hide
//! from the person reading a log: compatibility look-alikes (a segment whose NFKC form gains a
//! `.`, `/`, `\`, `%`, `;`, `?` or `#`: `‥` becomes `..`, `％2e` becomes `%2e`; or that is
//! a dot segment or empty once combining marks are dropped), slash look-alikes NFKC leaves
//! alone (`∕`, `⁄`, `⧸`), and invisible format and bidi controls (zero-width spaces and
//! joiners, direction marks and overrides).
//!
//! Pure text rules; [`super::path`] applies them to every segment after percent-decoding.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Path syntax a compatibility character may turn into under NFKC.
const SYNTAX: [char; 7] = ['.', '/', '\\', '%', ';', '?', '#'];

/// Slash and backslash look-alikes that NFKC keeps as they are, which some back ends still
/// fold into `/` or `\`.
const SLASHES: [char; 5] = ['\u{2215}', '\u{2044}', '\u{29F8}', '\u{29F9}', '\u{2216}'];

/// Why a segment was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookalike {
    /// NFKC turns part of the segment into path syntax.
    Syntax,
    /// A slash or backslash look-alike.
    Slash,
    /// A zero-width, invisible or bidi control character.
    Invisible,
}

// === impl Lookalike ===

impl Lookalike {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Syntax => "a look-alike of `.`, `/`, `\\`, `%`, `;`, `?` or `#` (by NFKC)",
            Self::Slash => "a look-alike of `/` or `\\`",
            Self::Invisible => "an invisible or bidi control character",
        }
    }
}

/// Checks one percent-decoded segment; ASCII segments pass at once.
pub fn check(segment: &str) -> Result<(), Lookalike> {
    if segment.is_ascii() {
        return Ok(());
    }
    for c in segment.chars() {
        if is_invisible(c) {
            return Err(Lookalike::Invisible);
        }
        if SLASHES.contains(&c) {
            return Err(Lookalike::Slash);
        }
    }
    // Compared per character of SYNTAX, so a segment that already held a `.` (`v1.2`) is fine
    // as long as NFKC adds none.
    let folded: String = segment.nfkc().collect();
    if folded != segment && SYNTAX.iter().any(|&s| count(&folded, s) > count(segment, s)) {
        return Err(Lookalike::Syntax);
    }
    // A back end that drops combining marks reads `.\u{338}` as `.` and a lone mark as an
    // empty segment (`//`).
    let bare = folded.chars().filter(|&c| !is_combining_mark(c));
    if matches!(bare.take(3).collect::<String>().as_str(), "" | "." | "..") {
        return Err(Lookalike::Syntax);
    }
    Ok(())
}

fn count(s: &str, c: char) -> usize {
    s.chars().filter(|&x| x == c).count()
}

/// Zero-width and invisible characters, and bidi controls (explicit marks, embeddings,
/// overrides and isolates).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::{PathError, RequestPath};

    fn refused(path: &str) -> bool {
        matches!(RequestPath::parse(path), Err(PathError::Refused(_)))
    }

    #[test]
    fn nfkc_dots_and_separators_are_refused() {
        for p in [
            "/orders/pub/%E2%80%A5/secret",     // U+2025 ‥ → ..
            "/orders/pub/%EF%B9%92%EF%B9%92/x", // U+FE52 small full stop → .
            "/orders/pub/%E2%80%A4%E2%80%A4/x", // U+2024 one dot leader → .
            "/orders/pub/%E2%80%A6",            // U+2026 … → ...
            "/orders/pub/%EF%BC%8E%EF%BC%8E/x", // U+FF0E fullwidth full stop
            "/orders/pub/a%EF%BC%85%32%65",     // U+FF05 fullwidth % → %2e
            "/orders/pub/a%EF%BC%9Bx",          // U+FF1B fullwidth ;
            "/orders/pub/a%EF%BC%9Fx",          // U+FF1F fullwidth ?
            "/orders/pub/a%EF%BC%83x",          // U+FF03 fullwidth #
            "/orders/pub/a%CD%BEx",             // U+037E Greek question mark → ;
            "/orders/pub/a%EF%B9%94x",          // U+FE54 small semicolon
            "/orders/pub/a%EF%BC%8Fx",          // U+FF0F fullwidth /
            "/orders/pub/a%EF%BC%BCx",          // U+FF3C fullwidth \
            "/orders/pub/a%EF%B9%A8x",          // U+FE68 small reverse solidus
            "/orders/pub/%E2%92%88",            // U+2488 ⒈ → 1.
        ] {
            assert!(refused(p), "{p} must be refused");
        }
    }

    #[test]
    fn slash_lookalikes_nfkc_keeps_are_refused() {
        for c in SLASHES {
            let mut buf = [0; 4];
            let encoded: String =
                c.encode_utf8(&mut buf).bytes().map(|b| format!("%{b:02X}")).collect();
            assert!(refused(&format!("/orders/a{encoded}b")), "{c:?}");
            assert_eq!(check(&format!("a{c}b")), Err(Lookalike::Slash));
        }
    }

    #[test]
    fn invisible_and_bidi_controls_are_refused() {
        let controls = [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{200E}', '\u{200F}',
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{061C}', '\u{00AD}',
        ];
        for c in controls {
            assert_eq!(check(&format!(".{c}.")), Err(Lookalike::Invisible), "{c:?}");
            assert_eq!(check(&format!("a{c}")), Err(Lookalike::Invisible), "{c:?}");
        }
        assert!(refused("/orders/pub/.%E2%80%8B./secret"));
        assert!(refused("/orders/pub/%E2%80%AEtxt.exe"));
        assert!(refused("/orders/pub/%EF%BB%BF"));
    }

    #[test]
    fn a_dot_with_a_combining_mark_is_refused() {
        assert_eq!(check(".\u{338}"), Err(Lookalike::Syntax));
        assert!(refused("/orders/pub/.%CC%B8./x"));
        assert!(refused("/orders/pub/%CC%B8/x"), "a lone mark is an empty segment without it");
        assert_eq!(check("a.\u{338}b"), Ok(()), "not a dot segment either way");
    }

    #[test]
    fn ordinary_unicode_and_dots_already_there_pass() {
        for s in ["été", "v1.2", "日本語", "straße", "ﬁle", "a.b.c", "x²", "Ω"] {
            assert_eq!(check(s), Ok(()), "{s}");
        }
        assert!(RequestPath::parse("/orders/%C3%A9t%C3%A9/v1.2").is_ok());
    }
}
