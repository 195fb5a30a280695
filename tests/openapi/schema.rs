//! A tiny JSON Schema checker, enough for the OpenAPI document: `$ref`, `allOf`, `type`
//! (one or a list), `enum`, `required`, `properties`, `items`, `additionalProperties`.
//! Answers are checked strictly: a property an answer has but the schema does not name is an
//! error (unless the schema is an open map), so the document cannot fall behind the code.

use std::collections::BTreeSet;

use serde_json::Value;

/// The schema `r` (`#/components/...`) points at.
pub fn resolve<'a>(doc: &'a Value, r: &str) -> Option<&'a Value> {
    doc.pointer(r.strip_prefix('#')?)
}

/// Every problem of `value` against `schema`, each naming where it is (`$.grants[0].status`).
pub fn check(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(doc, schema, value, "$", true, &mut errors);
    errors
}

fn walk(doc: &Value, schema: &Value, v: &Value, at: &str, strict: bool, errors: &mut Vec<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        match resolve(doc, r) {
            Some(target) => walk(doc, target, v, at, strict, errors),
            None => errors.push(format!("{at}: unresolved $ref {r}")),
        }
        return; // siblings of `$ref` here are annotations (`default`, `description`)
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            walk(doc, s, v, at, false, errors);
        }
    }
    if let Some(t) = &schema.get("type")
        && !type_matches(t, v)
    {
        errors.push(format!("{at}: expected type {t}, got {v}"));
        return;
    }
    if let Some(e) = schema["enum"].as_array()
        && !e.contains(v)
    {
        errors.push(format!("{at}: {v} is not one of {e:?}"));
    }
    if let Some(items) = schema.get("items")
        && let Some(vs) = v.as_array()
    {
        for (i, item) in vs.iter().enumerate() {
            walk(doc, items, item, &format!("{at}[{i}]"), strict, errors);
        }
    }
    if let Some(o) = v.as_object() {
        for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !o.contains_key(key) {
                errors.push(format!("{at}: missing required `{key}`"));
            }
        }
        for (key, sub) in schema["properties"].as_object().into_iter().flatten() {
            if let Some(pv) = o.get(key) {
                walk(doc, sub, pv, &format!("{at}.{key}"), true, errors);
            }
        }
        if let Some(extra) = schema.get("additionalProperties").filter(|a| a.is_object()) {
            for (key, pv) in o {
                walk(doc, extra, pv, &format!("{at}.{key}"), true, errors);
            }
        }
        if strict {
            let known = known_properties(doc, schema);
            let open = schema.get("additionalProperties").is_some_and(Value::is_object);
            if !known.is_empty() && !open {
                for key in o.keys().filter(|k| !known.contains(k.as_str())) {
                    errors.push(format!("{at}: `{key}` is not in the schema"));
                }
            }
        }
    }
}

/// The properties a schema names, through `$ref` and `allOf`.
pub fn known_properties<'a>(doc: &'a Value, schema: &'a Value) -> BTreeSet<&'a str> {
    let mut out: BTreeSet<&str> =
        schema["properties"].as_object().into_iter().flatten().map(|(k, _)| k.as_str()).collect();
    if let Some(target) = schema["$ref"].as_str().and_then(|r| resolve(doc, r)) {
        out.extend(known_properties(doc, target));
    }
    for s in schema["allOf"].as_array().into_iter().flatten() {
        out.extend(known_properties(doc, s));
    }
    out
}

fn type_matches(t: &Value, v: &Value) -> bool {
    match t {
        Value::Array(ts) => ts.iter().any(|t| type_matches(t, v)),
        Value::String(t) => match t.as_str() {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        },
        _ => false,
    }
}

/// Every `$ref` anywhere in `v`, with where it is.
pub fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            for (k, sub) in o {
                if k == "$ref"
                    && let Some(r) = sub.as_str()
                {
                    out.push((at.to_string(), r.to_string()));
                }
                refs(sub, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, sub) in a.iter().enumerate() {
                refs(sub, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
