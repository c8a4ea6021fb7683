//! R-SVC-7 through the API: a profile's password and its push token appear
//! in no response (create, get, list, status, errors, failed runs) and in no
//! log line written meanwhile. The runs fail (the DAV port refuses
//! connections), so the connector's error paths are the ones exercised.

use crate::common;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use common::World;
use common::service::{next_events, server_mode};
use crmsync_service::{Clock, RunResult};
use serde_json::json;

const PASSWORD: &str = "pw-Zebra-7f3a9c11-never-shown";

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

/// A port that was free a moment ago: connections to it are refused.
fn refused_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    format!("http://127.0.0.1:{port}/dav/")
}

// Current-thread runtime: the scheduler's run tasks execute on this thread,
// so the thread-local subscriber sees their log lines too.
#[tokio::test]
async fn r_svc_7_no_response_and_no_log_line_holds_the_password_or_push_token() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let mut rx = mode.scheduler.subscribe();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let alice = Some(w.alice.token.as_str());
    let body = json!({
        "name": "alice-dav",
        "connector": {
            "kind": "dav", "url": refused_url(), "username": "alice", "password": PASSWORD,
            "timeout_secs": 5,
            "retry": {"max_retries": 0, "base_delay_ms": 1, "max_delay_ms": 1, "max_retry_after_secs": 1},
        },
    });
    let created = w
        .call(Method::POST, "/api/v1/profiles", alice, Some(body.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    let push_token = created.json["push_token"].as_str().unwrap().to_string();
    let mut responses = vec![created.json.clone()];

    // Errors that carry the body back: a duplicate, a bad field.
    responses.push(
        w.call(Method::POST, "/api/v1/profiles", alice, Some(body.clone()))
            .await
            .json,
    );
    let mut bad = body.clone();
    bad["pull_interval_secs"] = json!(1);
    responses.push(w.call(Method::POST, "/api/v1/profiles", alice, Some(bad)).await.json);
    // A push through the webhook (its token is in the path), then the run.
    let pushed = w
        .call(Method::POST, &format!("/api/v1/push/{push_token}"), None, None)
        .await;
    assert_eq!(pushed.status, StatusCode::ACCEPTED, "{:?}", pushed.json);
    let tick = mode.scheduler.tick().await.unwrap();
    assert_eq!(tick.started, ["alice-dav"]);
    let ended = next_events(&mut rx, 1).await;
    let RunResult::Failed { message, .. } = &ended[0].result else {
        panic!("the run should fail: {ended:?}");
    };
    assert!(!message.contains(PASSWORD), "{message}");

    // A run through the /sync routes, which read the database's profiles.
    let run = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/alice-dav/run",
            alice,
            Some(json!({})),
        )
        .await;
    assert!(run.status.is_server_error(), "{} {:?}", run.status, run.json);
    responses.push(run.json);
    for path in ["/api/v1/profiles", "/api/v1/profiles/alice-dav", "/api/v1/sync/status"] {
        let r = w.call(Method::GET, path, alice, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        responses.push(r.json);
    }
    // #4: the status shows the scheduler's view: the failed run and the retry.
    let status = responses.last().unwrap();
    let schedule = &status[0]["schedule"];
    assert_eq!(schedule["failures"], 1, "{status}");
    assert_eq!(schedule["state"], "ok", "failing only from the third failure (R-SVC-2)");
    assert!(schedule["last_run_at"].is_string(), "{status}");
    let next: chrono::DateTime<chrono::Utc> = schedule["next_run_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        next,
        mode.clock.now() + chrono::Duration::seconds(60),
        "retried after 60 s (R-SVC-2)"
    );

    for r in &responses {
        let text = r.to_string();
        assert!(!text.contains(PASSWORD), "a response shows the password: {text}");
        assert!(
            !text.contains(&push_token) || r == &created.json,
            "the push token is shown once: {text}"
        );
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("alice-dav"), "the runs were logged: {log}");
    assert!(
        log.contains("/api/v1/push/{token}"),
        "the webhook is traced without its token: {log}"
    );
    for secret in [PASSWORD, push_token.as_str()] {
        assert!(!log.contains(secret), "`{secret}` leaked into the log:\n{log}");
    }
}
