//! R-GRAPH-16: the test server's JSON batching
//! (https://learn.microsoft.com/en-us/graph/json-batching): each request of
//! a batch is answered under its `id` as it would be alone — a create 201,
//! a stale `If-Match` 412, a throttled one 429 with `Retry-After` — and
//! more than 20 requests are refused. Spoken raw, to check the server
//! itself; the connector's batches are in batched_creates.rs.

use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::{Value, json};

async fn batch(server: &GraphServer, token: &str, requests: Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/$batch", server.base_url()))
        .bearer_auth(token)
        .header("Prefer", crmsync_graph::PREFER_IMMUTABLE_ID)
        .json(&json!({ "requests": requests }))
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap_or(Value::Null))
}

fn response<'a>(answer: &'a Value, id: &str) -> &'a Value {
    answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id}: {answer}"))
}

#[tokio::test]
async fn r_graph_16_the_test_server_answers_each_batch_request_as_alone() {
    let server = GraphServer::start().await.unwrap();
    let folder = server.create_folder(GraphResource::Contacts, "contacts");
    let existing = server.user_create(&folder, json!({"givenName": "Old"}));
    let token = server.app_token().await.unwrap();
    let items = format!("/users/{}/contactFolders/{folder}/contacts", GraphServer::MAILBOX);
    let (status, answer) = batch(
        &server,
        &token,
        json!([
            {"id": "1", "method": "POST", "url": items, "headers": {"Content-Type": "application/json"},
             "body": {"givenName": "Ada"}},
            {"id": "2", "method": "PATCH", "url": format!("{items}/{}", existing["id"].as_str().unwrap()),
             "headers": {"Content-Type": "application/json", "If-Match": "W/\"stale\""}, "body": {"givenName": "New"}},
            {"id": "3", "method": "POST", "url": items, "headers": {"Content-Type": "application/json"},
             "body": {"givenName": "Grace"}}
        ]),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(response(&answer, "1")["status"], 201);
    assert_eq!(response(&answer, "1")["body"]["givenName"], "Ada");
    assert_eq!(response(&answer, "2")["status"], 412, "stale If-Match");
    assert_eq!(response(&answer, "3")["status"], 201);
    assert_eq!(
        server.items(&folder).len(),
        3,
        "both creates landed, the stale patch did not"
    );
    assert_eq!(
        server.item(&folder, existing["id"].as_str().unwrap()).unwrap()["givenName"],
        "Old"
    );

    // One throttled request inside the batch: 429 with Retry-After for it only.
    server.switches().throttle_next(1, 7);
    let (status, answer) = batch(
        &server,
        &token,
        json!([
            {"id": "a", "method": "GET", "url": items},
            {"id": "b", "method": "GET", "url": items}
        ]),
    )
    .await;
    assert_eq!(status, 200, "the batch itself is not throttled");
    assert_eq!(response(&answer, "a")["status"], 429);
    assert_eq!(response(&answer, "a")["headers"]["Retry-After"], "7");
    assert_eq!(response(&answer, "b")["status"], 200);

    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": items}))
        .collect();
    let (status, answer) = batch(&server, &token, Value::Array(many)).await;
    assert_eq!(status, 400, "more than 20: {answer}");
}
