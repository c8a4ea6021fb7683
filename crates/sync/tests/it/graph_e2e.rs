//! End to end through the real runner: a SQLite CRM ↔ the Graph connector ↔
//! the testkit's Graph server (issue #15): contacts, events and To Do tasks
//! both ways, a 412 conflict re-planned (R-SAFE-2), an expired delta token
//! resynced without duplicates, and edits made "in Outlook" (straight on the
//! server) coming back.

use crate::common;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use common::{World, writes};
use crmsync_connector::{CollectionId, Connector, ConnectorError, Etag, Href};
use crmsync_graph::GraphConnector;
use crmsync_model::{ActivityFields, ActivityKind, ContactFields};
use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::{Value, json};

fn graph(server: &GraphServer) -> GraphConnector {
    GraphConnector::new(server.config()).expect("valid config")
}

async fn world(server: &GraphServer) -> World {
    let mut w = World::new().await;
    w.profile.connector = Arc::new(graph(server));
    w
}

fn folder(server: &GraphServer, resource: GraphResource, name: &str) -> String {
    server
        .folder_id(resource, name)
        .unwrap_or_else(|| panic!("folder {name}"))
}

fn only(items: Vec<Value>) -> Value {
    assert_eq!(items.len(), 1, "{items:#?}");
    items.into_iter().next().unwrap()
}

async fn crm_id(w: &World, collection: &str, href: &str) -> String {
    w.store
        .sync_state()
        .pairs("alice", collection)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.href == href)
        .unwrap_or_else(|| panic!("no pair for {href}"))
        .crm_id
}

// R-MAP-5, R-MAP-6, R-FIELD-1/3/4, R-EDIT-1, R-PAIR-1
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_edit_1_graph_contacts_events_and_tasks_sync_both_ways() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    let meeting = w.meeting("Board meeting", 2).await;
    let call = w.task(ActivityKind::PhoneCall, "Call Ada back").await;

    let first = w.sync().await;
    assert!(first.collections.iter().all(|c| c.failed.is_empty()), "{first}");
    let contacts = folder(&server, GraphResource::Contacts, "contacts");
    let calendar = folder(&server, GraphResource::Events, "calendar");
    let tasks = folder(&server, GraphResource::Tasks, "tasks");
    let contact = only(server.items(&contacts));
    assert_eq!(
        (contact["givenName"].as_str(), contact["surname"].as_str()),
        (Some("Ada"), Some("Lovelace"))
    );
    assert_eq!(contact["emailAddresses"][0]["address"], "ada@example.com");
    let event = only(server.items(&calendar));
    assert_eq!(event["subject"], "Board meeting");
    let task = only(server.items(&tasks));
    assert_eq!(task["title"], "Call Ada back");
    assert_eq!(task["extensions"][0]["kind"], "phone_call", "R-MAP-5: the type travels");
    assert!(task["categories"].as_array().unwrap().contains(&json!("Phone call")));
    assert_eq!(server.stats().without_immutable_id, 0);

    // Outlook: edits on all three and a new contact; an unmapped property too.
    let contact_id = contact["id"].as_str().unwrap();
    server.user_update(
        &contacts,
        contact_id,
        json!({"jobTitle": "Analyst", "nickName": "Countess"}),
    );
    server.user_update(
        &calendar,
        event["id"].as_str().unwrap(),
        json!({"location": {"displayName": "Room 4"}}),
    );
    server.user_update(
        &tasks,
        task["id"].as_str().unwrap(),
        json!({"title": "Call Ada back (urgent)"}),
    );
    let grace = server.user_create(
        &contacts,
        json!({"givenName": "Grace", "surname": "Hopper", "mobilePhone": "+1 555 0100"}),
    );
    let second = w.sync().await;
    assert!(second.collections.iter().all(|c| c.failed.is_empty()), "{second}");
    let ada_now = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(ada_now.fields.job_title.as_deref(), Some("Analyst"));
    let meeting_now = w.store.records().get::<ActivityFields>(meeting.id()).await.unwrap();
    assert_eq!(meeting_now.fields.location.as_deref(), Some("Room 4"));
    let call_now = w.store.records().get::<ActivityFields>(call.id()).await.unwrap();
    assert_eq!(call_now.fields.subject, "Call Ada back (urgent)");
    assert_eq!(
        call_now.fields.kind,
        ActivityKind::PhoneCall,
        "R-MAP-5: still a phone call"
    );
    let grace_id = crm_id(&w, "contacts", grace["id"].as_str().unwrap()).await;
    let grace_crm = w.store.records().get::<ContactFields>(&grace_id).await.unwrap();
    assert_eq!(grace_crm.fields.phone_mobile.as_deref(), Some("+1 555 0100"));

    // CRM edit: only the changed property is PATCHed; Outlook's nickname stays.
    let mut fields = ada_now.fields.clone();
    fields.phone_business = Some("+44 20 7946 0000".into());
    w.store
        .records()
        .update(ada.id(), ada_now.version(), fields)
        .await
        .unwrap();
    let before = server.stats().log.len();
    let third = w.sync().await;
    assert!(third.collections.iter().all(|c| c.failed.is_empty()), "{third}");
    let stored = server.item(&contacts, contact_id).unwrap();
    assert_eq!(stored["businessPhones"], json!(["+44 20 7946 0000"]));
    assert_eq!(stored["nickName"], "Countess", "R-MAP-6: an unmapped property survives");
    let patches: Vec<String> = server.stats().log[before..]
        .iter()
        .filter(|l| l.starts_with("PATCH"))
        .cloned()
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");

    // Nothing changed: nothing written, one delta request per folder.
    let before = server.stats().log.len();
    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "{quiet}");
    let log = server.stats().log[before..].to_vec();
    assert_eq!(log.len(), 3, "one delta request per folder: {log:#?}");
}

/// The real connector, with an edit "in Outlook" landing just before
/// crmsync's first PATCH, so that PATCH meets a changed etag. The server is
/// real; only the moment of the edit is forced.
struct EditBeforeFirstPatch {
    inner: GraphConnector,
    server: Arc<GraphServer>,
    folder: String,
    done: AtomicBool,
}

#[async_trait]
impl crmsync_connector::Forward for EditBeforeFirstPatch {
    fn inner(&self) -> &dyn Connector {
        &self.inner
    }
    async fn update(&self, c: &CollectionId, href: &Href, etag: &Etag, body: &[u8]) -> Result<Etag, ConnectorError> {
        if !self.done.swap(true, Ordering::SeqCst) {
            self.server
                .user_update(&self.folder, href.as_str(), json!({"department": "Research"}));
        }
        self.inner.update(c, href, etag, body).await
    }
}

// R-SAFE-2, R-EDIT-2: a PATCH whose etag went stale gets 412, nothing is
// overwritten, and the next pass merges both edits field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_2_graph_412_is_replanned_and_both_edits_survive() {
    let server = Arc::new(GraphServer::start().await.unwrap());
    let mut w = world(&server).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let contacts = folder(&server, GraphResource::Contacts, "contacts");
    w.profile.connector = Arc::new(EditBeforeFirstPatch {
        inner: graph(&server),
        server: server.clone(),
        folder: contacts.clone(),
        done: AtomicBool::new(false),
    });
    let current = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    let mut fields = current.fields.clone();
    fields.job_title = Some("Countess".into());
    w.store
        .records()
        .update(ada.id(), current.version(), fields)
        .await
        .unwrap();

    let raced = w.sync().await;
    assert_eq!(server.stats().precondition_failed, 1, "the stale PATCH was refused");
    let settled = if raced.collections.iter().any(|c| c.replanned > 0) {
        w.sync().await
    } else {
        raced
    };
    assert!(settled.collections.iter().all(|c| c.failed.is_empty()), "{settled}");
    let stored = only(server.items(&contacts));
    assert_eq!(stored["jobTitle"], "Countess");
    assert_eq!(stored["department"], "Research");
    let crm = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(crm.fields.department.as_deref(), Some("Research"));
    assert_eq!(crm.fields.job_title.as_deref(), Some("Countess"));
    assert_eq!(writes(&w.sync().await), 0, "settled");
}

// R-SCHED-1, R-PAIR-1: an expired delta token (410 Gone) makes the next run
// list everything again; it pairs what it finds and creates nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_pair_1_graph_410_resync_creates_no_duplicates() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.meeting("Board meeting", 2).await;
    w.task(ActivityKind::Letter, "Write to Ada").await;
    w.sync().await;
    server.switches().expire_delta_tokens("syncStateNotFound");
    let resync = w.sync().await;
    assert!(server.stats().gone >= 3, "every folder's token was refused");
    assert_eq!(
        writes(&resync),
        0,
        "a full listing of what is already paired writes nothing: {resync}"
    );
    for (resource, name) in [
        (GraphResource::Contacts, "contacts"),
        (GraphResource::Events, "calendar"),
        (GraphResource::Tasks, "tasks"),
    ] {
        assert_eq!(
            server.items(&folder(&server, resource, name)).len(),
            1,
            "{name}: no duplicate"
        );
    }
    let activities = w.store.records().activities_for_user(&w.actor.user_id).await.unwrap();
    assert_eq!(activities.len(), 2, "no duplicate in the CRM");
}

// R-COL-1, R-COL-3: a Graph profile names the user's own contact folder and
// calendar by display name; the contact and the meeting land there, and
// crmsync makes no `contacts` folder or `calendar` of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_col_1_graph_profile_uses_the_users_own_folders() {
    let server = GraphServer::start().await.unwrap();
    let phone = server.create_folder(GraphResource::Contacts, "Phone contacts");
    let work = server.create_folder(GraphResource::Events, "Work");
    let mut w = world(&server).await;
    w.profile.collections = crmsync_connector::CollectionChoice {
        contacts: Some("Phone contacts".into()),
        calendar: Some("Work".into()),
        tasks: None,
    };
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.meeting("Board meeting", 2).await;
    let report = w.sync().await;
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
    assert_eq!(only(server.items(&phone))["surname"], "Lovelace");
    assert_eq!(only(server.items(&work))["subject"], "Board meeting");
    assert!(server.folder_id(GraphResource::Contacts, "contacts").is_none());
    assert!(server.folder_id(GraphResource::Events, "calendar").is_none());
    let listing = crmsync_sync::ops::list_collections(&w.store, &w.profile).await.unwrap();
    let used = |id: &str| {
        listing
            .collections
            .iter()
            .find(|c| c.href.contains(id))
            .map(|c| c.used_for.clone())
    };
    assert_eq!(used(&phone), Some(vec!["contacts"]), "{listing:?}");
    assert_eq!(used(&work), Some(vec!["calendar"]), "{listing:?}");
}

// R-GRAPH-6, R-CAL-1: calendarView lists only the calendar window, so a
// meeting beyond its future edge is absent from a complete listing (after
// the delta token expired) and comes as `@removed` in a delta once it is
// written. Neither is a deletion: the runner fetches a pair a complete
// listing left out before taking it for deleted, and the connector checks an
// `@removed` event with a GET.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_graph_6_an_event_beyond_the_window_is_not_taken_for_deleted() {
    let server = GraphServer::start().await.unwrap();
    let mut config = server.config();
    config.calendar_future_days = 30;
    // The connector's "now" is the runs' fixed now, so the window is too.
    let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(common::now().timestamp() as u64);
    let clock = Arc::new(crmsync_graph::ManualClock::new(now));
    let mut w = World::new().await;
    w.profile.connector = Arc::new(GraphConnector::with_clock(config, clock).expect("valid config"));
    let far = w.meeting("Annual review", 200).await;
    let near = w.meeting("Board meeting", 2).await;
    let first = w.sync().await;
    assert!(first.collections.iter().all(|c| c.failed.is_empty()), "{first}");
    let calendar = folder(&server, GraphResource::Events, "calendar");
    assert_eq!(server.items(&calendar).len(), 2, "both meetings written");

    // A delta after the write: the far meeting's row is `@removed` (out of
    // the window), the near one's an edit made in Outlook.
    let near_item = server
        .items(&calendar)
        .into_iter()
        .find(|i| i["subject"] == "Board meeting")
        .unwrap();
    server.user_update(
        &calendar,
        near_item["id"].as_str().unwrap(),
        json!({"location": {"displayName": "Room 4"}}),
    );
    let delta = w.sync().await;
    assert!(delta.collections.iter().all(|c| c.failed.is_empty()), "{delta}");
    assert_eq!(writes(&delta), 1, "only Outlook's edit comes back: {delta}");

    // The token expires: a complete listing without the far meeting.
    server.switches().expire_delta_tokens("syncStateNotFound");
    let resync = w.sync().await;
    assert!(server.stats().gone >= 1, "the token was refused");
    assert!(resync.collections.iter().all(|c| c.failed.is_empty()), "{resync}");
    assert_eq!(writes(&resync), 0, "nothing deleted or written: {resync}");
    assert_eq!(server.items(&calendar).len(), 2, "both meetings still in Outlook");
    let records = w.store.records();
    assert!(
        records.get::<ActivityFields>(far.id()).await.is_ok(),
        "the far meeting stays in the CRM"
    );
    let near_now = records.get::<ActivityFields>(near.id()).await.unwrap();
    assert_eq!(near_now.fields.location.as_deref(), Some("Room 4"));
}

fn graph_day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn graph_time(t: chrono::DateTime<chrono::Utc>) -> Value {
    json!({"dateTime": t.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC"})
}

// R-CAL-4, R-GRAPH-20: a CRM series with one cancelled and one moved
// occurrence lands on Graph as a cancelled instance and an exception; a
// no-change pass writes nothing; exceptions edited and made in Outlook come
// back to the CRM, the cancellation stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_cal_4_graph_series_exceptions_travel_both_ways() {
    use chrono::Duration;
    use crmsync_model::{OccurrenceOverride, Recurrence};

    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    let mut weekly = common::meeting_fields(&w.actor.user_id, "Weekly sync", common::now() + Duration::days(1));
    let first = weekly.start.unwrap();
    weekly.recurrence = Some(Recurrence {
        // 2026-11-22 is a Sunday; the day is spelled out because Graph's
        // weekly pattern always names its days.
        rule: "FREQ=WEEKLY;BYDAY=SU;COUNT=6".into(),
        rdates: Vec::new(),
        exdates: vec![first + Duration::weeks(1)],
        overrides: vec![OccurrenceOverride {
            recurrence_id: first + Duration::weeks(2),
            start: Some(first + Duration::weeks(2) + Duration::hours(2)),
            end: Some(first + Duration::weeks(2) + Duration::hours(3)),
            subject: Some("Weekly sync (moved)".into()),
            location: None,
            description: None,
        }],
    });
    let series = w.store.records().create(&w.actor.user_id, weekly).await.unwrap();

    let report = w.sync().await;
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
    let calendar = folder(&server, GraphResource::Events, "calendar");
    let master = only(server.items(&calendar));
    let master_id = master["id"].as_str().unwrap().to_string();
    let stored = server.series(&calendar, &master_id).unwrap();
    assert_eq!(
        stored["cancelledOccurrences"],
        json!([format!("OID.{master_id}.{}", graph_day(first + Duration::weeks(1)))])
    );
    let exceptions = stored["exceptionOccurrences"].as_array().unwrap().clone();
    assert_eq!(exceptions.len(), 1, "{exceptions:#?}");
    assert_eq!(exceptions[0]["subject"], "Weekly sync (moved)");
    assert_eq!(
        exceptions[0]["start"]["dateTime"].as_str().map(|s| &s[..19]),
        graph_time(first + Duration::weeks(2) + Duration::hours(2))["dateTime"].as_str()
    );

    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "the series read back is what was sent: {quiet}");

    // Outlook: the moved occurrence is renamed, the fourth moved an hour later.
    server.user_update(
        &calendar,
        exceptions[0]["id"].as_str().unwrap(),
        json!({"subject": "Weekly sync (room change)"}),
    );
    let fourth = first + Duration::weeks(3);
    let day = fourth.date_naive();
    let instance = only(server.instances(&calendar, &master_id, day, day));
    server.user_update(
        &calendar,
        instance["id"].as_str().unwrap(),
        json!({"start": graph_time(fourth + Duration::hours(1)), "end": graph_time(fourth + Duration::hours(2))}),
    );
    let report = w.sync().await;
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
    let back = w.store.records().get::<ActivityFields>(series.id()).await.unwrap();
    let rec = back.fields.recurrence.expect("still a series");
    assert_eq!(rec.rule, "FREQ=WEEKLY;COUNT=6;BYDAY=SU");
    assert_eq!(rec.exdates, vec![first + Duration::weeks(1)], "the cancellation stays");
    let got: Vec<_> = rec
        .overrides
        .iter()
        .map(|o| (o.recurrence_id, o.start, o.subject.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                first + Duration::weeks(2),
                Some(first + Duration::weeks(2) + Duration::hours(2)),
                Some("Weekly sync (room change)".to_string())
            ),
            (fourth, Some(fourth + Duration::hours(1)), None),
        ]
    );
    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "{quiet}");
}
