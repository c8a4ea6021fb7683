//! R-GRAPH-17..19 and R-GRAPH-5 against the test server: creates ride in
//! `$batch` requests, each answer inside a batch counts as it would alone,
//! a lost reply never makes a second item, and the UID check is answered
//! from a complete listing instead of a `$filter` per create.

use std::time::Duration;

use crate::common::{self, Endpoint};
use crmsync_connector::{CollectionId, CollectionKind, Connector, ConnectorError, Href, ItemMeta};
use crmsync_graph::{GraphConnector, UID_PROPERTY};
use crmsync_testkit::GraphServer;
use serde_json::{Value, json};

async fn folder(graph: &GraphConnector, kind: CollectionKind, name: &str) -> (CollectionId, String) {
    let coll = graph.ensure_collection(kind, name).await.expect("ensure").id;
    let id = coll.as_str().split_once(':').expect("kind:id").1.to_string();
    (coll, id)
}

/// `uids` created at once, as the runner does; each call's result in order.
async fn create_at_once(
    graph: &GraphConnector,
    coll: &CollectionId,
    uids: &[String],
) -> Vec<Result<ItemMeta, ConnectorError>> {
    let mut calls = tokio::task::JoinSet::new();
    for (i, uid) in uids.iter().enumerate() {
        let (graph, coll, uid) = (graph.clone(), coll.clone(), uid.clone());
        calls.spawn(async move {
            let body = json!({"givenName": format!("Person {uid}")}).to_string();
            (i, graph.create(&coll, &uid, body.as_bytes()).await)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = calls.join_next().await {
        results.push(joined.expect("a create task"));
    }
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn uids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// crmsync's UID of every item in the folder, sorted (duplicates show twice).
fn stored_uids(server: &GraphServer, folder: &str) -> Vec<String> {
    let mut found: Vec<String> = server
        .items(folder)
        .iter()
        .map(|item| {
            item["singleValueExtendedProperties"]
                .as_array()
                .and_then(|props| props.iter().find(|p| p["id"] == UID_PROPERTY))
                .and_then(|p| p["value"].as_str())
                .unwrap_or("<none>")
                .to_string()
        })
        .collect();
    found.sort();
    found
}

/// UID lookups (`$filter=singleValueExtendedProperties/Any(…)`) since log entry `before`;
/// `get_many`'s `$expand` filters too, but without `Any`.
fn filters_since(server: &GraphServer, before: usize) -> usize {
    server.stats().log[before..]
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains("Any"))
        .count()
}

// R-GRAPH-17: after a complete listing of an empty folder, 60 creates go out
// in a handful of `$batch` requests and ask Graph nothing before.
#[tokio::test]
async fn r_graph_17_first_sync_creates_ride_in_batches_without_lookups() {
    first_sync_creates_land_once(&Endpoint::test_server().await).await;
}

// R-GRAPH-19: the same against a real tenant.
#[tokio::test]
#[ignore = "live tenant: set CRMSYNC_GRAPH_TEST_*"]
async fn live_r_graph_17_first_sync_creates_land_once() {
    first_sync_creates_land_once(&Endpoint::live()).await;
}

async fn first_sync_creates_land_once(endpoint: &Endpoint) {
    let graph = endpoint.connector();
    let (coll, _) = folder(&graph, CollectionKind::Contacts, &endpoint.folder_name("contacts")).await;
    let listing = graph.changes(&coll, None).await.unwrap();
    assert!(listing.complete && listing.changed.is_empty());
    let before = endpoint.server().map(|s| (s.stats(), s.stats().log.len()));

    let wanted = uids("first", 60);
    let results = create_at_once(&graph, &coll, &wanted).await;
    let mut made = Vec::new();
    for (uid, result) in wanted.iter().zip(&results) {
        let meta = result.as_ref().unwrap_or_else(|e| panic!("{uid}: {e:?}"));
        made.push(meta.href.clone());
    }
    // What the folder holds, as the connector reads it: each create once,
    // with its body and crmsync's UID.
    let again = graph.changes(&coll, None).await.unwrap();
    let mut listed: Vec<Href> = again.changed.iter().map(|m| m.href.clone()).collect();
    listed.sort();
    made.sort();
    assert_eq!(listed, made, "exactly the items made, once each");
    let fetched = graph.get_many(&coll, &listed).await.unwrap();
    let mut read: Vec<(String, String)> = fetched
        .found
        .iter()
        .map(|item| {
            let body: Value = serde_json::from_slice(&item.body).unwrap();
            let uid = body["singleValueExtendedProperties"]
                .as_array()
                .and_then(|props| {
                    props
                        .iter()
                        .find(|p| p["id"].as_str().is_some_and(|id| id.eq_ignore_ascii_case(UID_PROPERTY)))
                })
                .and_then(|p| p["value"].as_str())
                .unwrap_or("<none>")
                .to_string();
            (uid, body["givenName"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    read.sort();
    let mut expected: Vec<(String, String)> = wanted.iter().map(|u| (u.clone(), format!("Person {u}"))).collect();
    expected.sort();
    assert_eq!(read, expected);

    if let (Some(server), Some((before, log_before))) = (endpoint.server(), before) {
        let after = server.stats();
        let batches = after.batches - before.batches;
        let creates_log = &after.log[log_before..];
        let posts = creates_log.iter().filter(|l| l.starts_with("POST ")).count();
        assert_eq!(filters_since(server, log_before), 0, "no UID lookup");
        assert_eq!(posts, 60 + batches as usize, "60 POSTs inside {batches} batches");
        assert!(
            (3..=6).contains(&batches),
            "60 creates in {batches} batches of at most 20"
        );
        assert!(after.max_in_flight <= 4, "R-GRAPH-4: {}", after.max_in_flight);
    }
}

// R-GRAPH-5: the UID check falls back to `$filter` wherever the listing does
// not prove a UID absent: no listing, an item the caller has not read, an
// incremental listing; and an item a crashed run left is found, not doubled.
#[tokio::test]
async fn r_graph_5_the_uid_is_looked_up_unless_a_complete_listing_was_read() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let (coll, folder) = folder(&graph, CollectionKind::Contacts, "contacts").await;
    // Left by a run that crashed after its POST landed.
    let left = server.user_create(
        &folder,
        json!({"givenName": "Left", "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": "left"}]}),
    );
    let left_id = left["id"].as_str().unwrap().to_string();

    let mut log = server.stats().log.len();
    graph.create(&coll, "a", br#"{"givenName":"A"}"#).await.unwrap();
    assert_eq!(filters_since(&server, log), 1, "never listed: looked up");

    let listing = graph.changes(&coll, None).await.unwrap();
    log = server.stats().log.len();
    graph.create(&coll, "b", br#"{"givenName":"B"}"#).await.unwrap();
    assert_eq!(filters_since(&server, log), 1, "listed items not read yet: looked up");

    let hrefs: Vec<Href> = listing.changed.iter().map(|m| m.href.clone()).collect();
    graph.get_many(&coll, &hrefs).await.unwrap();
    log = server.stats().log.len();
    graph.create(&coll, "c", br#"{"givenName":"C"}"#).await.unwrap();
    assert_eq!(
        filters_since(&server, log),
        0,
        "a complete listing, all read: no lookup"
    );

    let err = graph
        .create(&coll, "left", br#"{"givenName":"Left again"}"#)
        .await
        .expect_err("the listing showed it");
    assert!(
        matches!(&err, ConnectorError::AlreadyExists { href } if href.as_str() == left_id),
        "{err:?}"
    );

    let delta = graph.changes(&coll, Some(&listing.new_token)).await.unwrap();
    assert!(!delta.complete);
    log = server.stats().log.len();
    graph.create(&coll, "d", br#"{"givenName":"D"}"#).await.unwrap();
    assert_eq!(filters_since(&server, log), 1, "an incremental listing: looked up");
    assert_eq!(stored_uids(&server, &folder), ["a", "b", "c", "d", "left"]);
}

// R-GRAPH-18: a throttled request inside a batch waits `Retry-After` on the
// connector's clock and goes again; the others are done once.
#[tokio::test]
async fn r_graph_18_throttled_requests_inside_a_batch_are_sent_again() {
    let server = GraphServer::start().await.unwrap();
    let (graph, clock) = common::connector(&server);
    let (coll, folder) = folder(&graph, CollectionKind::Contacts, "contacts").await;
    graph.changes(&coll, None).await.unwrap();
    server.switches().throttle_next(2, 7);
    let wanted = uids("t", 5);
    for result in create_at_once(&graph, &coll, &wanted).await {
        result.expect("created after the wait");
    }
    assert_eq!(stored_uids(&server, &folder), wanted);
    assert_eq!(server.stats().throttled, 2);
    assert_eq!(clock.slept(), vec![Duration::from_secs(7)], "one wait for the batch");

    // Throttled past `max_retries` (5): rate limited, and nothing made.
    server.switches().throttle_next(100, 1);
    let err = graph
        .create(&coll, "never", br#"{"givenName":"N"}"#)
        .await
        .expect_err("gives up");
    assert!(matches!(err, ConnectorError::RateLimited { .. }), "{err:?}");
    assert_eq!(stored_uids(&server, &folder).len(), 5);
    server.switches().throttle_next(0, 1);
}

// R-GRAPH-18: a request refused inside a batch fails alone, with the error
// the same request gets alone; the batch's other creates land.
#[tokio::test]
async fn r_graph_18_a_refused_request_fails_alone_as_it_would_alone() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let (coll, folder) = folder(&graph, CollectionKind::Contacts, "contacts").await;
    graph.changes(&coll, None).await.unwrap();
    let gone = CollectionId::new("contacts:no-such-folder");
    let (good, bad) = tokio::join!(
        graph.create(&coll, "ok", br#"{"givenName":"Ok"}"#),
        graph.create(&gone, "lost", br#"{"givenName":"Lost"}"#),
    );
    good.expect("the other create lands");
    assert!(matches!(bad, Err(ConnectorError::NotFound { .. })), "{bad:?}");
    assert_eq!(server.stats().batches, 1, "both in one batch");
    assert_eq!(stored_uids(&server, &folder), ["ok"]);
}

// R-GRAPH-18, R-SAFE-2: a batch whose reply was lost, and a request inside a
// batch answered 500 after it was done, make no second item: each contact
// is looked up by UID once and reported `AlreadyExists` with the item found.
#[tokio::test]
async fn r_graph_18_a_lost_batch_reply_creates_no_duplicate() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let (coll, folder) = folder(&graph, CollectionKind::Contacts, "contacts").await;
    graph.changes(&coll, None).await.unwrap();

    server.switches().lose_next_replies(1);
    let wanted = uids("lost", 3);
    for (uid, result) in wanted.iter().zip(create_at_once(&graph, &coll, &wanted).await) {
        let err = result.expect_err("the reply was lost");
        let ConnectorError::AlreadyExists { href } = err else {
            panic!("{uid}: {err:?}")
        };
        let stored = server.item(&folder, href.as_str()).expect("the item found");
        assert_eq!(stored["givenName"], format!("Person {uid}"));
    }
    assert_eq!(server.stats().lost_replies, 1, "the fault fired");
    assert_eq!(stored_uids(&server, &folder), wanted, "each once");

    server.switches().fail_next_after_work(1);
    let more = uids("fail", 3);
    let results = create_at_once(&graph, &coll, &more).await;
    assert_eq!(server.stats().failed_after_work, 1, "the fault fired");
    let already = results
        .iter()
        .filter(|r| matches!(r, Err(ConnectorError::AlreadyExists { .. })))
        .count();
    assert_eq!(already, 1, "{results:?}");
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2, "{results:?}");
    let mut all = [wanted, more].concat();
    all.sort();
    assert_eq!(stored_uids(&server, &folder), all, "each once");
}

// R-GRAPH-18: To Do tasks cannot be looked up by UID (open extensions take
// no `$filter`): a lost reply is the caller's error, never a second POST.
#[tokio::test]
async fn r_graph_18_a_task_whose_reply_was_lost_is_not_sent_again() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let (coll, list) = folder(&graph, CollectionKind::Tasks, "tasks").await;
    graph.changes(&coll, None).await.unwrap();
    server.switches().lose_next_replies(1);
    let err = graph
        .create(&coll, "task-1", br#"{"title":"Call back"}"#)
        .await
        .expect_err("the reply was lost");
    assert!(err.is_transient(), "{err:?}");
    let titles: Vec<Value> = server.items(&list).iter().map(|t| t["title"].clone()).collect();
    assert_eq!(titles, [json!("Call back")], "done once, not sent again");
}

// R-GRAPH-5, R-GRAPH-6: a calendar's complete listing shows only the window,
// so an event crmsync made beyond it (a run crashed after the POST) is not
// in it; the calendar is scanned once for crmsync's UIDs before the first
// create, and that event is found, not made twice. The other creates of
// the pass ask nothing more.
#[tokio::test]
async fn r_graph_5_an_event_beyond_the_window_is_found_before_a_create() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let (coll, calendar) = folder(&graph, CollectionKind::Events, "calendar").await;
    let far = server.user_create(
        &calendar,
        json!({
            "subject": "Far away",
            "start": {"dateTime": "2031-01-01T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2031-01-01T11:00:00.0000000", "timeZone": "UTC"},
            "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": "far"}],
        }),
    );
    let listing = graph.changes(&coll, None).await.unwrap();
    assert!(listing.complete && listing.changed.is_empty(), "beyond the window");

    let event = |subject: &str| {
        json!({
            "subject": subject,
            "start": {"dateTime": "2026-09-22T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-09-22T11:00:00.0000000", "timeZone": "UTC"},
        })
        .to_string()
    };
    let log = server.stats().log.len();
    let err = graph
        .create(&coll, "far", event("Far again").as_bytes())
        .await
        .expect_err("the scan found it");
    assert!(
        matches!(&err, ConnectorError::AlreadyExists { href } if href.as_str() == far["id"].as_str().unwrap()),
        "{err:?}"
    );
    for uid in ["near-1", "near-2"] {
        graph.create(&coll, uid, event(uid).as_bytes()).await.unwrap();
    }
    let scans = server.stats().log[log..]
        .iter()
        .filter(|l| l.starts_with("GET ") && l.contains("/events?"))
        .count();
    assert_eq!(
        scans, 2,
        "one scan, one `$filter` for the UID it found; none for the others"
    );
    assert_eq!(filters_since(&server, log), 1);
    assert_eq!(server.items(&calendar).len(), 3);
}
