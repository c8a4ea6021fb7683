//! A notification endpoint for tests of the subscription calls: answers
//! Graph's validation handshake (echoes `validationToken` as `text/plain`,
//! https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#notificationurl-validation)
//! and keeps every notification POSTed to it, answering 202 Accepted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

#[derive(Default)]
struct Seen {
    notifications: Vec<Value>,
    /// Answer validation with a wrong token (a misconfigured endpoint).
    refuse: bool,
}

/// A running receiver on 127.0.0.1; stopped when dropped.
pub struct NotificationReceiver {
    seen: Arc<Mutex<Seen>>,
    url: String,
    task: tokio::task::JoinHandle<()>,
}

async fn hook(
    State(seen): State<Arc<Mutex<Seen>>>,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    if let Some((_, token)) = query.iter().find(|(k, _)| k == "validationToken") {
        let refuse = seen.lock().expect("lock").refuse;
        let answer = if refuse {
            "not the token".to_string()
        } else {
            token.clone()
        };
        return (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], answer).into_response();
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) => {
            seen.lock().expect("lock").notifications.push(v);
            StatusCode::ACCEPTED.into_response()
        }
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}

impl NotificationReceiver {
    pub async fn start() -> std::io::Result<NotificationReceiver> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Seen::default()));
        let app = Router::new().route("/hook", post(hook)).with_state(seen.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(NotificationReceiver { seen, url, task })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// From now on the handshake is answered with a wrong token.
    pub fn refuse_validation(&self) {
        self.seen.lock().expect("lock").refuse = true;
    }

    /// Every notification received (each a `{"value": [...]}` collection).
    pub fn notifications(&self) -> Vec<Value> {
        self.seen.lock().expect("lock").notifications.clone()
    }

    /// Waits until at least `n` notifications arrived; the deadline only
    /// catches a hang (the sender is in-process).
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let got = self.notifications();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} notifications arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for NotificationReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
