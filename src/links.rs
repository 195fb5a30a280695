//! Links into the web page (`/ui/`), built in one place so the deny body's request hint,
//! webhook messages and the page's own hash routes agree: `#/request?service=..&method=..
//! &path=..&ttl=..` opens the request form pre-filled, `#/requests/<id>` one request.

/// `<base>/ui/#/request?...`: the request form for exactly one call, pre-filled.
pub fn request_form(base: &str, service: &str, method: &str, path: &str, ttl: &str) -> String {
    format!(
        "{}/ui/#/request?service={}&method={}&path={}&ttl={}",
        base.trim_end_matches('/'),
        escape(service),
        escape(method),
        escape(path),
        escape(ttl)
    )
}

/// `<base>/ui/#/requests/<id>`: one request's page (approve, deny, cancel).
pub fn request_page(base: &str, id: &str) -> String {
    format!("{}/ui/#/requests/{}", base.trim_end_matches('/'), escape(id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters (and `/`, `*` for
/// readable paths), so a value can never end its query parameter or the URL early.
pub fn escape(s: &str) -> String {
    crate::percent::encode(s, b"/*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_link_escapes_every_value() {
        let link = request_form("https://jit.example/", "orders", "GET", "/orders/a b&c=#", "15m");
        assert_eq!(
            link,
            "https://jit.example/ui/#/request?service=orders&method=GET&path=/orders/a%20b%26c%3D%23&ttl=15m"
        );
    }

    #[test]
    fn request_page_link() {
        assert_eq!(request_page("http://h:1", "abc-1"), "http://h:1/ui/#/requests/abc-1");
    }
}
