//! `POST /v1.0/$batch`: JSON batching as
//! https://learn.microsoft.com/en-us/graph/json-batching documents it. The
//! body holds up to 20 `requests`, each with an `id`, `method`, a `url`
//! relative to the version root, optional `headers` and a JSON `body`; the
//! answer is 200 with one entry per request in `responses`, each with that
//! `id`, its own `status`, `headers` and `body`. Every request is answered
//! exactly as it would be alone (the outer request's token applies to all),
//! so a stale `If-Match` is a 412 and a throttled one a 429 with
//! `Retry-After` inside the batch, while the others succeed.
//!
//! Simplifications: requests run one after another in the order given
//! (Graph may run them in any order unless `dependsOn` says otherwise;
//! `dependsOn` is refused), the batch request itself is never throttled,
//! and a batch inside a batch is refused.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::Shared;
use super::routes::{error, reply};

/// The most requests one batch may hold.
pub(crate) const MAX_REQUESTS: usize = 20;

/// Answers a batch whose outer request carried `outer` headers.
pub(crate) async fn handle(shared: &Arc<Shared>, outer: &HeaderMap, body: &[u8]) -> Response {
    let bad = |message: &str| error(StatusCode::BAD_REQUEST, "BadRequest", message);
    let Ok(batch) = serde_json::from_slice::<Value>(body) else {
        return bad("Invalid batch payload format.");
    };
    let Some(requests) = batch["requests"].as_array() else {
        return bad("Invalid batch payload format.");
    };
    if requests.len() > MAX_REQUESTS {
        return bad(&format!(
            "Number of batch request steps exceeds the maximum of {MAX_REQUESTS}."
        ));
    }
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        let Some(id) = request["id"].as_str() else {
            return bad("A batch request needs an id.");
        };
        if request.get("dependsOn").is_some() {
            return bad("dependsOn is not supported by this test server.");
        }
        let answer = match one(shared, outer, request).await {
            Ok(answer) => answer,
            Err(message) => return bad(&message),
        };
        responses.push(json!({ "id": id, "status": answer.0, "headers": answer.1, "body": answer.2 }));
    }
    reply(StatusCode::OK, json!({ "responses": responses }))
}

/// One request of the batch, answered by the ordinary routes: status,
/// headers and JSON body (`null` when empty).
async fn one(shared: &Arc<Shared>, outer: &HeaderMap, request: &Value) -> Result<(u16, Value, Value), String> {
    let method = request["method"]
        .as_str()
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or("A batch request needs a method.")?;
    let url = request["url"].as_str().ok_or("A batch request needs a url.")?;
    if url.trim_start_matches('/').starts_with("$batch") {
        return Err("A batch cannot hold a batch.".into());
    }
    let uri: Uri = format!("/v1.0/{}", url.trim_start_matches('/'))
        .parse()
        .map_err(|_| format!("Invalid url {url}."))?;
    let mut headers = HeaderMap::new();
    for name in [header::AUTHORIZATION, HeaderName::from_static("prefer")] {
        if let Some(v) = outer.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    if let Some(own) = request["headers"].as_object() {
        for (k, v) in own {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let body = match &request["body"] {
        Value::Null => Bytes::new(),
        b => Bytes::from(b.to_string()),
    };
    let response = Box::pin(super::routes::answer(shared.clone(), method, uri, headers, body)).await;
    let status = response.status().as_u16();
    let mut shown = Map::new();
    for (name, value) in response.headers() {
        if let Ok(v) = value.to_str() {
            shown.insert(header_case(name.as_str()), json!(v));
        }
    }
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .map_err(|e| e.to_string())?;
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, Value::Object(shown), body))
}

/// `retry-after` → `Retry-After`, as the documented examples show them.
fn header_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}
