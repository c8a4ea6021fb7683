//! The OpenAPI document is generated from the code, lists exactly the routes
//! the router serves, and is a structurally valid OpenAPI 3 document.

use crate::common;
use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::World;
use common::routes::{authenticated_routes, public_routes};
use serde_json::Value;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn document(w: &World) -> Value {
    let r = w.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK, "openapi.json needs no token");
    r.json
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, _) in item
            .as_object()
            .expect("path item")
            .iter()
            .filter(|(k, _)| METHODS.contains(&k.as_str()))
        {
            ops.insert((method.to_uppercase(), path.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn openapi_lists_exactly_the_served_routes() {
    let w = World::new().await;
    let doc = document(&w).await;
    let documented = operations(&doc);
    let table: BTreeSet<(String, String)> = authenticated_routes()
        .iter()
        .chain(public_routes().iter())
        .map(|r| (r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, table, "the OpenAPI document and the route table differ");

    // Every documented operation is really served: not the router's 404
    // fallback for unknown paths, not 405 for a method the path lacks.
    for (method, path) in &documented {
        let concrete = path
            .replace("{id}", "some-id")
            .replace("{name}", "some-name")
            .replace("{record_id}", "some-id")
            .replace("{token}", "some-token");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let r = w.call(method.clone(), &concrete, Some(&w.admin.token), None).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_ne!(r.error_code(), "route_not_found", "{method} {path}");
    }
    // And the fallback does answer for paths outside the table.
    let r = w
        .call(Method::GET, "/api/v1/nothing-here", Some(&w.admin.token), None)
        .await;
    assert_eq!(r.error_code(), "route_not_found");
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_document_is_valid_openapi_3() {
    let w = World::new().await;
    let doc = document(&w).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "openapi: {}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(doc["info"]["version"].as_str().is_some_and(|t| !t.is_empty()));
    let paths = doc["paths"].as_object().expect("paths object");
    assert!(!paths.is_empty());
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        let ops: Vec<_> = item
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| METHODS.contains(&k.as_str()))
            .collect();
        assert!(!ops.is_empty(), "{path} has no operation");
        for (method, op) in ops {
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: responses"));
            assert!(!responses.is_empty(), "{method} {path}: no responses");
            // Path templates and declared path parameters agree (OpenAPI requires it).
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let templated: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            assert_eq!(declared, templated, "{method} {path}: path parameters");
            // R-PERM-2: everything but the public routes declares the bearer
            // scheme; the push webhook's credential is the token in its path.
            let public = path == "/healthz" || path == "/api/v1/openapi.json" || path == "/api/v1/push/{token}";
            let secured = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|req| req.get("bearer").is_some()));
            assert_eq!(secured, !public, "{method} {path}: security");
        }
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    // Every schema reference resolves.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "dangling $ref {r}");
    }
}

fn each_operation(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op));
            }
        }
    }
    out
}

// Issue 18 items 3-6 (R-API-17): a client generator can use the document.
#[tokio::test]
async fn r_api_17_operation_ids_are_unique_and_statuses_and_constraints_are_stated() {
    let w = World::new().await;
    let doc = document(&w).await;
    let mut ids = BTreeSet::new();
    for (method, path, op) in each_operation(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
        assert!(
            ids.insert(id.to_owned()),
            "{method} {path}: operationId {id} is used twice"
        );
        assert!(
            id.chars().next().unwrap().is_ascii_lowercase() && !id.contains('_'),
            "{id} is camelCase"
        );
        let statuses = op["responses"].as_object().unwrap();
        let has = |s: &str| statuses.contains_key(s);
        assert!(has("400") && has("414"), "{method} {path}: the request guard's answers");
        if op.get("requestBody").is_some() {
            for s in ["413", "415", "422"] {
                assert!(has(s), "{method} {path}: {s} for a body");
            }
        }
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            assert!(has("401") && has("503"), "{method} {path}");
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "If-Match" {
                assert_eq!(p["schema"]["pattern"], r#"^("[0-9]{1,18}")?$"#, "{method} {path}");
            }
        }
    }
    assert!(ids.contains("listContacts") && ids.contains("getContact") && ids.contains("createUser"));
    let list = &doc["paths"]["/api/v1/contacts"]["get"];
    let param = |name: &str| {
        list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["schema"]
            .clone()
    };
    let limit = param("limit");
    assert_eq!(
        (limit["minimum"].as_i64(), limit["maximum"].as_i64()),
        (Some(1), Some(500)),
        "{limit}"
    );
    assert!(limit["type"].to_string().contains("integer"), "{limit}");
    assert_eq!(param("modified_since")["format"], "date-time");
    // Constraints of the model, and the body's control keys.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["UserFields"]["properties"]["name"]["minLength"], 1);
    assert!(
        schemas["ContactFields"]["description"]
            .as_str()
            .unwrap()
            .contains("needs a non-blank"),
        "{}",
        schemas["ContactFields"]
    );
    assert_eq!(schemas["ContactFields"]["properties"]["version"]["minimum"], 1);
    let put = &doc["paths"]["/api/v1/contacts/{id}"]["put"];
    for s in ["409", "428"] {
        assert!(put["responses"].get(s).is_some(), "PUT contact: {s}");
    }
    // Links from a create to the operations on what it made.
    let links = &doc["paths"]["/api/v1/contacts"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["getContact"]["operationId"], "getContact");
    assert_eq!(links["getContact"]["parameters"]["id"], "$response.body#/id");
    for (method, path, op) in each_operation(&doc) {
        for (status, response) in op["responses"].as_object().unwrap() {
            for (name, link) in response["links"].as_object().into_iter().flatten() {
                let target = link["operationId"].as_str().unwrap();
                assert!(
                    ids.contains(target),
                    "{method} {path} {status}: link {name} to an unknown operation"
                );
            }
        }
    }
    let push = &doc["paths"]["/api/v1/push/{token}"]["post"]["responses"];
    assert!(push.get("429").is_some(), "the webhook's rate limit");
}
