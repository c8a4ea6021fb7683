//! End to end: a SQLite CRM ↔ a real CardDAV/CalDAV server (Radicale and
//! Xandikos, the same test bodies for each), with edits made by independent
//! clients (plain HTTP, the `caldav` Python package, vdirsyncer).

use crate::dav_world;
use std::collections::BTreeSet;

use chrono::Duration;
use crmsync_connector::Connector;
use crmsync_model::{ActivityFields, ActivityKind, ContactFields, OccurrenceOverride, Recurrence};
use dav_world::python::{run_script, vdirsyncer};
use dav_world::{DavWorld, Http, PASSWORD, Peer, PeerKind, USER, applied, text, writes};

macro_rules! dav_e2e {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            // R-MAP-1, R-MAP-2, R-MAP-4, R-MAP-5, R-CAL-4, R-EDIT-1
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_map_contacts_series_and_three_task_types_go_to_the_server_and_back() {
                round_trip($kind).await;
            }
            // R-EDIT-1, R-MAP-5
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_edit_1_edits_by_independent_clients_come_back_into_the_crm() {
                independent_edits($kind).await;
            }
            // R-DEL-1, R-DEL-10, R-DEL-7
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_del_deletions_follow_the_rule_of_each_type() {
                deletions($kind).await;
            }
            // R-SAFE-4
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_safe_4_malformed_server_item_is_quarantined_and_the_rest_syncs() {
                malformed_item($kind).await;
            }
            // R-EDIT-1 (interop)
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn vdirsyncer_sees_what_crmsync_wrote_and_its_edit_comes_back() {
                vdirsyncer_interop($kind).await;
            }
            // R-SAFE-5, R-SYNC-COLL-1
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_safe_5_dry_run_plans_against_the_existing_dav_collections() {
                dry_run_finds_collections($kind).await;
            }
            // R-CAL-1
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_cal_1_event_gone_from_a_token_delta_after_leaving_the_window_stays_in_the_crm() {
                window_with_tokens($kind).await;
            }
        }
    )*};
}

dav_e2e!(radicale => PeerKind::Radicale, xandikos => PeerKind::Xandikos);

/// Every item's ETag in the three collections: equal before and after a
/// run means the run wrote nothing to the server.
async fn server_etags(w: &DavWorld) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for name in ["contacts", "calendar", "tasks"] {
        for item in w.items(name).await {
            all.insert((format!("{name}/{}", item.href.as_str()), item.etag.as_str().to_owned()));
        }
    }
    all
}

/// A no-change re-sync writes nothing on either side.
async fn assert_quiet(w: &DavWorld) {
    let before = server_etags(w).await;
    let report = w.sync().await;
    assert_eq!(writes(&report), 0, "a no-change re-sync must write nothing: {report}");
    assert_eq!(server_etags(w).await, before, "the server must be untouched");
}

async fn round_trip(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.contact("Alan", "Turing", "alan@example.com").await;

    // A weekly series: the second occurrence cancelled, the third moved by two hours.
    let mut weekly = w.meeting_fields("Weekly sync", 1);
    let first = weekly.start.unwrap();
    weekly.recurrence = Some(Recurrence {
        rule: "FREQ=WEEKLY;COUNT=6".into(),
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
    w.task(ActivityKind::Task, "Prepare the offer").await;
    w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    w.task(ActivityKind::Letter, "Send the contract").await;

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 2, "{report}");
    assert_eq!(applied(&report, "calendar", "groupware create"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "groupware create"), 3, "{report}");

    // On the server: cards, one VEVENT series with its exception, three VTODOs.
    let cards = w.items("contacts").await;
    assert_eq!(cards.len(), 2);
    assert!(cards.iter().any(|c| text(c).contains("ada@example.com")));
    let events = w.items("calendar").await;
    assert_eq!(events.len(), 1, "a series is one resource");
    let ics = text(&events[0]);
    for needle in [
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "EXDATE",
        "RECURRENCE-ID",
        "Weekly sync (moved)",
    ] {
        assert!(ics.contains(needle), "{needle} missing from\n{ics}");
    }
    let todos = w.items("tasks").await;
    assert_eq!(todos.len(), 3);
    assert!(todos.iter().all(|t| text(t).contains("BEGIN:VTODO")));

    // Back: a second CRM pointed at the same account reads it all in.
    let other = DavWorld::new(&peer).await;
    let report = other.sync().await;
    assert_eq!(applied(&report, "contacts", "crm create"), 2, "{report}");
    assert_eq!(applied(&report, "calendar", "crm create"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "crm create"), 3, "{report}");
    assert_eq!(writes(&report), 6, "reading in writes nothing to the server: {report}");
    let theirs = other.activities().await;
    let series_back = theirs
        .iter()
        .find(|a| a.fields.subject == "Weekly sync")
        .expect("the series came back");
    assert_eq!(series_back.fields.kind, ActivityKind::Appointment);
    assert_eq!(series_back.fields.start, series.fields.start);
    assert_eq!(series_back.fields.end, series.fields.end);
    let (sent, got) = (
        series.fields.recurrence.as_ref().unwrap(),
        series_back
            .fields
            .recurrence
            .as_ref()
            .expect("R-CAL-4: the rule survives"),
    );
    assert_eq!(got.rule, sent.rule);
    assert_eq!(got.exdates, sent.exdates, "R-CAL-4: the exception survives");
    // An override keeps only what differs from the series: an end one series
    // duration after its start is implied, so it may come back as `None`.
    assert_eq!(got.overrides.len(), 1, "R-CAL-4: the moved occurrence survives");
    let (moved, back) = (&sent.overrides[0], &got.overrides[0]);
    assert_eq!(
        (back.recurrence_id, back.start, &back.subject),
        (moved.recurrence_id, moved.start, &moved.subject)
    );
    assert_eq!(back.end.or(back.start.map(|s| s + Duration::hours(1))), moved.end);
    // R-MAP-5: each activity type comes back as itself.
    let kinds: BTreeSet<(String, String)> = theirs
        .iter()
        .filter(|a| a.fields.kind != ActivityKind::Appointment)
        .map(|a| (a.fields.subject.clone(), format!("{:?}", a.fields.kind)))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("Prepare the offer", ActivityKind::Task),
        ("Call Ada back", ActivityKind::PhoneCall),
        ("Send the contract", ActivityKind::Letter),
    ]
    .iter()
    .map(|(s, k)| (s.to_string(), format!("{k:?}")))
    .collect();
    assert_eq!(kinds, expected);

    assert_quiet(&w).await;
    assert_quiet(&other).await;
}

async fn independent_edits(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    let review = w.meeting("Design review", 2).await;
    let call = w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    w.sync().await;

    // Plain HTTP: a conditional PUT of the edited card, as a CardDAV client does.
    let http = Http::new(&peer);
    let card = w.item_with("contacts", "ada@example.com").await;
    let path = w.path_of("contacts", &card).await;
    let edited = text(&card).replace("ada@example.com", "ada@analytical.engine");
    let status = http.put_card(&path, card.etag.as_str(), &edited).await;
    assert!((200..300).contains(&status), "PUT with If-Match: {status}");

    // The `caldav` package: a user's calendar app renames the meeting and the call.
    let calendar_url = format!(
        "{}{}",
        peer.url().trim_end_matches('/'),
        w.collection("calendar").await.id
    );
    let tasks_url = format!("{}{}", peer.url().trim_end_matches('/'), w.collection("tasks").await.id);
    let review_uid = review.fields.ical_uid.clone().unwrap_or_else(|| review.id().to_owned());
    let call_uid = call.fields.ical_uid.clone().unwrap_or_else(|| call.id().to_owned());
    let url = peer.url();
    let client = [url.as_str(), USER, PASSWORD];
    let args = |collection: &str, uid: &str, value: &str| -> Vec<String> {
        client
            .iter()
            .map(|s| s.to_string())
            .chain([collection, uid, "set", "summary", value].iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |a: Vec<String>| run_script("caldav_client.py", &a.iter().map(String::as_str).collect::<Vec<_>>());
    run(args(&calendar_url, &review_uid, "Design review (room 2)"));
    run(args(&tasks_url, &call_uid, "Call Ada back about the engine"));

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    assert_eq!(applied(&report, "calendar", "crm update"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "crm update"), 1, "{report}");
    let ada = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(ada.fields.email1.as_deref(), Some("ada@analytical.engine"));
    let review = w.store.records().get::<ActivityFields>(review.id()).await.unwrap();
    assert_eq!(review.fields.subject, "Design review (room 2)");
    let call = w.store.records().get::<ActivityFields>(call.id()).await.unwrap();
    assert_eq!(call.fields.subject, "Call Ada back about the engine");
    assert_eq!(call.fields.kind, ActivityKind::PhoneCall, "R-MAP-5");

    assert_quiet(&w).await;
}

async fn deletions(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    let call = w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    let planned = w.meeting("Kick-off", 3).await;
    w.sync().await;

    // R-DEL-1: the card deleted on the server (plain HTTP, If-Match) stays in the CRM.
    let card = w.item_with("contacts", "ada@example.com").await;
    let path = w.path_of("contacts", &card).await;
    let (status, _) = Http::new(&peer)
        .send("DELETE", &path, &[("If-Match", card.etag.as_str())], b"")
        .await;
    assert!((200..300).contains(&status), "DELETE: {status}");
    // R-DEL-10: the call deleted on the server (the `caldav` package) leaves the CRM.
    let tasks_url = format!("{}{}", peer.url().trim_end_matches('/'), w.collection("tasks").await.id);
    let call_uid = call.fields.ical_uid.clone().unwrap_or_else(|| call.id().to_owned());
    run_script(
        "caldav_client.py",
        &[&peer.url(), USER, PASSWORD, &tasks_url, &call_uid, "delete"],
    );
    // R-DEL-7: the planned appointment deleted in the CRM leaves the server.
    w.store
        .records()
        .delete::<ActivityFields>(planned.id(), Some(planned.version()))
        .await
        .unwrap();

    let report = w.sync().await;
    assert_eq!(
        applied(&report, "contacts", "status mark-removed-by-user"),
        1,
        "{report}"
    );
    assert!(
        w.store.records().get::<ContactFields>(ada.id()).await.is_ok(),
        "R-DEL-1: the contact stays"
    );
    assert_eq!(applied(&report, "tasks", "crm delete"), 1, "{report}");
    assert!(
        w.store.records().get::<ActivityFields>(call.id()).await.is_err(),
        "R-DEL-10"
    );
    assert_eq!(applied(&report, "calendar", "groupware delete"), 1, "{report}");
    assert!(w.items("calendar").await.is_empty(), "R-DEL-7: removed from the server");

    // R-DEL-1: not re-created either, and nothing else moves.
    assert_quiet(&w).await;
    assert!(w.items("contacts").await.is_empty());
}

async fn malformed_item(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;

    // Not a valid vCard (a date that is none, a calendar component inside a
    // card), yet both servers store it.
    let bad = b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:bad\r\nFN:Bad\r\nN:Bad;;;;\r\nBDAY:not-a-date\r\n\
BEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCARD\r\n";
    let contacts = w.collection("contacts").await;
    let path = format!("{}bad.vcf", contacts.id);
    let (status, _) = Http::new(&peer)
        .send(
            "PUT",
            &path,
            &[("Content-Type", "text/vcard"), ("If-None-Match", "*")],
            bad,
        )
        .await;
    assert!((200..300).contains(&status), "PUT of a malformed card: {status}");
    w.contact("Alan", "Turing", "alan@example.com").await;

    let report = w.sync().await;
    let contacts_report = report.collections.iter().find(|c| c.collection == "contacts").unwrap();
    assert!(
        contacts_report.quarantined.keys().any(|h| h.contains("bad")),
        "{report}"
    );
    assert_eq!(
        applied(&report, "contacts", "groupware create"),
        1,
        "the rest syncs: {report}"
    );
    assert_eq!(w.store.sync_state().quarantined("alice").await.unwrap().len(), 1);
    let cards = w.items("contacts").await;
    assert_eq!(cards.len(), 3, "the bad card is never deleted");
    assert!(cards.iter().any(|c| text(c).contains("alan@example.com")));
    assert_quiet(&w).await;
}

async fn vdirsyncer_interop(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.contact("Alan", "Turing", "alan@example.com").await;
    w.meeting("Design review", 2).await;
    w.sync().await;

    let root = peer.scratch("vdirsyncer");
    let contacts = w.collection("contacts").await;
    let calendar = w.collection("calendar").await;
    let base = peer.url();
    let base = base.trim_end_matches('/');
    let mut config = format!("[general]\nstatus_path = \"{}/status/\"\n", root.display());
    for (name, storage, id, ext) in [
        ("contacts", "carddav", &contacts.id, ".vcf"),
        ("calendar", "caldav", &calendar.id, ".ics"),
    ] {
        std::fs::create_dir_all(root.join(name)).unwrap();
        config += &format!(
            "\n[pair {name}]\na = \"{name}_local\"\nb = \"{name}_remote\"\ncollections = null\n\
             \n[storage {name}_local]\ntype = \"filesystem\"\npath = \"{}\"\nfileext = \"{ext}\"\n\
             \n[storage {name}_remote]\ntype = \"{storage}\"\nurl = \"{base}{id}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
            root.join(name).display()
        );
    }
    let config_path = root.join("config");
    std::fs::write(&config_path, config).unwrap();
    vdirsyncer(&config_path, &["discover"]);
    vdirsyncer(&config_path, &["sync"]);

    // Exactly the items crmsync wrote, byte for byte.
    for (name, ext) in [("contacts", "vcf"), ("calendar", "ics")] {
        let server: BTreeSet<String> = w.items(name).await.iter().map(text).collect();
        let local: BTreeSet<String> = std::fs::read_dir(root.join(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        // vdirsyncer stores items with the platform's line ends, not CRLF.
        let server: BTreeSet<String> = server.iter().map(|t| t.replace("\r\n", "\n")).collect();
        assert_eq!(local, server, "vdirsyncer's {name} differ from what crmsync wrote");
    }
    assert_eq!(w.items("contacts").await.len(), 2);

    // An edit pushed by vdirsyncer comes back into the CRM.
    let file = std::fs::read_dir(root.join("contacts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read_to_string(p).unwrap().contains("ada@example.com"))
        .expect("Ada's card in the vdir");
    let card = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, card.replace("ada@example.com", "ada@analytical.engine")).unwrap();
    vdirsyncer(&config_path, &["sync"]);
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    let ada = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(ada.fields.email1.as_deref(), Some("ada@analytical.engine"));
    assert_quiet(&w).await;
}

async fn window_with_tokens(kind: PeerKind) {
    let peer = Peer::start(kind);
    let mut w = DavWorld::new(&peer).await;
    let old = w.meeting("Last year's fair", 1).await;
    let planned = w.meeting("Next fair", 90).await;
    w.sync().await;
    let calendar = w.collection("calendar").await;
    let cursor_before = w.store.sync_state().cursor("alice", "calendar").await.unwrap();
    assert!(
        cursor_before.as_ref().and_then(|c| c.token.as_ref()).is_some(),
        "the runner keeps the server's sync token: {cursor_before:?}"
    );

    // Sixty days later the fair ended long before the 30-day window; the
    // server drops it (as a retention policy would), so the next
    // sync-collection delta lists it as deleted.
    w.now += Duration::days(60);
    let old_item = w.item_with("calendar", "Last year's fair").await;
    w.dav
        .delete(&calendar.id, &old_item.href, &old_item.etag)
        .await
        .unwrap();
    let delta = w
        .dav
        .changes(
            &calendar.id,
            cursor_before
                .as_ref()
                .and_then(|c| c.token.clone())
                .map(crmsync_connector::SyncToken::new)
                .as_ref(),
        )
        .await
        .unwrap();
    assert!(!delta.complete && delta.deleted.contains(&old_item.href), "{delta:?}");

    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "crm delete"), 0, "{report}");
    assert!(
        w.store.records().get::<ActivityFields>(old.id()).await.is_ok(),
        "R-CAL-1: leaving the window deletes nothing"
    );
    let history = w
        .store
        .sync_state()
        .history("alice", Some(old.id()), None)
        .await
        .unwrap();
    assert!(
        history.iter().any(|h| h.rule == "R-CAL-1"),
        "the decision names R-CAL-1: {history:#?}"
    );

    // The counter-case: a planned one deleted on the server by its organizer
    // does leave the CRM (R-DEL-6), so the rule above is what kept the fair.
    let planned_item = w.item_with("calendar", "Next fair").await;
    w.dav
        .delete(&calendar.id, &planned_item.href, &planned_item.etag)
        .await
        .unwrap();
    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "crm delete"), 1, "{report}");
    assert!(w.store.records().get::<ActivityFields>(planned.id()).await.is_err());
}

async fn dry_run_finds_collections(kind: PeerKind) {
    let peer = Peer::start(kind);
    let w = DavWorld::new(&peer).await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.contact("Alan", "Turing", "alan@example.com").await;
    w.task(ActivityKind::Letter, "Send the contract").await;
    w.sync().await;
    let mut fields = ada.fields.clone();
    fields.job_title = Some("Analyst".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();

    // A dry run creates no collection, so it must find the ones the server
    // has by their hrefs (`/…/contacts/`); planning against "none" would
    // show every record as a create.
    let before = server_etags(&w).await;
    let opts = crmsync_sync::RunOptions {
        dry_run: true,
        ..w.options()
    };
    let report = crmsync_sync::run_profile(&w.store, &w.profile, &opts).await.unwrap();
    let planned: Vec<String> = report
        .collections
        .iter()
        .flat_map(|c| c.plan.writes().map(move |a| format!("{} {a:?}", c.collection)))
        .collect();
    assert_eq!(planned.len(), 1, "only Ada's edit is to be written: {planned:#?}");
    assert!(planned[0].starts_with("contacts"), "{planned:?}");
    assert_eq!(server_etags(&w).await, before, "a dry run writes nothing");
}
