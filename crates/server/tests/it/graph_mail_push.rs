//! R-GRAPH-44..46: push from Microsoft Graph for tracked mail, end to end.
//! A Graph profile with `tracking` ran once (the tracking folder was made,
//! it and the Inbox were polled); the scheduler then subscribes to the
//! messages of both folders beside the item folders, and what the user does
//! in Outlook (files a message, sets the category, moves one in, deletes
//! one) reaches the CRM by a notification and a run, while the scheduler's
//! clock stands still and the profile's interval is an hour, so no
//! scheduled run can do it. The mail subscriptions are renewed on the
//! clock, go when tracking is switched off or the profile is deleted, and
//! follow `missed` and `subscriptionRemoved` as the others do.

use std::time::{Duration, Instant};

use crate::common;
use crate::graph_push::{PROFILE, Setup, connector, expiry, refresh, setup_with};
use axum::http::{Method, StatusCode};
use common::World;
use common::service::{next_events, settle};
use crmsync_service::Clock as _;
use crmsync_store::status::TrackedMailRow;
use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::{Value, json};

/// The folder `CRM`, and the category `CRM` on mail in the Inbox.
fn tracking() -> Value {
    json!({"folder": "CRM", "keyword": "CRM", "replies": false, "watch": ["INBOX"]})
}

fn profile_with(graph: &GraphServer, w: &World, tracking: Option<Value>) -> Value {
    let mut connector = connector(graph);
    if let Some(tracking) = tracking {
        connector["tracking"] = tracking;
    }
    json!({"name": PROFILE, "user_id": w.alice.id, "connector": connector,
           "pull_interval_secs": 3600, "push": true, "enabled": true})
}

/// A message as Outlook holds it (https://learn.microsoft.com/en-us/graph/api/resources/message).
fn message(subject: &str, categories: &[&str]) -> Value {
    json!({
        "subject": subject,
        "from": {"emailAddress": {"name": "Carla", "address": "carla@customer.example"}},
        "toRecipients": [{"emailAddress": {"address": GraphServer::MAILBOX}}],
        "internetMessageId": format!("<{subject}@customer.example>"),
        "receivedDateTime": "2026-12-01T10:00:00Z",
        "categories": categories,
        "body": {"contentType": "text", "content": "Hello"}
    })
}

/// The live subscriptions to a mail folder's messages, as (folder id, subscription).
fn mail_subscriptions(graph: &GraphServer) -> Vec<(String, Value)> {
    graph
        .subscriptions()
        .into_iter()
        .filter_map(|sub| {
            let resource = sub["resource"].as_str()?.to_string();
            match resource.split('/').collect::<Vec<_>>().as_slice() {
                ["users", _, "mailFolders", folder, "messages"] => Some((folder.to_string(), sub.clone())),
                _ => None,
            }
        })
        .collect()
}

fn id_of(item: &Value) -> String {
    item["id"].as_str().expect("an id").to_string()
}

/// Waits until Graph has delivered `n` notifications of `change` to
/// message `id`, each answered 202; the deadline only turns a hang into a
/// failure (the sender is in-process).
async fn delivered(graph: &GraphServer, id: &str, change: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let about: Vec<_> = graph
            .deliveries()
            .into_iter()
            .filter(|d| {
                d.body["value"].as_array().into_iter().flatten().any(|v| {
                    v["resourceData"]["id"] == id
                        && v["changeType"] == change
                        && v["resourceData"]["@odata.type"] == "#Microsoft.Graph.Message"
                })
            })
            .collect();
        if about.len() >= n {
            assert!(about.iter().all(|d| d.status == Some(202)), "{about:?}");
            return;
        }
        assert!(Instant::now() < deadline, "no {change} notification for {id}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The notification made the profile due: the next tick runs it (the
/// clock stands still, so nothing else can), then whatever it made due.
async fn run_notified(s: &mut Setup) {
    let tick = s.mode.scheduler.tick().await.unwrap();
    assert_eq!(tick.started, [PROFILE], "the notification made the profile due");
    next_events(&mut s.rx, 1).await;
    settle(&s.mode.scheduler, &mut s.rx).await;
}

/// crmsync's own category on a message it tracked comes back as one
/// `updated` notification (the `n`th for that message); the run it wakes
/// finds nothing to do.
async fn settle_own_mark(s: &mut Setup, id: &str, n: usize) {
    delivered(&s.graph, id, "updated", n).await;
    settle(&s.mode.scheduler, &mut s.rx).await;
}

async fn tracked(w: &World) -> Vec<TrackedMailRow> {
    w.store.sync_state().tracked_mail(PROFILE).await.unwrap()
}

/// The one tracked message `before` did not have, which must have its CRM e-mail.
async fn new_row(w: &World, before: &[TrackedMailRow]) -> TrackedMailRow {
    let rows = tracked(w).await;
    let new: Vec<_> = rows
        .iter()
        .filter(|r| before.iter().all(|b| b.message_key != r.message_key))
        .cloned()
        .collect();
    assert_eq!(new.len(), 1, "{rows:?}");
    let email = w
        .store
        .records()
        .email_by_message_key(&new[0].message_key)
        .await
        .unwrap();
    assert!(email.is_some(), "the CRM e-mail of {:?}", new[0]);
    new[0].clone()
}

// R-GRAPH-44, R-GRAPH-46: the tracking folder and the watched Inbox are
// subscribed after the first run; a message filed in the tracking folder,
// a category set in the Inbox, a message moved in and one deleted each
// reach the CRM through a notification and a run, no scheduled run.
on_both!(r_graph_44_mail_filed_in_outlook_reaches_the_crm_by_notification, |w| {
    let mut s = setup_with(&mut w, |graph, w| profile_with(graph, w, Some(tracking()))).await;
    let crm = s
        .graph
        .folder_id(GraphResource::Messages, "CRM")
        .expect("the first run made it");
    let inbox = s.graph.inbox_id();

    let made = refresh(&s).await;
    assert!(made.failed.is_empty(), "{made:?}");
    let mut folders: Vec<String> = mail_subscriptions(&s.graph).into_iter().map(|(f, _)| f).collect();
    folders.sort();
    let mut wanted = vec![crm.clone(), inbox.clone()];
    wanted.sort();
    assert_eq!(folders, wanted, "the tracking folder and the watched Inbox");
    for (_, sub) in mail_subscriptions(&s.graph) {
        assert_eq!(sub["changeType"], "created,updated,deleted");
    }
    let rows = w.store.sync_state().push_subscriptions(Some(PROFILE)).await.unwrap();
    let mail_rows: Vec<&str> = rows
        .iter()
        .map(|r| r.collection.as_str())
        .filter(|c| c.starts_with("mail:"))
        .collect();
    assert_eq!(mail_rows.len(), 2, "{rows:?}");
    assert_eq!(made.created.len(), rows.len(), "items and mail alike: {made:?}");

    // Filed into the tracking folder.
    let filed = id_of(&s.graph.user_create(&crm, message("filed", &[])));
    delivered(&s.graph, &filed, "created", 1).await;
    run_notified(&mut s).await;
    let first = new_row(&w, &[]).await;
    assert_eq!((first.trigger.as_str(), first.tracked), ("folder", true));
    settle_own_mark(&mut s, &filed, 1).await;

    // New in the Inbox: a run, nothing tracked; the category set: tracked.
    let before = tracked(&w).await;
    let tagged = id_of(&s.graph.user_create(&inbox, message("tagged", &[])));
    delivered(&s.graph, &tagged, "created", 1).await;
    run_notified(&mut s).await;
    assert_eq!(tracked(&w).await, before, "no category yet");
    s.graph.user_update(&inbox, &tagged, json!({"categories": ["CRM"]}));
    delivered(&s.graph, &tagged, "updated", 1).await;
    run_notified(&mut s).await;
    assert_eq!(new_row(&w, &before).await.trigger, "keyword");
    settle_own_mark(&mut s, &tagged, 2).await;

    // Moved from the Inbox into the tracking folder.
    let before = tracked(&w).await;
    let moved = id_of(&s.graph.user_create(&inbox, message("moved", &[])));
    delivered(&s.graph, &moved, "created", 1).await;
    run_notified(&mut s).await;
    s.graph.user_move_message(&inbox, &crm, &moved);
    delivered(&s.graph, &moved, "deleted", 1).await;
    delivered(&s.graph, &moved, "created", 2).await;
    run_notified(&mut s).await;
    assert_eq!(new_row(&w, &before).await.trigger, "folder");
    settle_own_mark(&mut s, &moved, 1).await;

    // Deleted from the tracking folder: untracked, its CRM e-mail stays (R-GRAPH-27).
    s.graph.user_delete(&crm, &filed);
    delivered(&s.graph, &filed, "deleted", 1).await;
    run_notified(&mut s).await;
    let row = tracked(&w)
        .await
        .into_iter()
        .find(|r| r.message_key == first.message_key)
        .expect("kept");
    assert!(!row.tracked, "{row:?}");
    let email = w
        .store
        .records()
        .email_by_message_key(&first.message_key)
        .await
        .unwrap();
    assert!(email.is_some(), "the CRM e-mail stays");
});

// R-GRAPH-44: a tracking folder deleted in Outlook is made again by the
// next run (R-GRAPH-25), which stores the new folder's UIDVALIDITY; the next
// pass then deletes the subscription to the old folder and subscribes to
// the new one, whose mail reaches the CRM by notification.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_44_a_folder_made_again_is_subscribed_again() {
    let mut w = World::new().await;
    let mut s = setup_with(&mut w, |graph, w| profile_with(graph, w, Some(tracking()))).await;
    refresh(&s).await;
    let old = s.graph.folder_id(GraphResource::Messages, "CRM").unwrap();
    let stored = w.store.sync_state().push_subscriptions(Some(PROFILE)).await.unwrap();
    let old_key = stored
        .iter()
        .map(|r| r.collection.clone())
        .find(|c| c.starts_with("mail:") && c.ends_with(":CRM"))
        .expect("the tracking folder's subscription");

    let (_, sub) = mail_subscriptions(&s.graph)
        .into_iter()
        .find(|(f, _)| *f == old)
        .expect("subscribed");

    // Deleted in Outlook; whatever tells crmsync (here Graph's `missed`), its run makes it again.
    s.graph.user_delete_mail_folder(&old);
    assert_eq!(s.graph.send_lifecycle(&id_of(&sub), "missed").await, Some(202));
    run_notified(&mut s).await;
    let new = s.graph.folder_id(GraphResource::Messages, "CRM").expect("made again");
    assert_ne!(new, old);

    let pass = refresh(&s).await;
    let at = w.store.sync_state().mail_folder(PROFILE, "CRM").await.unwrap();
    let new_key = format!("mail:{}:CRM", at.expect("polled").uid_validity);
    assert_ne!(new_key, old_key, "a new identity");
    assert_eq!(pass.deleted, [(PROFILE.to_string(), old_key)], "{pass:?}");
    assert_eq!(pass.created, [(PROFILE.to_string(), new_key)], "{pass:?}");
    let folders: Vec<String> = mail_subscriptions(&s.graph).into_iter().map(|(f, _)| f).collect();
    assert!(folders.contains(&new), "{folders:?}");

    let filed = id_of(&s.graph.user_create(&new, message("again", &[])));
    delivered(&s.graph, &filed, "created", 1).await;
    run_notified(&mut s).await;
    assert_eq!(new_row(&w, &[]).await.trigger, "folder");
}

// R-GRAPH-45: the mail subscriptions are renewed on the clock with the
// others, and deleted (the item folders' kept) when tracking is switched off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_45_mail_subscriptions_are_renewed_and_end_with_tracking() {
    let mut w = World::new().await;
    let s = setup_with(&mut w, |graph, w| profile_with(graph, w, Some(tracking()))).await;
    let made = refresh(&s).await;
    let mail = mail_subscriptions(&s.graph);
    assert_eq!(mail.len(), 2, "{made:?}");
    let all = s.graph.subscriptions().len();

    s.mode.clock.advance(chrono::Duration::minutes(3900));
    s.graph.set_now(s.mode.clock.now());
    let renewed = refresh(&s).await;
    assert_eq!(renewed.renewed.len(), all, "{renewed:?}");
    let mail_keys: Vec<&(String, String)> = renewed.renewed.iter().filter(|(_, c)| c.starts_with("mail:")).collect();
    assert_eq!(mail_keys.len(), 2, "{renewed:?}");
    let after = mail_subscriptions(&s.graph);
    assert_eq!(after.len(), 2);
    for (folder, sub) in &after {
        let (_, old) = mail.iter().find(|(f, _)| f == folder).expect("the same folders");
        assert_eq!(sub["id"], old["id"], "renewed, not made again");
        assert!(expiry(sub) > expiry(old), "{sub} after {old}");
    }

    // Tracking switched off: its folders' subscriptions go, the others stay.
    let path = format!("/api/v1/profiles/{PROFILE}");
    let read = w.call(Method::GET, &path, Some(&w.admin.token), None).await;
    let version: i64 = read.etag().unwrap().trim_matches('"').parse().unwrap();
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.admin.token),
            Some(profile_with(&s.graph, &w, None)),
            Some(version),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let gone = refresh(&s).await;
    let mut deleted: Vec<&str> = gone.deleted.iter().map(|(_, c)| c.as_str()).collect();
    deleted.retain(|c| c.starts_with("mail:"));
    assert_eq!((deleted.len(), gone.deleted.len()), (2, 2), "{gone:?}");
    assert!(mail_subscriptions(&s.graph).is_empty());
    assert_eq!(s.graph.subscriptions().len(), all - 2);
}

// R-GRAPH-45: `missed` on a mail subscription runs the profile;
// `subscriptionRemoved` runs it and the next pass subscribes the folder
// again; deleting the profile deletes its mail subscriptions on Graph.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_45_lifecycle_of_a_mail_subscription() {
    let mut w = World::new().await;
    let mut s = setup_with(&mut w, |graph, w| profile_with(graph, w, Some(tracking()))).await;
    refresh(&s).await;
    let crm = s.graph.folder_id(GraphResource::Messages, "CRM").unwrap();
    let (_, sub) = mail_subscriptions(&s.graph)
        .into_iter()
        .find(|(f, _)| *f == crm)
        .expect("the tracking folder is subscribed");
    let first = id_of(&sub);

    assert_eq!(s.graph.send_lifecycle(&first, "missed").await, Some(202));
    run_notified(&mut s).await;

    assert_eq!(s.graph.send_lifecycle(&first, "subscriptionRemoved").await, Some(202));
    run_notified(&mut s).await;
    let again = refresh(&s).await;
    assert_eq!(again.created.len(), 1, "{again:?}");
    assert!(again.created[0].1.starts_with("mail:"), "{again:?}");
    let (_, sub) = mail_subscriptions(&s.graph)
        .into_iter()
        .find(|(f, _)| *f == crm)
        .expect("subscribed again");
    assert_ne!(sub["id"], first.as_str(), "a new subscription");

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
}
