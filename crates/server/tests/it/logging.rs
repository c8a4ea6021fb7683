//! Requests are traced, and the bearer token never reaches the log.

use crate::common;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::World;
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn traces_requests_without_ever_logging_the_token() {
    let w = World::new().await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    w.call(Method::GET, "/api/v1/contacts", Some(&w.alice.token), None)
        .await;
    w.call(
        Method::POST,
        "/api/v1/contacts",
        Some(&w.alice.token),
        Some(json!({"last_name": 1})),
    )
    .await;
    w.call(Method::GET, "/api/v1/me", Some("crm_wrong-token-value"), None)
        .await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("/api/v1/contacts"), "requests are traced: {log}");
    assert!(
        log.contains(&w.alice.id),
        "the span names the authenticated user: {log}"
    );
    for secret in [w.alice.token.as_str(), "crm_wrong-token-value", "Bearer"] {
        assert!(!log.contains(secret), "`{secret}` leaked into the log:\n{log}");
    }
}
