//! Method overrides hidden in the query string. Frameworks read `_method` after decoding the
//! key their own way (Express `method-override` through `qs`, PHP/Laravel/Symfony through
//! PHP's variable registration), so a key jitgate compares as written — `_%6Dethod`,
//! `.method`, `_method[]`, `;_method` — reaches the upstream as `_method`. Keys are read here
//! the way the most permissive of them does before comparing; an override carried in a request
//! body is outside what ext_authz sees.

/// The parameter method-override middleware reads.
const OVERRIDE_KEY: &str = "_method";

/// Decoding passes before giving up on a key (each pass undoes one layer of `%25`).
const MAX_PASSES: usize = 4;

/// True when any query parameter of `path_and_query` names `_method` once decoded.
pub fn query_overrides_method(path_and_query: &str) -> bool {
    let Some((_, query)) = path_and_query.split_once('?') else { return false };
    query.split(['&', ';']).any(|pair| {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        names_override(key)
    })
}

/// True when `key`, decoded and folded as frameworks do, is `_method`.
fn names_override(key: &str) -> bool {
    let decoded = decode(key);
    // PHP: everything from a NUL on is dropped, `name[...]` is an array under `name`, leading
    // spaces go, and `.` and space become `_`. `qs` also reads `name[]` as `name`.
    let name = decoded.split('\0').next().unwrap_or("");
    let name = name.split('[').next().unwrap_or("");
    [name, name.trim_start_matches(' ')].iter().any(|n| {
        n.len() == OVERRIDE_KEY.len()
            && n.chars()
                .map(|c| if c == '.' || c == ' ' { '_' } else { c })
                .zip(OVERRIDE_KEY.chars())
                .all(|(a, b)| a.eq_ignore_ascii_case(&b))
    })
}

/// `+` as space and percent-decoding, repeated until nothing changes (bounded); bad escapes
/// stay as written, and bytes that are not UTF-8 become U+FFFD.
fn decode(key: &str) -> String {
    let mut current = key.to_string();
    for _ in 0..MAX_PASSES {
        if !current.contains(['%', '+']) {
            break;
        }
        let next = decode_once(&current);
        if next == current {
            break;
        }
        current = next;
    }
    current
}

fn decode_once(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        // Two hex digits: `from_str_radix` alone would also take `+1`.
        let escaped = tail
            .get(..2)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, escaped) {
            (b'%', Some(v)) => {
                out.push(v);
                rest = tail.get(2..).unwrap_or_default();
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_encoded_method_keys_are_overrides() {
        for q in [
            "/x?_method=DELETE",
            "/x?a=1&_METHOD=DELETE",
            "/x?%5Fmethod=DELETE",
            "/x?_%6Dethod=DELETE",
            "/x?%5f%6d%65%74%68%6f%64=DELETE",
            "/x?%255Fmethod=DELETE",
            "/x?%25255F%2525%36Dethod=DELETE",
            "/x?_method",
            "/x?_method=",
        ] {
            assert!(query_overrides_method(q), "{q}");
        }
    }

    #[test]
    fn php_and_qs_spellings_are_overrides() {
        for q in [
            "/x?.method=DELETE",
            "/x?+method=DELETE",
            "/x?%20method=DELETE",
            "/x?++_method=DELETE",
            "/x?_method%00=DELETE",
            "/x?_method%00junk=DELETE",
            "/x?_method[]=DELETE",
            "/x?_method[x]=DELETE",
            "/x?_method%5B%5D=DELETE",
            "/x?.METHOD[=DELETE",
            "/x?x=1;_method=DELETE",
            "/x?x=1;%5Fmethod=DELETE",
        ] {
            assert!(query_overrides_method(q), "{q}");
        }
    }

    #[test]
    fn other_keys_and_values_are_not_overrides() {
        for q in [
            "/x",
            "/x?",
            "/x?method=DELETE",
            "/x?a=_method",
            "/x?x_method=DELETE",
            "/x?_methods=DELETE",
            "/x?_meth%6Fd2=DELETE",
            "/x?_method_=DELETE",
            "/x?%zz_method=DELETE",
            "/x?a[_method]=DELETE",
        ] {
            assert!(!query_overrides_method(q), "{q}");
        }
    }

    #[test]
    fn decoding_is_bounded() {
        let deep = format!("{}5Fmethod", "%25".repeat(50));
        assert!(!query_overrides_method(&format!("/x?{deep}=1")));
        assert_eq!(decode("%2541"), "A");
        assert_eq!(decode("a%4"), "a%4");
    }
}
