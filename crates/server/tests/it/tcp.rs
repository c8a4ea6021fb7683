//! The API over a real TCP socket with a real HTTP client: what a deployed
//! server does, including graceful shutdown.

use crate::common;
use common::{TEST_MAX_BODY, World};
use crmsync_server::{AppState, serve};
use serde_json::{Value, json};

#[tokio::test]
async fn serves_over_tcp_and_shuts_down_gracefully() {
    let w = World::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = AppState::new(w.store.clone()).with_max_body_bytes(TEST_MAX_BODY);
    let server = tokio::spawn(serve(listener, state, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let anonymous = client.get(format!("{base}/api/v1/contacts")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(
        anonymous.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let created = client
        .post(format!("{base}/api/v1/contacts"))
        .bearer_auth(&w.alice.token)
        .json(&json!({"last_name": "Socket"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let contact: Value = created.json().await.unwrap();
    let url = format!("{base}/api/v1/contacts/{}", contact["id"].as_str().unwrap());

    let updated = client
        .put(&url)
        .bearer_auth(&w.alice.token)
        .header("If-Match", &etag)
        .json(&json!({"last_name": "Socket", "first_name": "Web"}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);

    // The same ETag again is stale now: 409, and the record keeps the first update.
    let stale = client
        .put(&url)
        .bearer_auth(&w.alice.token)
        .header("If-Match", &etag)
        .json(&json!({"last_name": "Overwritten"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    let body: Value = stale.json().await.unwrap();
    assert_eq!(body["error"]["code"], "version_conflict");
    let now: Value = client
        .get(&url)
        .bearer_auth(&w.alice.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (now["last_name"].as_str(), now["first_name"].as_str()),
        (Some("Socket"), Some("Web"))
    );

    // reqwest declares Content-Length: refused before the body is read.
    let big = json!({"last_name": "x".repeat(TEST_MAX_BODY)});
    let r = client
        .post(format!("{base}/api/v1/contacts"))
        .bearer_auth(&w.alice.token)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    stop.send(()).unwrap();
    server.await.unwrap().expect("serve ends cleanly after shutdown");
}
