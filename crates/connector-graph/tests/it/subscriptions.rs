//! Change notification subscriptions against the Graph test server
//! (R-GRAPH-10): the validation handshake, `clientState` in every
//! notification, renewal before expiry on the injected clock, deletion, and
//! lifecycle notifications.

use std::time::Duration;

use crate::common;
use chrono::{DateTime, Utc};
use crmsync_connector::{CollectionKind, Connector};
use crmsync_graph::{Clock, GraphError, NotificationTarget};
use crmsync_testkit::{GraphServer, NotificationReceiver};
use serde_json::json;

fn target(receiver: &NotificationReceiver) -> NotificationTarget {
    NotificationTarget {
        notification_url: receiver.url().to_string(),
        lifecycle_url: receiver.url().to_string(),
        client_state: "kQ3x-client-state".to_string(),
    }
}

// R-GRAPH-10, R-SCHED-2
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_10_subscribe_validates_notifies_renews_and_deletes() {
    let server = GraphServer::start().await.expect("server");
    let receiver = NotificationReceiver::start().await.expect("receiver");
    let (graph, clock) = common::connector(&server);
    server.set_now(DateTime::<Utc>::from(clock.now()));
    let contacts = graph
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .await
        .expect("folder")
        .id;

    let sub = graph
        .subscribe(&contacts, &target(&receiver))
        .await
        .expect("subscribed");
    assert_eq!(server.validations(), 1, "one handshake (one URL for both kinds)");
    let listed = server.subscriptions();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], sub.id.as_str());
    assert_eq!(listed[0]["changeType"], "created,updated,deleted");
    assert!(
        listed[0]["resource"].as_str().unwrap().ends_with("/contacts"),
        "{listed:?}"
    );
    assert_eq!(
        sub.expires,
        clock.now() + Duration::from_secs(4230 * 60),
        "the configured lifetime"
    );

    // An edit "in Outlook": one notification, with the clientState.
    let folder = server
        .folder_id(crmsync_testkit::GraphResource::Contacts, "contacts")
        .unwrap();
    server.user_create(&folder, json!({"givenName": "Ada"}));
    let got = receiver.wait_for(1).await;
    let n = &got[0]["value"][0];
    assert_eq!(n["subscriptionId"], sub.id.as_str());
    assert_eq!(n["clientState"], "kQ3x-client-state");
    assert_eq!(n["changeType"], "created");

    // Renewal is due only near the end of the lifetime, on the clock.
    assert!(!graph.renewal_due(&sub));
    clock.advance(Duration::from_secs(4000 * 60));
    server.set_now(DateTime::<Utc>::from(clock.now()));
    assert!(graph.renewal_due(&sub), "within a tenth of the lifetime");
    let renewed = graph.renew(&sub).await.expect("renewed");
    assert_eq!(renewed.id, sub.id);
    assert!(renewed.expires > sub.expires);
    assert!(!graph.renewal_due(&renewed));

    // Past its expiry without renewal, Graph forgets it.
    clock.advance(Duration::from_secs(4231 * 60));
    server.set_now(DateTime::<Utc>::from(clock.now()));
    assert!(server.subscriptions().is_empty(), "expired");
    let lapsed = graph.renew(&renewed).await;
    assert!(
        matches!(lapsed, Err(GraphError::Status { status: 404, .. })),
        "{lapsed:?}"
    );

    // Deleting: gone, and deleting again is no error.
    let again = graph
        .subscribe(&contacts, &target(&receiver))
        .await
        .expect("subscribed");
    graph.unsubscribe(&again.id).await.expect("deleted");
    assert!(server.subscriptions().is_empty());
    graph.unsubscribe(&again.id).await.expect("already gone is fine");
    assert_eq!(server.stats().without_immutable_id, 0);
}

// R-GRAPH-10: an endpoint that does not echo the validation token gets no subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_10_a_failed_handshake_creates_no_subscription() {
    let server = GraphServer::start().await.expect("server");
    let receiver = NotificationReceiver::start().await.expect("receiver");
    receiver.refuse_validation();
    let (graph, clock) = common::connector(&server);
    server.set_now(DateTime::<Utc>::from(clock.now()));
    let calendar = graph
        .ensure_collection(CollectionKind::Events, "calendar")
        .await
        .expect("folder")
        .id;
    let refused = graph.subscribe(&calendar, &target(&receiver)).await;
    match refused {
        Err(GraphError::Status { status: 400, code, .. }) => assert_eq!(code, "ValidationError"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(server.subscriptions().is_empty());
}

// R-GRAPH-10: lifecycle notifications reach the lifecycle URL with the
// clientState; `subscriptionRemoved` ends the subscription on Graph's side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_10_lifecycle_notifications_arrive_with_the_client_state() {
    let server = GraphServer::start().await.expect("server");
    let receiver = NotificationReceiver::start().await.expect("receiver");
    let (graph, clock) = common::connector(&server);
    server.set_now(DateTime::<Utc>::from(clock.now()));
    let tasks = graph
        .ensure_collection(CollectionKind::Tasks, "tasks")
        .await
        .expect("folder")
        .id;
    let sub = graph.subscribe(&tasks, &target(&receiver)).await.expect("subscribed");
    for event in ["reauthorizationRequired", "missed", "subscriptionRemoved"] {
        assert_eq!(server.send_lifecycle(&sub.id, event).await, Some(202), "{event}");
    }
    let got = receiver.wait_for(3).await;
    let events: Vec<&str> = got
        .iter()
        .map(|n| n["value"][0]["lifecycleEvent"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["reauthorizationRequired", "missed", "subscriptionRemoved"]);
    assert!(got.iter().all(|n| n["value"][0]["clientState"] == "kQ3x-client-state"));
    assert!(server.subscriptions().is_empty(), "removed");
}
