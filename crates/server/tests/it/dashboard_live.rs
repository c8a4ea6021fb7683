//! R-WEB-12: the home page's live updates. `/events` streams a
//! `run-finished` event for each run of the user's profiles that the
//! server's scheduler finishes, and nothing of other users' profiles.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::service::{server_mode, settle};
use common::{Person, World};
use futures_util::StreamExt as _;
use serde_json::json;
use tower::ServiceExt as _;

use crate::common;
use crate::dashboard::{get, post, send, sign_in};
use crate::push::person;

/// `name`, a vdir profile of `who` made by the admin over the API, pulled
/// hourly (so nothing runs on its own during a test after the first run).
pub(crate) async fn vdir_profile(w: &World, name: &str, who: &Person) {
    let root = w._dir.path().join("mailboxes").join(name);
    std::fs::create_dir_all(&root).unwrap();
    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.admin.token),
            Some(json!({
                "name": name, "user_id": who.id,
                "connector": {"kind": "vdir", "root": root},
                "pull_interval_secs": 3600,
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
}

/// The next event of an SSE body, as its text; the time-out only turns a
/// hang into a failure.
async fn next_event(body: &mut axum::body::BodyDataStream) -> String {
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(120), body.next())
            .await
            .expect("an event should have come")
            .expect("the stream stays open")
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_12_events_name_the_users_finished_runs_only() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let mut rx = mode.scheduler.subscribe();
    let carol = person(&w, "Carol").await;
    let dave = person(&w, "Dave").await;
    for (name, who) in [("carol", &carol), ("dave", &dave)] {
        vdir_profile(&w, name, who).await;
    }
    // New profiles are due at once: let those runs end before listening.
    settle(&mode.scheduler, &mut rx).await;

    let session = sign_in(&w, &dave.token).await;
    let home = get(&w, &session, "/").await;
    assert!(home.html.contains("id=\"profiles\""), "{}", home.html);
    assert!(home.html.contains("src=\"/assets/live.js\""), "{}", home.html);
    let script = send(&w, Method::GET, "/assets/live.js", &[], None).await;
    assert!(script.html.contains("run-finished"), "{}", script.html);

    let events = w
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/events")
                .header(header::COOKIE, session.cookies().join("; "))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = events.into_body().into_data_stream();

    // Carol's run first, then Dave's: Dave hears of his own only.
    for name in ["carol", "dave"] {
        mode.scheduler.notify(&[name.to_string()]).await.unwrap();
        let ended = settle(&mode.scheduler, &mut rx).await;
        assert_eq!(ended.len(), 1, "{ended:?}");
    }
    let event = next_event(&mut body).await;
    assert!(event.contains("event: run-finished\ndata: dave\n"), "{event}");

    // After sign-out the stream ends at the next run instead of telling it.
    let out = post(&w, &session, "/sign-out", &[("csrf", &session.csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    mode.scheduler.notify(&["dave".to_string()]).await.unwrap();
    assert_eq!(settle(&mode.scheduler, &mut rx).await.len(), 1);
    let end = tokio::time::timeout(Duration::from_secs(120), body.next())
        .await
        .expect("the stream should end");
    assert!(end.is_none(), "no event after sign-out: {end:?}");

    // Without a session the stream is not opened.
    let anonymous = send(&w, Method::GET, "/events", &[], None).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
}

/// An open `/events` stream, read event by event (a chunk may hold several,
/// keep-alive comments are skipped).
struct Events {
    body: axum::body::BodyDataStream,
    buffer: String,
}

impl Events {
    async fn open(w: &World, session: &crate::dashboard::Session) -> Events {
        let events = w
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .uri("/events")
                    .header(header::COOKIE, session.cookies().join("; "))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(events.status(), StatusCode::OK);
        Events {
            body: events.into_body().into_data_stream(),
            buffer: String::new(),
        }
    }

    /// The data of the next `run-finished` event; the time-out only turns a
    /// hang into a failure.
    async fn next_run(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                if event.starts_with(':') {
                    continue;
                }
                let data = event
                    .strip_prefix("event: run-finished\ndata: ")
                    .unwrap_or_else(|| panic!("not a run-finished event: {event:?}"));
                return data.trim_end().to_string();
            }
            let chunk = tokio::time::timeout(Duration::from_secs(120), self.body.next())
                .await
                .expect("an event should have come")
                .expect("the stream stays open")
                .unwrap();
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

// R-WEB-21: a run another worker finishes (a second scheduler on the same
// database, sharing nothing in memory with the server, as `crmsync worker`)
// reaches the server's `/events` streams; each user hears of their own
// profiles only, and a run of the server's own scheduler is told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_21_runs_of_other_workers_reach_the_stream_once() {
    let mut w = World::new().await;
    let mode = server_mode(&mut w).await;
    let other = common::service::other_worker(&mode, "other-worker").await;
    let mut own_rx = mode.scheduler.subscribe();
    let mut other_rx = other.subscribe();
    let carol = person(&w, "Carol").await;
    let dave = person(&w, "Dave").await;
    for (name, who) in [("carol", &carol), ("dave", &dave), ("dave-2", &dave)] {
        vdir_profile(&w, name, who).await;
    }
    // The first runs, due at creation, end before anyone listens.
    assert_eq!(settle(&other, &mut other_rx).await.len(), 3);
    let mut daves = Events::open(&w, &sign_in(&w, &dave.token).await).await;
    let mut carols = Events::open(&w, &sign_in(&w, &carol.token).await).await;

    // The server's scheduler runs "dave", then the other worker "dave-2"
    // and "carol".
    mode.scheduler.notify(&["dave".to_string()]).await.unwrap();
    assert_eq!(settle(&mode.scheduler, &mut own_rx).await.len(), 1);
    for name in ["dave-2", "carol"] {
        other.notify(&[name.to_string()]).await.unwrap();
        assert_eq!(settle(&other, &mut other_rx).await.len(), 1);
    }
    assert_eq!(daves.next_run().await, "dave");
    assert_eq!(daves.next_run().await, "dave-2", "the server's own run is told once");
    assert_eq!(carols.next_run().await, "carol", "nothing of dave's profiles");
}
