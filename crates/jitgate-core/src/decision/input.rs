//! From the attributes Envoy reports to a [`CheckInput`]: the method (no overrides), the
//! normalized path, and the protected service (the route's `context_extensions.service`,
//! else the host without port). Everything odd is a deny, never a guess.

use super::method_override::query_overrides_method;
use crate::decision::{CheckInput, Deny, DenyReason};
use crate::grant::{RequestPath, check_service};

/// What the transport extracted from one CheckRequest, without proto types.
#[derive(Clone, Debug, Default)]
pub struct CheckAttributes {
    pub method: String,
    /// `:path` as Envoy normalized it, including any query string.
    pub path: String,
    pub host: String,
    /// The route's `context_extensions.service`, set by the operator in Envoy's config.
    pub service: Option<String>,
    /// Every `authorization` header value, in order.
    pub authorization: Vec<String>,
    /// A method-override header (`x-http-method-override` and friends) was present.
    pub method_override: bool,
    /// A header jitgate reads held bytes that are not valid UTF-8.
    pub invalid_header: bool,
    /// The mTLS source principal Envoy reports (e.g. a SPIFFE id).
    pub workload: Option<String>,
    /// Client-sent `x-jitgate-*` header names that must not reach the upstream.
    pub client_jitgate_headers: Vec<String>,
}

/// Headers that try to change the method after authorization.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] =
    ["x-http-method-override", "x-http-method", "x-method-override"];

/// Parses the request side of a Check; the caller is verified separately.
pub fn parse(attrs: &CheckAttributes) -> Result<CheckInput, Deny> {
    let method = &attrs.method;
    let method_ok =
        !method.is_empty() && method.len() <= 20 && method.bytes().all(|b| b.is_ascii_uppercase());
    if !method_ok {
        return Err(Deny::new(
            DenyReason::BadRequest,
            format!("method `{}` is not an upper-case HTTP method", method.escape_debug()),
        ));
    }
    if attrs.method_override || query_overrides_method(&attrs.path) {
        return Err(Deny::new(
            DenyReason::MethodOverride,
            "method overrides (`X-HTTP-Method-Override`, `_method`) are refused: send the real method",
        ));
    }
    let path = RequestPath::parse(&attrs.path)
        .map_err(|e| Deny::new(DenyReason::PathRejected, format!("path refused: {e}")))?;
    let service = service(attrs)?;
    Ok(CheckInput { service, method: method.clone(), path, one_time: false })
}

fn service(attrs: &CheckAttributes) -> Result<String, Deny> {
    if let Some(s) = &attrs.service {
        return check_service(s).map(|()| s.clone()).map_err(|e| {
            Deny::new(DenyReason::BadRequest, format!("route's `context_extensions.service`: {e}"))
        });
    }
    let host = strip_port(&attrs.host).trim_end_matches('.').to_ascii_lowercase();
    check_service(&host).map(|()| host).map_err(|e| {
        Deny::new(
            DenyReason::BadRequest,
            format!("no `context_extensions.service` and the host is unusable: {e}"),
        )
    })
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // [v6]:port — IPv6 literals are not service names; keep them whole so they fail
        // (taking what is inside the brackets made `[orders]:80` the service `orders`).
        return host;
    }
    host.rsplit_once(':')
        .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(method: &str, path: &str, host: &str, service: Option<&str>) -> CheckAttributes {
        CheckAttributes {
            method: method.into(),
            path: path.into(),
            host: host.into(),
            service: service.map(str::to_string),
            ..Default::default()
        }
    }

    fn reason(a: &CheckAttributes) -> Option<DenyReason> {
        parse(a).err().map(|d| d.reason)
    }

    #[test]
    fn service_comes_from_the_route_then_the_host() {
        let a = attrs("GET", "/x", "evil.example.com", Some("orders"));
        assert_eq!(parse(&a).unwrap().service, "orders");
        let a = attrs("GET", "/x", "Orders.Internal.:8080", None);
        assert_eq!(parse(&a).unwrap().service, "orders.internal");
        let a = attrs("GET", "/x", "orders:443", None);
        assert_eq!(parse(&a).unwrap().service, "orders");
        assert_eq!(reason(&attrs("GET", "/x", "[::1]:80", None)), Some(DenyReason::BadRequest));
        // Found by the check_request fuzz target: brackets around a name are not a service.
        for host in ["[orders]:80", "[orders]", "[orders"] {
            assert_eq!(reason(&attrs("GET", "/x", host, None)), Some(DenyReason::BadRequest));
        }
        assert_eq!(reason(&attrs("GET", "/x", "", None)), Some(DenyReason::BadRequest));
    }

    #[test]
    fn odd_methods_and_overrides_are_refused() {
        assert_eq!(reason(&attrs("get", "/x", "h", Some("s"))), Some(DenyReason::BadRequest));
        assert_eq!(reason(&attrs("", "/x", "h", Some("s"))), Some(DenyReason::BadRequest));
        assert_eq!(
            reason(&attrs("POST", "/x?_method=DELETE", "h", Some("s"))),
            Some(DenyReason::MethodOverride)
        );
        assert_eq!(
            reason(&attrs("POST", "/x?a=1&_METHOD=DELETE", "h", Some("s"))),
            Some(DenyReason::MethodOverride)
        );
        let mut a = attrs("POST", "/x", "h", Some("s"));
        a.method_override = true;
        assert_eq!(reason(&a), Some(DenyReason::MethodOverride));
    }

    #[test]
    fn method_overrides_in_encoded_query_keys_are_refused() {
        // SECURITY.md row 59: each of these reaches a framework as `_method`.
        for q in [
            "?_%6Dethod=DELETE",
            "?%5f%6d%65%74%68%6f%64=DELETE",
            "?.method=DELETE",
            "?+method=DELETE",
            "?_method%00=DELETE",
            "?_method[]=DELETE",
            "?x=1;_method=DELETE",
        ] {
            let a = attrs("POST", &format!("/orders{q}"), "h", Some("orders"));
            assert_eq!(reason(&a), Some(DenyReason::MethodOverride), "{q}");
        }
        assert!(parse(&attrs("POST", "/orders?method=x&a=_method", "h", Some("s"))).is_ok());
    }

    #[test]
    fn confusing_paths_are_refused() {
        for p in ["/a/../b", "/a%2Fb", "/a;b", "", "*"] {
            assert_eq!(
                reason(&attrs("GET", p, "h", Some("s"))),
                Some(DenyReason::PathRejected),
                "{p}"
            );
        }
    }
}
