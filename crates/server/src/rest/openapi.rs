//! `GET /openapi.json`: the OpenAPI 3.1 document of every endpoint. It is written by hand in
//! `openapi.json` beside this file and compiled in; the tests below hold it to the router
//! ([`super::endpoints`]), so an endpoint cannot be added without being documented.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub async fn document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;
    use crate::rest::problem::ProblemType;

    fn doc() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
    }

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    #[test]
    fn it_is_an_openapi_3_1_document() {
        let d = doc();
        assert!(d["openapi"].as_str().unwrap().starts_with("3.1."));
        assert!(d["info"]["title"].is_string());
        assert!(d["info"]["version"].is_string());
    }

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let d = doc();
        let mut documented = BTreeSet::new();
        for (path, item) in d["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if METHODS.contains(&method.as_str()) {
                    documented.insert((path.clone(), method.to_ascii_uppercase()));
                }
            }
        }
        let routed: BTreeSet<(String, String)> = crate::rest::endpoints()
            .iter()
            .flat_map(|e| {
                e.methods
                    .iter()
                    .map(|m| (e.path.to_owned(), (*m).to_owned()))
            })
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.json: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented but not routed: {unrouted:?}"
        );
    }

    /// Every operation has a unique id, a summary and responses; every path parameter in a
    /// path is declared.
    #[test]
    fn operations_are_complete() {
        let d = doc();
        let mut ids = BTreeSet::new();
        for (path, item) in d["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
                assert!(ids.insert(id.to_owned()), "operationId {id} used twice");
                assert!(op["summary"].is_string(), "{method} {path}: no summary");
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{method} {path}: no responses"
                );
                let params: Vec<Value> = item["parameters"]
                    .as_array()
                    .into_iter()
                    .chain(op["parameters"].as_array())
                    .flatten()
                    .map(|p| resolve(&d, p).clone())
                    .collect();
                for segment in path.split('/') {
                    if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
                    {
                        assert!(
                            params
                                .iter()
                                .any(|p| p["in"] == "path" && p["name"] == name),
                            "{method} {path}: path parameter {name} is not declared"
                        );
                    }
                }
            }
        }
    }

    fn resolve<'a>(d: &'a Value, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str() {
            Some(r) => d
                .pointer(r.strip_prefix('#').unwrap())
                .unwrap_or_else(|| panic!("$ref {r} does not resolve")),
            None => v,
        }
    }

    #[test]
    fn every_reference_resolves() {
        fn walk(d: &Value, v: &Value, refs: &mut usize) {
            match v {
                Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                        let pointer = r
                            .strip_prefix('#')
                            .unwrap_or_else(|| panic!("external $ref {r}"));
                        assert!(d.pointer(pointer).is_some(), "$ref {r} does not resolve");
                        *refs += 1;
                    }
                    map.values().for_each(|v| walk(d, v, refs));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(d, v, refs)),
                _ => {}
            }
        }
        let d = doc();
        let mut refs = 0;
        walk(&d, &d, &mut refs);
        assert!(
            refs > 20,
            "only {refs} references: is the document complete?"
        );
    }

    #[test]
    fn every_problem_type_is_documented() {
        for kind in ProblemType::ALL {
            assert!(
                DOCUMENT.contains(&format!("\"{}\"", kind.uri())),
                "{} is not in openapi.json",
                kind.uri()
            );
        }
    }
}
