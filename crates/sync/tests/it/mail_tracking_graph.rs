//! E-mail tracking from Exchange Online over Graph (R-GRAPH-25..29, SPEC
//! §10): messages filed "in Outlook" (straight on the testkit's Graph
//! server), then the real runner with the Graph mail source, on SQLite and
//! PostgreSQL.

use std::sync::Arc;

use crmsync_connector::MailSource;
use crmsync_graph::{GraphConnector, GraphMail};
use crmsync_model::UserFields;
use crmsync_model::{Activity, ActivityFields, ActivityKind, Actor, ContactFields, EmailDirection, PartyKind, Role};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::{MailProfile, MailTracking, RunOptions, RunReport, SyncError, SyncProfile, run_profile};
use crmsync_testkit::{Backend, GraphServer, TestDatabase};
use crmsync_vdir::{VdirConfig, VdirConnector};
use serde_json::{Value, json};

const PROFILE: &str = "anna-mail";

struct World {
    _db: TestDatabase,
    dir: tempfile::TempDir,
    store: Store,
    server: GraphServer,
    anna: Actor,
    contact_id: String,
}

async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::create(backend, "crmsync_gmail").await;
    let store = Store::connect(db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let (user, _) = store
        .records()
        .create_user(UserFields::active_user("anna", GraphServer::MAILBOX))
        .await
        .unwrap();
    let anna = Actor {
        user_id: user.meta.id,
        role: Role::User,
    };
    let carla = ContactFields {
        first_name: Some("Carla".into()),
        last_name: Some("Kunde".into()),
        email1: Some("carla@customer.example".into()),
        ..ContactFields::default()
    };
    let contact_id = store.records().create(&anna.user_id, carla).await.unwrap().meta.id;
    let server = GraphServer::start().await.unwrap();
    body(World {
        _db: db,
        dir: tempfile::tempdir().unwrap(),
        store,
        server,
        anna,
        contact_id,
    })
    .await;
}

/// The category trigger is an Outlook category (R-TRACK-4).
fn tracking() -> MailTracking {
    MailTracking {
        keyword: "CRM".into(),
        ..MailTracking::default()
    }
}

impl World {
    fn source(&self) -> Arc<GraphMail> {
        Arc::new(GraphMail::new(GraphConnector::new(self.server.config()).unwrap()))
    }

    fn profile(&self, source: Arc<dyn MailSource>) -> SyncProfile {
        let root = self.dir.path().join("vdir");
        std::fs::create_dir_all(&root).unwrap();
        let vdir = VdirConnector::open(&VdirConfig::new(root)).unwrap();
        SyncProfile::new(
            PROFILE,
            self.anna.clone(),
            crmsync_engine::Profile::new(&self.anna.user_id),
            Arc::new(vdir),
        )
        .mail_only(MailProfile {
            source,
            tracking: tracking(),
        })
    }

    async fn run(&self, profile: &SyncProfile) -> Result<RunReport, SyncError> {
        run_profile(&self.store, profile, &RunOptions::default()).await
    }

    async fn emails(&self) -> Vec<Activity> {
        let page = self
            .store
            .records()
            .list::<ActivityFields>(&ListQuery {
                limit: MAX_PAGE,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        page.items
            .into_iter()
            .filter(|a| a.fields.kind == ActivityKind::Email)
            .collect()
    }

    async fn email(&self, subject: &str) -> Activity {
        let found: Vec<Activity> = self
            .emails()
            .await
            .into_iter()
            .filter(|e| e.fields.subject == subject)
            .collect();
        assert_eq!(found.len(), 1, "one CRM e-mail {subject:?}");
        found.into_iter().next().unwrap()
    }

    fn crm_folder(&self) -> String {
        self.server
            .folder_id(crmsync_testkit::GraphResource::Messages, "CRM")
            .expect("the tracking folder exists")
    }

    /// Files a message into `folder` as Outlook would.
    fn file(&self, folder: &str, n: usize, extra: Value) -> Value {
        let mut message = message(n);
        if let (Value::Object(m), Value::Object(extra)) = (&mut message, extra) {
            m.extend(extra);
        }
        self.server.user_create(folder, message)
    }
}

/// A message shaped as https://learn.microsoft.com/en-us/graph/api/resources/message documents it.
fn message(n: usize) -> Value {
    json!({
        "subject": format!("Offer {n}"),
        "from": {"emailAddress": {"name": "Carla Kunde", "address": "carla@customer.example"}},
        "toRecipients": [{"emailAddress": {"name": "Anna", "address": GraphServer::MAILBOX}}],
        "ccRecipients": [{"emailAddress": {"name": "List", "address": "list@customer.example"}}],
        "receivedDateTime": "2026-12-01T10:00:05Z",
        "sentDateTime": "2026-12-01T10:00:00Z",
        "internetMessageId": format!("<offer-{n}@customer.example>"),
        "conversationId": format!("AAQkConv{n}"),
        "categories": [],
        "body": {"contentType": "text", "content": format!("Hello Anna, see offer {n}.")}
    })
}

fn mail_applied(report: &RunReport, key: &str) -> usize {
    report.applied("mail", key)
}

fn categories(item: &Value) -> Vec<String> {
    item["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect()
}

fn deltas_since(server: &GraphServer, from: usize) -> Vec<String> {
    server.stats().log[from..].to_vec()
}

crmsync_testkit::on_both_backends!(
    r_graph_25_messages_in_the_tracking_folder_and_with_the_category_become_crm_emails,
    run,
    |w: World| {
        let source = w.source();
        let profile = w.profile(source.clone());
        // The first run makes the missing tracking folder (R-TRACK-4).
        let first = w.run(&profile).await.unwrap();
        assert_eq!(first.writes(), 0, "{first:?}");
        let crm = w.crm_folder();
        let inbox = w.server.inbox_id();
        let filed = w.file(&crm, 1, json!({}));
        let tagged = w.file(&inbox, 2, json!({"categories": ["CRM"]}));
        w.file(
            &inbox,
            3,
            json!({"subject": "Newsletter", "internetMessageId": "<news@x.example>"}),
        );

        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm create"), 2, "{report:?}");
        let email = w.email("Offer 1").await;
        assert_eq!(email.fields.message_id.as_deref(), Some("offer-1@customer.example"));
        assert_eq!(email.meta.owner_id, w.anna.user_id);
        let details = email.fields.email.as_ref().unwrap();
        assert_eq!(details.direction, EmailDirection::Incoming);
        let from = details.from.as_ref().unwrap();
        assert_eq!(
            (from.kind, from.id.as_deref()),
            (PartyKind::Contact, Some(w.contact_id.as_str()))
        );
        assert_eq!(
            (details.to[0].kind, details.to[0].id.as_deref()),
            (PartyKind::User, Some(w.anna.user_id.as_str()))
        );
        assert_eq!(details.cc[0].kind, PartyKind::Email);
        assert!(details.text_body.as_deref().unwrap().contains("see offer 1"));
        assert!(details.received_at.is_some(), "receivedDateTime is the arrival time");
        w.email("Offer 2").await;
        assert!(w.emails().await.iter().all(|e| e.fields.subject != "Newsletter"));
        // R-TRACK-9: the mailbox shows what is tracked, as an Outlook category.
        for (folder, item) in [(&crm, &filed), (&inbox, &tagged)] {
            let now = w.server.item(folder, item["id"].as_str().unwrap()).unwrap();
            assert!(categories(&now).contains(&"$CRMTracked".to_string()), "{now}");
        }
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.tracked && r.marked), "{rows:?}");

        // A reply in the Inbox to a tracked message is tracked (R-TRACK-4).
        w.file(
            &inbox,
            4,
            json!({
                "subject": "Re: Offer 1",
                "from": {"emailAddress": {"name": "Anna", "address": GraphServer::MAILBOX}},
                "toRecipients": [{"emailAddress": {"address": "carla@customer.example"}}],
                "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<offer-1@customer.example>"}]
            }),
        );
        // crmsync's own marks come back in this delta round and change nothing.
        let replies = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&replies, "crm create"), 1, "{replies:?}");
        let reply = w.email("Re: Offer 1").await;
        assert_eq!(reply.fields.email.as_ref().unwrap().direction, EmailDirection::Outgoing);

        // The reply's mark comes back in the next round: its place has a
        // row, so it is neither looked at again nor fetched.
        let before = w.server.stats().log.len();
        let settle = w.run(&profile).await.unwrap();
        assert_eq!(settle.writes(), 0, "{settle:?}");
        let requests = deltas_since(&w.server, before);
        assert!(requests.iter().all(|r| r.contains("/messages/delta?")), "{requests:#?}");
        // Settled: a run with nothing new is one delta request per folder.
        let before = w.server.stats().log.len();
        let quiet = w.run(&profile).await.unwrap();
        assert_eq!(quiet.writes(), 0, "{quiet:?}");
        let requests = deltas_since(&w.server, before);
        assert_eq!(requests.len(), 2, "one delta per folder (CRM, Inbox): {requests:#?}");
        assert!(
            requests
                .iter()
                .all(|r| r.starts_with("GET ") && r.contains("/messages/delta?$deltatoken="))
        );
        assert_eq!(w.emails().await.len(), 3);
        assert_eq!(w.server.stats().without_immutable_id, 0);
    }
);

crmsync_testkit::on_both_backends!(
    r_graph_27_a_message_moved_out_or_deleted_is_untracked_and_its_crm_email_stays,
    run,
    |w: World| {
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        let inbox = w.server.inbox_id();
        let moved = w.file(&crm, 1, json!({}));
        let deleted = w.file(&crm, 2, json!({}));
        w.run(&profile).await.unwrap();
        assert_eq!(w.emails().await.len(), 2);

        let moved_id = moved["id"].as_str().unwrap();
        w.server.user_move_message(&crm, &inbox, moved_id);
        w.server.user_delete(&crm, deleted["id"].as_str().unwrap());
        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm untrack"), 2, "{report:?}");
        assert_eq!(w.emails().await.len(), 2, "R-TRACK-10: the CRM e-mails stay");
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert!(rows.iter().all(|r| !r.tracked), "{rows:?}");

        // Filed back (same immutable id): tracked again as the same CRM e-mail.
        w.server.user_move_message(&inbox, &crm, moved_id);
        let back = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&back, "crm create"), 0, "{back:?}");
        assert_eq!(w.emails().await.len(), 2);
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert_eq!(rows.iter().filter(|r| r.tracked).count(), 1, "{rows:?}");
    }
);

crmsync_testkit::on_both_backends!(
    r_graph_26_an_expired_delta_link_lists_again_without_duplicates,
    run,
    |w: World| {
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        for n in 1..=3 {
            w.file(&crm, n, json!({}));
        }
        w.run(&profile).await.unwrap();
        assert_eq!(w.emails().await.len(), 3);
        w.server.switches().expire_delta_tokens("syncStateNotFound");
        w.server.switches().set_page_size(2);
        w.file(&crm, 4, json!({}));
        let report = w.run(&profile).await.unwrap();
        assert!(w.server.stats().gone >= 1, "the stored delta link was refused");
        assert_eq!(mail_applied(&report, "crm create"), 1, "{report:?}");
        let emails = w.emails().await;
        assert_eq!(emails.len(), 4, "no duplicate after the full listing");
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.tracked && r.marked), "{rows:?}");
    }
);

// R-TRACK-MAIL-3 over Graph: a watched folder listed in full because its
// delta link expired is not searched for replies: its history is not new
// mail (found in review: every old reply in the Inbox was tracked).
crmsync_testkit::on_both_backends!(
    r_graph_26_an_expired_delta_link_does_not_track_the_watched_folders_history,
    run,
    |w: World| {
        let inbox = w.server.inbox_id();
        // A reply to offer 1 that was in the Inbox before crmsync came.
        w.file(
            &inbox,
            9,
            json!({
                "subject": "Re: Offer 1",
                "internetMessageHeaders": [{"name": "In-Reply-To", "value": "<offer-1@customer.example>"}]
            }),
        );
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        w.file(&crm, 1, json!({}));
        w.run(&profile).await.unwrap();
        assert_eq!(
            w.emails().await.len(),
            1,
            "offer 1 is tracked, the old reply is not new mail"
        );

        w.server.switches().expire_delta_tokens("syncStateNotFound");
        let report = w.run(&profile).await.unwrap();
        assert!(w.server.stats().gone >= 1, "the stored delta links were refused");
        assert_eq!(mail_applied(&report, "crm create"), 0, "{report:?}");
        let subjects: Vec<String> = w.emails().await.into_iter().map(|e| e.fields.subject).collect();
        assert_eq!(subjects, ["Offer 1"], "the Inbox's history stays out of the CRM");
    }
);

crmsync_testkit::on_both_backends!(
    r_graph_28_a_scan_that_fails_part_way_converges_on_the_next_run,
    run,
    |w: World| {
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        for n in 1..=60 {
            w.file(&crm, n, json!({}));
        }
        // The server fails after 55 messages: the first chunk of 50 is in
        // the CRM, the second is not, the folder's delta link is not saved.
        w.server.switches().fail_mime_after(55);
        let failed = w.run(&profile).await;
        assert!(failed.is_err(), "{failed:?}");
        let part = w.emails().await.len();
        assert!(part < 60, "the run stopped part way ({part})");
        w.server.switches().heal_mime();

        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm create"), 60 - part, "{report:?}");
        let emails = w.emails().await;
        assert_eq!(emails.len(), 60);
        let mut ids: Vec<_> = emails.iter().filter_map(|e| e.fields.message_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 60, "one CRM e-mail per message");
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert_eq!(rows.len(), 60);
        assert!(rows.iter().all(|r| r.tracked && r.marked));
        assert!(
            w.server
                .items(&crm)
                .iter()
                .all(|m| categories(m).contains(&"$CRMTracked".to_string()))
        );
    }
);

crmsync_testkit::on_both_backends!(
    r_graph_28_a_malformed_message_is_a_clear_error_and_loses_nothing,
    run,
    |w: World| {
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        w.file(&crm, 1, json!({}));
        let bad = w.file(&crm, 2, json!({"categories": "CRM"}));
        let bad_id = bad["id"].as_str().unwrap();
        let err = w.run(&profile).await.unwrap_err().to_string();
        assert!(
            err.contains(&format!("message {bad_id} of folder CRM")) && err.contains("categories"),
            "{err}"
        );
        assert!(w.emails().await.is_empty(), "nothing half-done");
        // Still refused on the next run: the position did not move past it.
        assert!(w.run(&profile).await.is_err());
        // Once the message reads, both are tracked.
        w.server.user_update(&crm, bad_id, json!({"categories": []}));
        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm create"), 2, "{report:?}");
    }
);

/// Two message ids whose UIDs of the 32-bit scheme before R-GRAPH-42 are
/// equal (0x5664c4f9). Found once by a birthday search: SHA-256 of
/// `AAMkUidPair{n:08}` for n = 0, 1, 2, …, keeping the first 4 bytes of
/// each until one repeated (at n = 84,183, in a fraction of a second).
const OLD_COLLIDING_IDS: [&str; 2] = ["AAMkUidPair00005335", "AAMkUidPair00084183"];

/// A UID or UIDVALIDITY of the 32-bit scheme before R-GRAPH-42: the first
/// 32 bits of SHA-256 of the id, which are the top 32 of today's 63.
fn old_uid(id: &str) -> u64 {
    crmsync_graph::uid_of(id) >> 31
}

crmsync_testkit::on_both_backends!(
    r_graph_42_messages_whose_32_bit_uids_collide_are_two_crm_emails,
    run,
    |w: World| {
        assert_eq!(old_uid(OLD_COLLIDING_IDS[0]), old_uid(OLD_COLLIDING_IDS[1]));
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        for (n, id) in OLD_COLLIDING_IDS.into_iter().enumerate() {
            w.server.user_create_with_id(&crm, id, message(n + 1));
        }
        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm create"), 2, "{report:?}");
        w.email("Offer 1").await;
        w.email("Offer 2").await;
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert!(rows.iter().all(|r| r.tracked && r.marked), "{rows:?}");
        for id in OLD_COLLIDING_IDS {
            let now = w.server.item(&crm, id).unwrap();
            assert!(categories(&now).contains(&"$CRMTracked".to_string()), "{now}");
        }

        // R-GRAPH-27 over the pair: deleting one untracks it alone.
        w.server.user_delete(&crm, OLD_COLLIDING_IDS[0]);
        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm untrack"), 1, "{report:?}");
        assert_eq!(w.emails().await.len(), 2, "R-TRACK-10: the CRM e-mails stay");
        let rows = w.store.sync_state().tracked_mail(PROFILE).await.unwrap();
        let state = |key: &str| rows.iter().find(|r| r.message_key == key).map(|r| r.tracked);
        assert_eq!(state("offer-1@customer.example"), Some(false), "{rows:?}");
        assert_eq!(state("offer-2@customer.example"), Some(true), "{rows:?}");
    }
);

crmsync_testkit::on_both_backends!(
    r_graph_42_rows_of_the_32_bit_scheme_are_found_again_without_duplicates,
    run,
    |w: World| {
        let profile = w.profile(w.source());
        w.run(&profile).await.unwrap();
        let crm = w.crm_folder();
        let inbox = w.server.inbox_id();
        let filed: Vec<String> = (1..=3)
            .map(|n| w.file(&crm, n, json!({}))["id"].as_str().unwrap().to_string())
            .collect();
        let tagged = w.file(&inbox, 4, json!({"categories": ["CRM"]}));
        w.run(&profile).await.unwrap();
        assert_eq!(w.emails().await.len(), 4);

        // The database as the 32-bit scheme left it: every UID and
        // UIDVALIDITY the first 32 bits of SHA-256, the delta links kept.
        let state = w.store.sync_state();
        let id_of = |key: &str| -> String {
            match key {
                "offer-4@customer.example" => tagged["id"].as_str().unwrap().to_string(),
                _ => filed[key[6..7].parse::<usize>().unwrap() - 1].clone(),
            }
        };
        let mut rows = state.tracked_mail(PROFILE).await.unwrap();
        for row in &mut rows {
            let folder_id = if row.folder == "CRM" { &crm } else { &inbox };
            row.uid_validity = old_uid(folder_id);
            row.uid = old_uid(&id_of(&row.message_key));
        }
        state.save_tracked_mails(PROFILE, &rows).await.unwrap();
        for (name, folder_id) in [("CRM", &crm), ("INBOX", &inbox)] {
            let mut at = state.mail_folder(PROFILE, name).await.unwrap().expect("polled");
            assert!(at.cursor.is_some(), "{at:?}");
            at.uid_validity = old_uid(folder_id);
            state.save_mail_folder(PROFILE, name, &at).await.unwrap();
        }

        // While the old version ran no more: one message deleted, one filed.
        w.server.user_delete(&crm, &filed[0]);
        w.file(&crm, 5, json!({}));
        let upgraded = w.run(&profile).await.unwrap();
        assert_eq!(
            mail_applied(&upgraded, "crm create"),
            1,
            "only the new one: {upgraded:?}"
        );
        // The rows found again at their new places are never untracked,
        // not even until the chunk that finds them is stored.
        assert_eq!(
            mail_applied(&upgraded, "crm untrack"),
            1,
            "the deleted one: {upgraded:?}"
        );
        assert_eq!(w.emails().await.len(), 5, "no duplicate");
        let rows = state.tracked_mail(PROFILE).await.unwrap();
        let row = |key: &str| rows.iter().find(|r| r.message_key == key).unwrap().clone();
        assert!(
            !row("offer-1@customer.example").tracked,
            "R-GRAPH-27: deleted, untracked: {rows:?}"
        );
        for n in 2..=5 {
            let r = row(&format!("offer-{n}@customer.example"));
            assert!(r.tracked && r.marked, "{r:?}");
            assert!(r.uid_validity > u64::from(u32::MAX), "at its new place: {r:?}");
        }
        assert_eq!(
            row("offer-2@customer.example").uid,
            crmsync_graph::uid_of(&filed[1]),
            "the 63-bit UID"
        );

        // The new message's mark comes back once; then a run is one delta
        // per folder, and R-GRAPH-27 finds the rows at their new places.
        let settle = w.run(&profile).await.unwrap();
        assert_eq!(settle.writes(), 0, "{settle:?}");
        let before = w.server.stats().log.len();
        let quiet = w.run(&profile).await.unwrap();
        assert_eq!(quiet.writes(), 0, "{quiet:?}");
        assert_eq!(deltas_since(&w.server, before).len(), 2);
        w.server.user_delete(&crm, &filed[1]);
        let report = w.run(&profile).await.unwrap();
        assert_eq!(mail_applied(&report, "crm untrack"), 1, "{report:?}");
        let rows = state.tracked_mail(PROFILE).await.unwrap();
        assert!(
            !rows
                .iter()
                .find(|r| r.message_key == "offer-2@customer.example")
                .unwrap()
                .tracked
        );
        assert_eq!(w.emails().await.len(), 5);
    }
);
