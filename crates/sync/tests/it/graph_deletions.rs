//! SPEC §6's deletion rows and R-EDIT-2 over Microsoft Graph (issue #15's
//! "done when"): the real runner, a SQLite CRM, the Graph connector and the
//! testkit's Graph server. A delete "in Outlook" is `server.user_delete`;
//! each case checks both sides and that the next run is quiet.

use crate::common;
use std::sync::Arc;

use chrono::Duration;
use common::{World, applied, writes};
use crmsync_engine::PairState;
use crmsync_graph::{GraphConnector, ManualClock};
use crmsync_model::{Activity, ActivityFields, ActivityKind, ActivityState, ContactFields};
use crmsync_store::status::PairRow;
use crmsync_testkit::{GraphResource, GraphServer};
use serde_json::{Value, json};

/// A world on the Graph server whose connector's clock is the runs' fixed
/// now, so the calendar window (30 days back) is where the tests expect.
async fn world(server: &GraphServer) -> World {
    let now = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(common::now().timestamp() as u64);
    let clock = Arc::new(ManualClock::new(now));
    let mut w = World::new().await;
    w.profile.connector = Arc::new(GraphConnector::with_clock(server.config(), clock).expect("valid config"));
    w
}

fn folder(server: &GraphServer, resource: GraphResource, name: &str) -> String {
    server
        .folder_id(resource, name)
        .unwrap_or_else(|| panic!("folder {name}"))
}

async fn pair_of(w: &World, collection: &str, crm_id: &str) -> Option<PairRow> {
    w.store
        .sync_state()
        .pairs("alice", collection)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.crm_id == crm_id)
}

/// The Graph id of a CRM record's item (its pair's href).
async fn href_of(w: &World, collection: &str, crm_id: &str) -> String {
    pair_of(w, collection, crm_id)
        .await
        .unwrap_or_else(|| panic!("no pair for {crm_id}"))
        .href
}

fn ids(items: Vec<Value>) -> Vec<String> {
    let mut ids: Vec<String> = items
        .into_iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn clean(report: &crmsync_sync::RunReport) {
    assert!(report.collections.iter().all(|c| c.failed.is_empty()), "{report}");
}

/// A run with nothing to do writes nothing on either side and asks Graph
/// only for the three folders' deltas.
async fn assert_quiet(w: &World, server: &GraphServer) {
    let before = server.stats().log.len();
    let quiet = w.sync().await;
    clean(&quiet);
    assert_eq!(writes(&quiet), 0, "{quiet}");
    let log = server.stats().log[before..].to_vec();
    assert_eq!(log.len(), 3, "one delta request per folder: {log:#?}");
}

// R-DEL-1, R-DEL-3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_del_1_3_graph_contact_deletions_follow_owner_and_origin() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    // Ada and Cy are alice's; Bo is bob's, shared, flagged by alice.
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    let cy = w.contact("Cy", "Young", "cy@example.com").await;
    let (bob, _) = w
        .store
        .records()
        .create_user(crmsync_model::UserFields::active_user("bob", "bob@example.com"))
        .await
        .unwrap();
    let mut bo_fields = common::contact_fields("Bo", "Diddley", "bo@example.com");
    bo_fields.shared = true;
    let bo = w.store.records().create(bob.id(), bo_fields).await.unwrap();
    w.store
        .records()
        .set_sync_flag(&w.actor.user_id, bo.id(), true)
        .await
        .unwrap();
    clean(&w.sync().await);
    let contacts = folder(&server, GraphResource::Contacts, "contacts");
    assert_eq!(server.items(&contacts).len(), 3);
    let ada_item = href_of(&w, "contacts", ada.id()).await;
    let bo_item = href_of(&w, "contacts", bo.id()).await;
    let cy_item = href_of(&w, "contacts", cy.id()).await;

    // Outlook deletes Ada; bob deletes Bo and alice Cy in the CRM.
    server.user_delete(&contacts, &ada_item);
    w.store
        .records()
        .delete::<ContactFields>(bo.id(), Some(bo.version()))
        .await
        .unwrap();
    w.store
        .records()
        .delete::<ContactFields>(cy.id(), Some(cy.version()))
        .await
        .unwrap();
    let report = w.sync().await;
    clean(&report);
    assert_eq!(
        applied(&report, "contacts", "status mark-removed-by-user"),
        1,
        "{report}"
    );
    assert_eq!(applied(&report, "contacts", "groupware delete"), 1, "{report}");
    assert_eq!(applied(&report, "contacts", "status unlink"), 1, "{report}");

    // R-DEL-1: Ada stays in the CRM, active, her pair removed by the user.
    let ada_now = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert!(ada_now.fields.active, "not deactivated");
    assert_eq!(ada_now.version(), ada.version(), "not touched");
    let pair = pair_of(&w, "contacts", ada.id()).await.expect("the pair is kept");
    assert_eq!(pair.state, PairState::RemovedByUser);
    // R-DEL-3: bob's contact leaves Outlook; alice's own stays there, unlinked.
    assert!(server.item(&contacts, &bo_item).is_none(), "removed from Graph");
    assert!(pair_of(&w, "contacts", bo.id()).await.is_none(), "its pair is gone");
    assert_eq!(server.item(&contacts, &cy_item).unwrap()["surname"], "Young");
    assert_eq!(
        pair_of(&w, "contacts", cy.id()).await.unwrap().state,
        PairState::Unlinked
    );
    assert_eq!(ids(server.items(&contacts)), vec![cy_item.clone()]);

    // Ada is not re-created, Cy not deleted, nothing moves.
    assert_quiet(&w, &server).await;
    assert_eq!(ids(server.items(&contacts)), vec![cy_item]);
    assert!(w.store.records().get::<ContactFields>(ada.id()).await.is_ok());
}

/// A meeting alice organises that ended `days_ago` days before now.
async fn past_meeting(w: &World, subject: &str, days_ago: i64) -> Activity {
    let mut a = common::meeting_fields(&w.actor.user_id, subject, common::now() - Duration::days(days_ago));
    a.state = ActivityState::Completed;
    w.store.records().create(&w.actor.user_id, a).await.unwrap()
}

// R-DEL-6, R-DEL-7, R-DEL-8, R-DEL-9
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_del_6_7_8_9_graph_appointment_deletions_follow_planned_and_completed() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    let planned_outlook = w.meeting("Kick-off", 2).await;
    let planned_crm = w.meeting("Budget review", 3).await;
    // Completed ones inside the window's 30 past days.
    let done_outlook = past_meeting(&w, "Retrospective", 3).await;
    let done_crm = past_meeting(&w, "Post-mortem", 4).await;
    clean(&w.sync().await);
    let calendar = folder(&server, GraphResource::Events, "calendar");
    assert_eq!(server.items(&calendar).len(), 4, "all four written");
    let planned_outlook_item = href_of(&w, "calendar", planned_outlook.id()).await;
    let planned_crm_item = href_of(&w, "calendar", planned_crm.id()).await;
    let done_outlook_item = href_of(&w, "calendar", done_outlook.id()).await;
    let done_crm_item = href_of(&w, "calendar", done_crm.id()).await;

    server.user_delete(&calendar, &planned_outlook_item);
    server.user_delete(&calendar, &done_outlook_item);
    for a in [&planned_crm, &done_crm] {
        w.store
            .records()
            .delete::<ActivityFields>(a.id(), Some(a.version()))
            .await
            .unwrap();
    }
    let report = w.sync().await;
    clean(&report);
    assert_eq!(applied(&report, "calendar", "crm delete"), 1, "{report}");
    assert_eq!(applied(&report, "calendar", "groupware delete"), 1, "{report}");
    assert_eq!(
        applied(&report, "calendar", "status mark-removed-by-user"),
        1,
        "{report}"
    );
    assert_eq!(applied(&report, "calendar", "status unlink"), 1, "{report}");

    let records = w.store.records();
    // R-DEL-6: the organizer deleted a planned meeting in Outlook.
    assert!(records.get::<ActivityFields>(planned_outlook.id()).await.is_err());
    // R-DEL-7: a planned meeting deleted in the CRM leaves Outlook.
    assert!(server.item(&calendar, &planned_crm_item).is_none());
    // R-DEL-8: a completed one deleted in Outlook: the CRM is unchanged.
    let kept = records.get::<ActivityFields>(done_outlook.id()).await.unwrap();
    assert_eq!(kept.version(), done_outlook.version());
    assert_eq!(
        pair_of(&w, "calendar", done_outlook.id()).await.unwrap().state,
        PairState::RemovedByUser
    );
    // R-DEL-9: a completed one deleted in the CRM stays in the calendar.
    assert_eq!(
        server.item(&calendar, &done_crm_item).unwrap()["subject"],
        "Post-mortem"
    );
    assert_eq!(
        pair_of(&w, "calendar", done_crm.id()).await.unwrap().state,
        PairState::Unlinked
    );
    assert_eq!(ids(server.items(&calendar)), vec![done_crm_item.clone()]);

    assert_quiet(&w, &server).await;
    assert_eq!(ids(server.items(&calendar)), vec![done_crm_item]);
    assert!(records.get::<ActivityFields>(done_outlook.id()).await.is_ok());
}

// R-DEL-10, R-DEL-11
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_del_10_11_graph_task_deletions_follow_open_and_completed() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    let in_todo = w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    let open = w.task(ActivityKind::Task, "Send the offer").await;
    let mut done_fields = ActivityFields::new(ActivityKind::Letter, "Thank-you letter");
    done_fields.due = Some(common::now() - Duration::days(2));
    done_fields.state = ActivityState::Completed;
    done_fields.completed_at = Some(common::now() - Duration::days(1));
    let done = w.store.records().create(&w.actor.user_id, done_fields).await.unwrap();
    clean(&w.sync().await);
    let tasks = folder(&server, GraphResource::Tasks, "tasks");
    assert_eq!(server.items(&tasks).len(), 3);
    let in_todo_item = href_of(&w, "tasks", in_todo.id()).await;
    let open_item = href_of(&w, "tasks", open.id()).await;
    let done_item = href_of(&w, "tasks", done.id()).await;
    assert_eq!(server.item(&tasks, &done_item).unwrap()["status"], "completed");

    server.user_delete(&tasks, &in_todo_item);
    for a in [&open, &done] {
        w.store
            .records()
            .delete::<ActivityFields>(a.id(), Some(a.version()))
            .await
            .unwrap();
    }
    let report = w.sync().await;
    clean(&report);
    assert_eq!(applied(&report, "tasks", "crm delete"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "groupware delete"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "status unlink"), 1, "{report}");

    // R-DEL-10: deleted in To Do, deleted in the CRM.
    assert!(w.store.records().get::<ActivityFields>(in_todo.id()).await.is_err());
    assert!(pair_of(&w, "tasks", in_todo.id()).await.is_none());
    // R-DEL-11: the open task leaves To Do, the completed one stays, unlinked.
    assert!(server.item(&tasks, &open_item).is_none());
    assert_eq!(server.item(&tasks, &done_item).unwrap()["title"], "Thank-you letter");
    assert_eq!(
        pair_of(&w, "tasks", done.id()).await.unwrap().state,
        PairState::Unlinked
    );
    assert_eq!(ids(server.items(&tasks)), vec![done_item.clone()]);

    assert_quiet(&w, &server).await;
    assert_eq!(ids(server.items(&tasks)), vec![done_item]);
}

// R-EDIT-2: Outlook and the CRM change different fields of one contact
// between two runs (no write races, no 412): both edits land on both sides
// and no conflict is queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_edit_2_graph_disjoint_edits_are_both_kept_without_a_conflict() {
    let server = GraphServer::start().await.unwrap();
    let w = world(&server).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    clean(&w.sync().await);
    let contacts = folder(&server, GraphResource::Contacts, "contacts");
    let item = href_of(&w, "contacts", ada.id()).await;

    server.user_update(&contacts, &item, json!({"jobTitle": "Analyst"}));
    let mut fields = ada.fields.clone();
    fields.phone_business = Some("+44 20 7946 0000".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    let report = w.sync().await;
    clean(&report);
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    assert_eq!(server.stats().precondition_failed, 0, "no race involved");

    let crm = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(crm.fields.job_title.as_deref(), Some("Analyst"));
    assert_eq!(crm.fields.phone_business.as_deref(), Some("+44 20 7946 0000"));
    let stored = server.item(&contacts, &item).unwrap();
    assert_eq!(stored["jobTitle"], "Analyst");
    assert_eq!(stored["businessPhones"], json!(["+44 20 7946 0000"]));
    let conflicts = w.store.sync_state().open_conflicts(Some("alice")).await.unwrap();
    assert!(conflicts.is_empty(), "{conflicts:#?}");

    assert_quiet(&w, &server).await;
}
