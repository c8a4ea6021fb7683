//! R-SCHED-2, R-GRAPH-11..15: push from Microsoft Graph end to end. The API
//! router with a real scheduler on a hand-driven clock is served on
//! 127.0.0.1 as `server.public_url`; the Graph test server validates and
//! delivers to it. The scheduler subscribes a Graph profile's collections,
//! a change notification makes the profile run, a forged one does not,
//! subscriptions are renewed on the clock, re-created after Graph removed
//! them, and deleted when the profile is disabled or deleted. The stored
//! subscriptions are checked on SQLite and PostgreSQL.

use std::time::{Duration, Instant};

use crate::common;
use axum::http::{Method, StatusCode};
use chrono::{DateTime, Utc};
use common::service::{ServerMode, next_events, server_mode_public, settle};
use common::{Reply, World};
use crmsync_service::{Clock as _, RunEvent, SubscriptionReport};
use crmsync_testkit::{GraphDelivery as Delivery, GraphServer};
use serde_json::{Value, json};
use tokio::sync::broadcast::Receiver;

pub(crate) const PROFILE: &str = "anna-graph";

pub(crate) fn connector(graph: &GraphServer) -> Value {
    json!({"kind": "graph", "tenant": GraphServer::TENANT, "mailbox": GraphServer::MAILBOX,
           "client_id": GraphServer::CLIENT_ID, "client_secret": GraphServer::CLIENT_SECRET,
           "base_url": graph.base_url(), "authority": graph.authority()})
}

fn profile_body(graph: &GraphServer, w: &World, enabled: bool) -> Value {
    json!({"name": PROFILE, "user_id": w.alice.id, "connector": connector(graph),
           "pull_interval_secs": 3600, "push": true, "enabled": enabled})
}

pub(crate) struct Setup {
    pub graph: GraphServer,
    pub mode: ServerMode,
    pub rx: Receiver<RunEvent>,
    pub public_url: String,
    _api: tokio::task::JoinHandle<()>,
}

/// The router served on a free port as the public URL, the Graph test
/// server on the same clock, and a Graph profile of Alice's that ran once
/// (so its collections exist and are remembered).
async fn setup(w: &mut World) -> Setup {
    setup_with(w, |graph, w| profile_body(graph, w, true)).await
}

/// [`setup`] with the profile `body` gives.
pub(crate) async fn setup_with(w: &mut World, body: impl FnOnce(&GraphServer, &World) -> Value) -> Setup {
    let graph = GraphServer::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", listener.local_addr().unwrap());
    let mode = server_mode_public(w, &public_url).await;
    graph.set_now(mode.clock.now());
    let app = w.app.clone();
    let api = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut rx = mode.scheduler.subscribe();
    let r = w
        .call(
            Method::POST,
            "/api/v1/profiles",
            Some(&w.admin.token),
            Some(body(&graph, &*w)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let ran = settle(&mode.scheduler, &mut rx).await;
    assert!(!ran.is_empty(), "the new profile ran");
    Setup {
        graph,
        mode,
        rx,
        public_url,
        _api: api,
    }
}

pub(crate) async fn refresh(s: &Setup) -> SubscriptionReport {
    s.mode.scheduler.refresh_subscriptions().await.expect("refresh")
}

/// Waits until Graph has made `n` deliveries in all; the deadline only
/// turns a hang into a failure (the sender is in-process).
async fn deliveries(graph: &GraphServer, n: usize) -> Vec<Delivery> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got = graph.deliveries();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "only {} of {n} deliveries", got.len());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub(crate) fn expiry(sub: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(sub["expirationDateTime"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

async fn post_raw(url: &str, body: Value) -> Reply {
    let resp = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap();
    let headers = axum::http::HeaderMap::new();
    let json = resp.json().await.unwrap_or(Value::Null);
    Reply { status, headers, json }
}

// R-GRAPH-11, R-GRAPH-12, R-GRAPH-13: subscribe on enable, a notification
// runs the profile, a forged one does not, renewal on the clock, removal on
// disable; the stored rows hold hashes only.
on_both!(r_graph_11_12_13_subscriptions_follow_the_profile, |w| {
    let mut s = setup(&mut w).await;

    // Subscribed: one per remembered collection, validated at our URL.
    let made = refresh(&s).await;
    assert!(!made.created.is_empty(), "{made:?}");
    assert!(made.failed.is_empty(), "{made:?}");
    let subs = s.graph.subscriptions();
    assert_eq!(subs.len(), made.created.len());
    assert!(s.graph.validations() >= subs.len() as u64);
    let stored = w.store.sync_state().push_subscriptions(Some(PROFILE)).await.unwrap();
    assert_eq!(stored.len(), subs.len());
    for sub in &subs {
        let url = sub["notificationUrl"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/api/v1/push/", s.public_url)), "{url}");
        let state = sub["clientState"].as_str().unwrap();
        let row = stored
            .iter()
            .find(|r| r.subscription_id.as_deref() == sub["id"].as_str())
            .expect("stored with Graph's id");
        assert_eq!(
            row.client_state_hash,
            crmsync_store::hash_token(state),
            "only the hash is kept"
        );
        assert_ne!(row.client_state_hash, state);
    }
    assert_eq!(
        refresh(&s).await,
        SubscriptionReport::default(),
        "nothing to do until renewal"
    );

    // A change in Outlook → Graph notifies → the profile runs.
    let contacts = subs
        .iter()
        .find(|v| v["resource"].as_str().unwrap().ends_with("/contacts"))
        .expect("the contacts folder is subscribed");
    let folder = contacts["resource"]
        .as_str()
        .unwrap()
        .split('/')
        .nth(3)
        .unwrap()
        .to_string();
    s.graph
        .user_create(&folder, json!({"givenName": "Nora", "surname": "Notified"}));
    let sent = deliveries(&s.graph, 1).await;
    assert_eq!(sent[0].status, Some(202), "{sent:?}");
    let tick = s.mode.scheduler.tick().await.unwrap();
    assert_eq!(tick.started, [PROFILE], "the notification made the profile due");
    next_events(&mut s.rx, 1).await;
    settle(&s.mode.scheduler, &mut s.rx).await;

    // A forged notification (wrong clientState) is answered, runs nothing, is counted.
    let url = contacts["notificationUrl"].as_str().unwrap();
    let forged = json!({"value": [{"subscriptionId": contacts["id"], "clientState": "guessed",
        "changeType": "updated", "resource": "x", "tenantId": "t"}]});
    let r = post_raw(url, forged).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json, json!({"triggered": false}), "nothing was marked due");
    assert!(
        s.mode
            .scheduler
            .metrics()
            .render()
            .contains("crmsync_rejected_notifications_total 1"),
        "counted"
    );

    // Renewal: nothing before nine tenths of the lifetime, all after.
    let before: Vec<DateTime<Utc>> = s.graph.subscriptions().iter().map(expiry).collect();
    s.mode.clock.advance(chrono::Duration::minutes(3700));
    s.graph.set_now(s.mode.clock.now());
    assert!(refresh(&s).await.renewed.is_empty(), "not yet due");
    s.mode.clock.advance(chrono::Duration::minutes(200));
    s.graph.set_now(s.mode.clock.now());
    let renewed = refresh(&s).await;
    assert_eq!(renewed.renewed.len(), subs.len(), "{renewed:?}");
    let after: Vec<DateTime<Utc>> = s.graph.subscriptions().iter().map(expiry).collect();
    assert_eq!(s.graph.subscriptions().len(), subs.len(), "the same subscriptions");
    assert!(after.iter().min() > before.iter().max(), "{before:?} → {after:?}");

    // Disabled: every subscription is deleted on Graph and forgotten.
    let path = format!("/api/v1/profiles/{PROFILE}");
    let read = w.call(Method::GET, &path, Some(&w.admin.token), None).await;
    let version: i64 = read.etag().unwrap().trim_matches('"').parse().unwrap();
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.admin.token),
            Some(profile_body(&s.graph, &w, false)),
            Some(version),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let gone = refresh(&s).await;
    assert_eq!(gone.deleted.len(), subs.len(), "{gone:?}");
    assert!(s.graph.subscriptions().is_empty());
    assert!(
        w.store
            .sync_state()
            .push_subscriptions(Some(PROFILE))
            .await
            .unwrap()
            .is_empty()
    );
    // A notification to a deleted subscription's URL finds nothing.
    let r = post_raw(url, json!({"value": []})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
});

// R-GRAPH-14: lifecycle notifications — `reauthorizationRequired` renews at
// the next pass, `subscriptionRemoved` re-creates and runs, `missed` runs;
// then push turned off deletes the subscriptions (R-GRAPH-13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_14_lifecycle_notifications_renew_recreate_and_resync() {
    let mut w = World::new().await;
    let mut s = setup(&mut w).await;
    refresh(&s).await;
    let subs = s.graph.subscriptions();
    let first = subs[0]["id"].as_str().unwrap().to_string();

    assert_eq!(
        s.graph.send_lifecycle(&first, "reauthorizationRequired").await,
        Some(202)
    );
    assert!(s.mode.scheduler.tick().await.unwrap().started.is_empty(), "no run");
    let renewed = refresh(&s).await;
    assert_eq!(renewed.renewed.len(), 1, "{renewed:?}");
    assert!(renewed.created.is_empty());

    assert_eq!(s.graph.send_lifecycle(&first, "missed").await, Some(202));
    assert_eq!(s.mode.scheduler.tick().await.unwrap().started, [PROFILE]);
    next_events(&mut s.rx, 1).await;
    settle(&s.mode.scheduler, &mut s.rx).await;

    assert_eq!(s.graph.send_lifecycle(&first, "subscriptionRemoved").await, Some(202));
    assert_eq!(
        s.mode.scheduler.tick().await.unwrap().started,
        [PROFILE],
        "a run catches up"
    );
    next_events(&mut s.rx, 1).await;
    settle(&s.mode.scheduler, &mut s.rx).await;
    let again = refresh(&s).await;
    assert_eq!(again.created.len(), 1, "{again:?}");
    let now = s.graph.subscriptions();
    assert_eq!(now.len(), subs.len());
    assert!(now.iter().all(|v| v["id"] != first.as_str()), "a new subscription");

    // Push turned off (R-GRAPH-13): the subscriptions go.
    let path = format!("/api/v1/profiles/{PROFILE}");
    let read = w.call(Method::GET, &path, Some(&w.admin.token), None).await;
    let version: i64 = read.etag().unwrap().trim_matches('"').parse().unwrap();
    let mut body = profile_body(&s.graph, &w, true);
    body["push"] = json!(false);
    let r = w
        .call_with(Method::PUT, &path, Some(&w.admin.token), Some(body), Some(version))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(refresh(&s).await.deleted.len(), subs.len());
    assert!(s.graph.subscriptions().is_empty());
}

// R-GRAPH-15: only the holder of the profile's lease manages its
// subscriptions; deleting the profile over the API deletes them on Graph first.
on_both!(r_graph_15_the_lease_holder_manages_and_deletion_unsubscribes, |w| {
    let s = setup(&mut w).await;
    let now = s.mode.clock.now();
    let held = w
        .store
        .catalog()
        .take_lease(PROFILE, "another-worker", now, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(matches!(held, crmsync_store::LeaseTake::Taken { .. }), "{held:?}");
    let busy = refresh(&s).await;
    assert_eq!(busy.busy, [PROFILE]);
    assert!(
        busy.created.is_empty() && s.graph.subscriptions().is_empty(),
        "{busy:?}"
    );
    assert!(w.store.catalog().return_lease(PROFILE, "another-worker").await.unwrap());
    assert!(!refresh(&s).await.created.is_empty());
    let r = w
        .call(
            Method::DELETE,
            &format!("/api/v1/profiles/{PROFILE}"),
            Some(&w.admin.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.json);
    assert!(s.graph.subscriptions().is_empty(), "deleted on Graph");
    assert!(w.store.sync_state().push_subscriptions(None).await.unwrap().is_empty());
});
