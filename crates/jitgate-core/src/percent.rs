//! Percent-encoding (RFC 3986) in one place: the query normal form, links into the web page
//! and the command line's URLs all escape with these.

use std::fmt::Write;

/// RFC 3986 `unreserved`: letters, digits, `-`, `.`, `_`, `~`.
pub fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Appends `%XX` (upper-case hex) for `b`.
pub fn push_escaped(out: &mut String, b: u8) {
    // Writing to a `String` cannot fail.
    let _ = write!(out, "%{b:02X}");
}

/// `s` with every byte escaped but the unreserved ones and those in `keep` (e.g. `b"/"` for a
/// readable path): the result can never end a query parameter, a path segment or the URL.
pub fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if is_unreserved(b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            push_escaped(&mut out, b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_and_kept_bytes_pass_through() {
        assert_eq!(encode("a b&c=d/é~", b""), "a%20b%26c%3Dd%2F%C3%A9~");
        assert_eq!(encode("/orders/*?x", b"/*"), "/orders/*%3Fx");
        assert_eq!(encode("%2A", b""), "%252A");
    }
}
