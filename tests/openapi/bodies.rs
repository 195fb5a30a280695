//! Request body schemas against what the server parses: a closed schema
//! (`additionalProperties: false`) names exactly the fields serde accepts (its "unknown field"
//! error lists them), and `{}` is refused for a missing field the schema marks required, or
//! accepted past parsing when it marks none.

use axum::http::StatusCode;
use serde_json::Value;

use super::common::router::{admin, app, call};
use super::{doc, fill, operations, schema};

/// The fields an "unknown field `x`, expected one of `a`, `b`" message names after `expected`.
fn expected_fields(message: &str) -> Vec<String> {
    let (_, rest) = message.split_once("expected").unwrap_or(("", ""));
    rest.split('`').skip(1).step_by(2).map(String::from).collect()
}

#[tokio::test]
async fn request_body_schemas_match_what_the_server_parses() {
    let (app, doc, admin) = (app(), doc(), admin());
    let mut checked = 0;
    for (path, method, op) in operations(&doc) {
        let Some(r) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
        else {
            continue;
        };
        let body = schema::resolve(&doc, r).unwrap();
        let (m, uri) = (method.to_uppercase(), fill(&path));
        let at = format!("{m} {path} ({r})");
        assert_eq!(
            body["additionalProperties"], false,
            "{at}: every body type denies unknown fields"
        );
        let (status, e, _) = call(&app, &m, &uri, Some(&admin), Some(r#"{"zz_unknown": 1}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{at}: {e}");
        let message = e["message"].as_str().unwrap();
        assert!(message.contains("unknown field `zz_unknown`"), "{at}: {message}");
        let mut accepted = expected_fields(message);
        accepted.sort();
        let documented: Vec<String> =
            schema::known_properties(&doc, body).into_iter().map(String::from).collect();
        assert_eq!(accepted, documented, "{at}: the fields serde accepts vs the schema's");

        let required: Vec<&str> =
            body["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let (status, e, _) = call(&app, &m, &uri, Some(&admin), Some("{}")).await;
        let message = e["message"].as_str().unwrap_or_default();
        if required.is_empty() {
            assert!(!message.contains("missing field"), "{at}: {{}} refused: {e}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{at}: {e}");
            let missing = message.split('`').nth(1).unwrap_or_default();
            assert!(message.contains("missing field"), "{at}: {message}");
            assert!(required.contains(&missing), "{at}: `{missing}` is required but not marked");
        }
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} bodies checked");
}
