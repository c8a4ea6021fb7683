//! The Graph connector against the test server's documented behaviours and
//! injected faults (docs/RULES.md R-GRAPH-*). Time is the connector's manual
//! clock: no test sleeps.

use crate::common;
use std::time::Duration;

use crmsync_connector::{CollectionKind, Connector, ConnectorError, Href};
use crmsync_graph::GraphConnector;
use crmsync_testkit::GraphServer;
use serde_json::json;

async fn contacts(graph: &GraphConnector) -> crmsync_connector::CollectionId {
    graph
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("ensure contacts")
        .id
}

fn folder_of(collection: &crmsync_connector::CollectionId) -> String {
    collection.as_str().split_once(':').expect("kind:id").1.to_string()
}

// R-GRAPH-3: a round follows every nextLink, empty pages included, and its
// deltaLink is the token; a later round shows only what changed.
#[tokio::test]
async fn r_graph_3_delta_follows_next_links_through_empty_pages() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let coll = contacts(&graph).await;
    let folder = folder_of(&coll);
    let ids: Vec<String> = (0..5)
        .map(|i| {
            server.user_create(&folder, json!({"givenName": format!("P{i}")}))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    server.switches().set_page_size(2);
    server.switches().set_empty_pages(true);

    let full = graph.changes(&coll, None).await.expect("full listing");
    assert!(full.complete);
    let mut listed: Vec<String> = full.changed.iter().map(|m| m.href.to_string()).collect();
    listed.sort();
    assert_eq!(listed, ids);
    let pages = server
        .stats()
        .log
        .iter()
        .filter(|l| l.contains("/contacts/delta"))
        .count();
    assert!(pages >= 6, "3 pages of rows and their empty pages, got {pages}");
    assert!(
        full.new_token.as_str().contains("$deltatoken="),
        "the token is the deltaLink"
    );

    server.user_update(&folder, &ids[1], json!({"givenName": "Changed"}));
    server.user_delete(&folder, &ids[2]);
    let delta = graph.changes(&coll, Some(&full.new_token)).await.expect("delta");
    assert!(!delta.complete);
    assert_eq!(
        delta.changed.iter().map(|m| m.href.to_string()).collect::<Vec<_>>(),
        vec![ids[1].clone()]
    );
    assert_eq!(delta.deleted, vec![Href::new(ids[2].clone())]);
    let idle = graph.changes(&coll, Some(&delta.new_token)).await.expect("idle");
    assert!(idle.changed.is_empty() && idle.deleted.is_empty() && !idle.complete);
}

// R-GRAPH-3: a token the server dropped (410 Gone, syncStateNotFound or
// resyncRequired) gives a complete listing, never an error or an empty delta.
#[tokio::test]
async fn r_graph_3_expired_token_gives_a_complete_listing() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let coll = contacts(&graph).await;
    let a = graph.create(&coll, "uid-a", br#"{"givenName":"A"}"#).await.unwrap();
    let first = graph.changes(&coll, None).await.unwrap();
    for code in ["syncStateNotFound", "resyncRequired"] {
        server.switches().expire_delta_tokens(code);
        let again = graph
            .changes(&coll, Some(&first.new_token))
            .await
            .expect("a resync, not an error");
        assert!(again.complete, "{code}: a complete listing");
        assert_eq!(again.changed, vec![a.clone()], "{code}: exactly the one item, once");
    }
    assert_eq!(server.stats().gone, 2);
}

// R-GRAPH-4: 429 and 503 are waited out for Retry-After on the connector's
// clock, writes included, and the call then succeeds.
#[tokio::test]
async fn r_graph_4_throttling_waits_retry_after_on_the_injected_clock() {
    let server = GraphServer::start().await.unwrap();
    let (graph, clock) = common::connector(&server);
    let coll = contacts(&graph).await;
    server.switches().throttle_next(2, 7);
    let created = graph
        .create(&coll, "uid-t", br#"{"givenName":"T"}"#)
        .await
        .expect("create after 429s");
    server.switches().unavailable_next(1, 3);
    graph
        .update(&coll, &created.href, &created.etag, br#"{"givenName":"T2"}"#)
        .await
        .expect("update after a 503");
    assert_eq!(
        clock.slept(),
        vec![Duration::from_secs(7), Duration::from_secs(7), Duration::from_secs(3)]
    );
    let stats = server.stats();
    assert_eq!((stats.throttled, stats.unavailable), (2, 1));

    server.switches().throttle_next(100, 1);
    let err = graph
        .changes(&coll, None)
        .await
        .expect_err("gives up after max_retries");
    assert!(
        matches!(err, ConnectorError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(1)),
        "{err:?}"
    );
    assert!(err.is_transient());
}

// R-GRAPH-4: at most 4 requests per mailbox are in flight, however many
// items are fetched at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_4_at_most_four_requests_in_flight() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let coll = contacts(&graph).await;
    let mut hrefs = Vec::new();
    for i in 0..12 {
        hrefs.push(
            graph
                .create(&coll, &format!("uid-{i}"), br#"{"givenName":"C"}"#)
                .await
                .unwrap()
                .href,
        );
    }
    server.switches().hold_requests(true);
    let fetch = {
        let (graph, coll, hrefs) = (graph.clone(), coll.clone(), hrefs.clone());
        tokio::spawn(async move { graph.get_many(&coll, &hrefs).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while server.stats().in_flight < 4 {
        assert!(tokio::time::Instant::now() < deadline, "4 requests never arrived");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.switches().hold_requests(false);
    let fetched = fetch.await.unwrap().expect("get_many");
    assert_eq!(fetched.found.len(), 12);
    assert_eq!(server.stats().max_in_flight, 4, "never more than 4 at once");
}

// R-GRAPH-1: one token serves many requests and is fetched again before it
// expires; every request asks for immutable ids (R-GRAPH-2).
#[tokio::test]
async fn r_graph_1_token_is_reused_and_renewed_before_expiry() {
    let server = GraphServer::start().await.unwrap();
    let (graph, clock) = common::connector(&server);
    let coll = contacts(&graph).await;
    graph.changes(&coll, None).await.unwrap();
    graph.discover().await.unwrap();
    assert_eq!(server.stats().tokens_issued, 1);
    // 3599 s of life, renewed 300 s before the end.
    clock.advance(Duration::from_secs(3599 - 300 - 1));
    graph.discover().await.unwrap();
    assert_eq!(server.stats().tokens_issued, 1, "still fresh");
    clock.advance(Duration::from_secs(2));
    graph.discover().await.unwrap();
    assert_eq!(server.stats().tokens_issued, 2, "renewed before it expired");
    assert_eq!(server.stats().without_immutable_id, 0);
}

// R-GRAPH-1: a refused secret is an authentication error that shows neither
// the secret nor the token.
#[tokio::test]
async fn r_graph_1_a_wrong_secret_is_unauthorized_and_never_shown() {
    let server = GraphServer::start().await.unwrap();
    let mut config = common::config(&server);
    config.client_secret = Some(crmsync_connector::SecretSource::Value("wrong-secret-value".into()));
    let graph = GraphConnector::new(config).unwrap();
    let err = graph.discover().await.expect_err("refused");
    assert!(matches!(err, ConnectorError::Unauthorized { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {graph:?}");
    assert!(shown.contains("invalid_client"), "{shown}");
    assert!(!shown.contains("wrong-secret-value"), "{shown}");
}

fn event(subject: &str, start: &str, end: &str) -> serde_json::Value {
    json!({
        "subject": subject,
        "start": {"dateTime": start, "timeZone": "UTC"},
        "end": {"dateTime": end, "timeZone": "UTC"},
    })
}

// R-GRAPH-6: calendarView's @removed also covers events that only left the
// window; those are not reported deleted, a deleted one is. Occurrences
// stand for their series master.
#[tokio::test]
async fn r_graph_6_events_that_leave_the_window_are_not_deleted() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let coll = graph
        .ensure_collection(CollectionKind::Events, "calendar")
        .await
        .unwrap()
        .id;
    let folder = folder_of(&coll);
    // The manual clock stands at 2026-09-21; the window is 30 days back, 365 ahead.
    let moved = server.user_create(&folder, event("moves", "2026-10-01T09:00:00", "2026-10-01T10:00:00"));
    let doomed = server.user_create(&folder, event("doomed", "2026-10-02T09:00:00", "2026-10-02T10:00:00"));
    let mut series = event("weekly", "2026-10-05T09:00:00", "2026-10-05T10:00:00");
    series["recurrence"] = json!({
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd", "startDate": "2026-10-05"}
    });
    let series = server.user_create(&folder, series);
    let outside = server.user_create(&folder, event("old", "2025-01-01T09:00:00", "2025-01-01T10:00:00"));

    let full = graph.changes(&coll, None).await.unwrap();
    let listed: Vec<&str> = full.changed.iter().map(|m| m.href.as_str()).collect();
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();
    assert!(listed.contains(&id(&moved).as_str()) && listed.contains(&id(&doomed).as_str()));
    assert!(!listed.contains(&id(&outside).as_str()), "outside the window");
    let master = full
        .changed
        .iter()
        .find(|m| m.href.as_str() == id(&series))
        .expect("the series master, not its occurrence");
    assert_eq!(
        master.etag.as_str(),
        series["@odata.etag"].as_str().unwrap(),
        "the master's own etag"
    );

    server.user_update(
        &folder,
        &id(&moved),
        event("moves", "2024-01-01T09:00:00", "2024-01-01T10:00:00"),
    );
    server.user_delete(&folder, &id(&doomed));
    let delta = graph.changes(&coll, Some(&full.new_token)).await.unwrap();
    assert_eq!(delta.deleted, vec![Href::new(id(&doomed))], "only the deleted event");
    assert!(delta.changed.is_empty(), "{delta:?}");
}

// R-GRAPH-5: a second create with the same UID finds the first (contacts and
// events carry it in an extended property); a body that is not JSON is refused.
#[tokio::test]
async fn r_graph_5_create_finds_an_item_with_the_same_uid() {
    let server = GraphServer::start().await.unwrap();
    let (graph, _clock) = common::connector(&server);
    let coll = graph
        .ensure_collection(CollectionKind::Events, "calendar")
        .await
        .unwrap()
        .id;
    let body = event("x", "2026-10-01T09:00:00", "2026-10-01T10:00:00").to_string();
    let first = graph.create(&coll, "crm-1", body.as_bytes()).await.unwrap();
    let again = graph.create(&coll, "crm-1", body.as_bytes()).await;
    assert!(
        matches!(&again, Err(ConnectorError::AlreadyExists { href }) if *href == first.href),
        "{again:?}"
    );
    let bad = graph.create(&coll, "crm-2", b"BEGIN:VCALENDAR").await;
    assert!(matches!(bad, Err(ConnectorError::Unsupported { .. })), "{bad:?}");
    assert_eq!(server.items(&folder_of(&coll)).len(), 1);
    assert!(matches!(
        graph.ensure_collection(CollectionKind::EventsAndTasks, "both").await,
        Err(ConnectorError::Unsupported { .. })
    ));
}
