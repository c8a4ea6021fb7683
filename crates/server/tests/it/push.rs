//! R-SCHED-2: a groupware notification (the push webhook) or the owner's
//! push makes the scheduler run that profile, and only that one. Real
//! SQLite, real vdir folders, a real scheduler on a hand-driven clock.

use crate::common;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::service::{ServerMode, next_events, server_mode, server_mode_polling, settle};
use common::{Person, Reply, World};
use crmsync_service::RunResult;
use serde_json::{Value, json};

/// A WebDAV-Push push message (draft-bitfire-webdav-push), as a groupware
/// server POSTs it to a subscription's push resource.
const PUSH_MESSAGE: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<push-message xmlns="https://bitfire.at/webdav-push">
  <topic>O7M1nQ7cKkKTKsoS_j6Z3w</topic>
  <content-update><sync-token xmlns="DAV:">http://example.com/sync/10</sync-token></content-update>
</push-message>"#;

pub(crate) async fn person(w: &World, name: &str) -> Person {
    let (u, token) = w.store.records().create_user(common::user_fields(name)).await.unwrap();
    Person { id: u.meta.id, token }
}

/// Carol's and Dave's vdir profiles, made by the admin; their users own no
/// records, so their runs write nothing to the CRM that would trigger again.
async fn two_profiles(w: &World) -> (Person, Person, String, String) {
    let carol = person(w, "Carol").await;
    let dave = person(w, "Dave").await;
    let mut tokens = Vec::new();
    for (name, who) in [("carol", &carol), ("dave", &dave)] {
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
        tokens.push(r.json["push_token"].as_str().unwrap().to_string());
    }
    let dave_token = tokens.pop().unwrap();
    let carol_token = tokens.pop().unwrap();
    (carol, dave, carol_token, dave_token)
}

/// The webhook as a groupware server calls it: no bearer token, an XML body.
async fn webhook(w: &World, token: &str, body: &str) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/push/{token}"))
        .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
        .body(Body::from(body.to_string()))
        .unwrap();
    w.send(req).await
}

async fn ready(w: &mut World) -> (ServerMode, tokio::sync::broadcast::Receiver<crmsync_service::RunEvent>) {
    let mode = server_mode(w).await;
    let rx = mode.scheduler.subscribe();
    (mode, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_sched_2_a_push_runs_exactly_that_profile() {
    let mut w = World::new().await;
    let (mode, mut rx) = ready(&mut w).await;
    let (carol, dave, carol_token, dave_token) = two_profiles(&w).await;
    // New profiles are due at once; afterwards nothing is due for an hour.
    let first = settle(&mode.scheduler, &mut rx).await;
    assert_eq!(first.len(), 2, "{first:?}");
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());
    // The /sync routes serve the same stored profiles (R-SVC-API-6).
    let r = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/carol/run",
            Some(&carol.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());

    let r = webhook(&w, &carol_token, PUSH_MESSAGE).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    assert_eq!(r.json, json!({"triggered": true}));
    let tick = mode.scheduler.tick().await.unwrap();
    assert_eq!(tick.started, ["carol"], "only the pushed profile runs");
    let ended = next_events(&mut rx, 1).await;
    assert_eq!(ended[0].profile, "carol");
    assert!(matches!(ended[0].result, RunResult::Finished { .. }), "{ended:?}");
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());

    // Any body will do (the content is advisory), an empty one too.
    let r = webhook(&w, &dave_token, "").await;
    assert_eq!(r.json, json!({"triggered": true}));
    assert_eq!(mode.scheduler.tick().await.unwrap().started, ["dave"]);
    next_events(&mut rx, 1).await;

    // The owner's push, with the bearer token.
    let r = w
        .call(Method::POST, "/api/v1/profiles/dave/push", Some(&dave.token), None)
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.json);
    assert_eq!(mode.scheduler.tick().await.unwrap().started, ["dave"]);
    next_events(&mut rx, 1).await;
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());
}

// R-GRAPH-10, R-SCHED-2: Microsoft Graph's subscription handshake — a POST
// with `validationToken` — is answered with the token as text/plain and 200
// within the request, and runs nothing; an unknown push token still gets 404,
// so Graph refuses a subscription to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_10_the_webhook_answers_graphs_validation_handshake() {
    use tower::ServiceExt;
    let mut w = World::new().await;
    let (mode, mut rx) = ready(&mut w).await;
    let (_carol, _dave, carol_token, _) = two_profiles(&w).await;
    settle(&mode.scheduler, &mut rx).await;
    let handshake = |token: &str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/api/v1/push/{token}?validationToken=Validation%3A+Testing+client+application+reachability%20%26%20more"
            ))
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Body::empty())
            .unwrap()
    };
    let resp = w.app.clone().oneshot(handshake(&carol_token)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    assert_eq!(&body[..], b"Validation: Testing client application reachability & more");
    assert!(
        mode.scheduler.tick().await.unwrap().started.is_empty(),
        "a handshake runs nothing"
    );
    let unknown = w.app.clone().oneshot(handshake("cps_not-a-token")).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

// R-SVC-API-5: unknown or rotated tokens are 404; a profile with push off
// accepts the notification (202) but is not run before its interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_svc_api_5_unknown_tokens_and_push_off() {
    let mut w = World::new().await;
    let (mode, mut rx) = ready(&mut w).await;
    let (carol, _dave, carol_token, _) = two_profiles(&w).await;
    settle(&mode.scheduler, &mut rx).await;

    let r = webhook(&w, "cps_not-a-token", PUSH_MESSAGE).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles/carol/push-token",
            Some(&carol.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let new_token = r.json["push_token"].as_str().unwrap().to_string();
    assert_eq!(
        webhook(&w, &carol_token, PUSH_MESSAGE).await.status,
        StatusCode::NOT_FOUND
    );

    // Push off (a change: due once now, then only on its interval). The
    // admin does it: a vdir profile is the admin's to change (R-SVC-API-2).
    let got = w
        .call(Method::GET, "/api/v1/profiles/carol", Some(&carol.token), None)
        .await;
    let mut body: Value = got.json.clone();
    let keep = ["connector", "rules", "pull_interval_secs", "enabled"];
    body.as_object_mut().unwrap().retain(|k, _| keep.contains(&k.as_str()));
    body["connector"]["kind"] = got.json["connector_kind"].clone();
    body["push"] = json!(false);
    let r = w
        .call_with(
            Method::PUT,
            "/api/v1/profiles/carol",
            Some(&w.admin.token),
            Some(body),
            Some(1),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["push"], false);
    settle(&mode.scheduler, &mut rx).await;

    let r = webhook(&w, &new_token, PUSH_MESSAGE).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json, json!({"triggered": false}));
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());
    let r = w
        .call(Method::POST, "/api/v1/profiles/carol/push", Some(&carol.token), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert!(mode.scheduler.tick().await.unwrap().started.is_empty());
}

// R-PUSH-1: a contact created through the CRM API wakes the scheduler of the
// same process at once. The fallback poll is an hour long, so only the wake
// can have started the run; the clock does not move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_push_1_a_crm_edit_through_the_api_wakes_the_scheduler_without_a_poll() {
    let mut w = World::new().await;
    let mode = server_mode_polling(&mut w, std::time::Duration::from_secs(3600)).await;
    let mut rx = mode.scheduler.subscribe();
    let (carol, _dave, _, _) = two_profiles(&w).await;
    let first = settle(&mode.scheduler, &mut rx).await;
    assert_eq!(first.len(), 2, "{first:?}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let looping = {
        let scheduler = mode.scheduler.clone();
        tokio::spawn(async move {
            scheduler
                .run_until(async {
                    let _ = stopped.await;
                })
                .await
        })
    };

    let r = w
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(&carol.token),
            Some(json!({"first_name": "Ada", "last_name": "Lovelace"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let ended = next_events(&mut rx, 1).await;
    assert_eq!(ended[0].profile, "carol", "only the owner's profile: {ended:?}");
    assert!(matches!(ended[0].result, RunResult::Finished { .. }), "{ended:?}");
    let cards = std::fs::read_dir(w._dir.path().join("mailboxes/carol/contacts"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".vcf"))
        .count();
    assert_eq!(cards, 1, "the woken run wrote the new contact");
    stop.send(()).unwrap();
    looping.await.unwrap();
}
