//! End to end on the embedded default: SQLite CRM ↔ vdir folders.

use crate::common;
use common::{World, applied, writes};
use crmsync_model::{ActivityFields, ActivityKind, ContactFields};

#[tokio::test]
async fn r_edit_1_first_sync_writes_every_record_and_a_rerun_writes_nothing() {
    let w = World::new().await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.contact("Alan", "Turing", "alan@example.com").await;
    w.meeting("Quarterly review", 2).await;
    w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    w.task(ActivityKind::Letter, "Send the contract").await;

    let first = w.sync().await;
    assert_eq!(applied(&first, "contacts", "groupware create"), 2, "{first}");
    assert_eq!(applied(&first, "calendar", "groupware create"), 1, "{first}");
    assert_eq!(applied(&first, "tasks", "groupware create"), 2, "{first}");
    assert_eq!(w.files("contacts").len(), 2);
    assert_eq!(w.files("calendar").len(), 1);
    assert_eq!(w.files("tasks").len(), 2);

    // Nothing changed anywhere: the second run writes nothing (no ping-pong).
    let second = w.sync().await;
    assert_eq!(writes(&second), 0, "{second}");
}

#[tokio::test]
async fn r_edit_1_groupware_edit_flows_into_the_crm() {
    let w = World::new().await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let file = w.files("contacts").pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("ada@example.com", "ada@analytical.engine")).unwrap();

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    let after = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(after.fields.email1.as_deref(), Some("ada@analytical.engine"));
    assert_eq!(writes(&w.sync().await), 0, "the edit must not bounce back");
}

#[tokio::test]
async fn r_edit_1_crm_edit_flows_into_the_groupware() {
    let w = World::new().await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let mut fields = ada.fields.clone();
    fields.job_title = Some("Analyst".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    let text = std::fs::read_to_string(w.files("contacts").pop().unwrap()).unwrap();
    assert!(text.contains("Analyst"), "{text}");
}

#[tokio::test]
async fn r_del_1_contact_deleted_in_groupware_stays_in_crm_and_is_not_recreated() {
    let w = World::new().await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    std::fs::remove_file(w.files("contacts").pop().unwrap()).unwrap();

    let report = w.sync().await;
    assert_eq!(
        applied(&report, "contacts", "status mark-removed-by-user"),
        1,
        "{report}"
    );
    assert!(
        w.store.records().get::<ContactFields>(ada.id()).await.is_ok(),
        "the CRM contact stays"
    );
    let again = w.sync().await;
    assert!(w.files("contacts").is_empty(), "not re-created: {again}");
}

#[tokio::test]
async fn r_del_10_task_deleted_in_groupware_is_deleted_in_crm() {
    let w = World::new().await;
    let call = w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    w.sync().await;
    std::fs::remove_file(w.files("tasks").pop().unwrap()).unwrap();
    let report = w.sync().await;
    assert_eq!(applied(&report, "tasks", "crm delete"), 1, "{report}");
    assert!(w.store.records().get::<ActivityFields>(call.id()).await.is_err());
}

#[tokio::test]
async fn r_map_5_phone_call_edited_in_groupware_comes_back_as_phone_call() {
    let w = World::new().await;
    let call = w.task(ActivityKind::PhoneCall, "Call Ada back").await;
    w.sync().await;
    let file = w.files("tasks").pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("Call Ada back", "Call Ada back about the engine")).unwrap();
    w.sync().await;
    let after = w.store.records().get::<ActivityFields>(call.id()).await.unwrap();
    assert_eq!(after.fields.kind, ActivityKind::PhoneCall);
    assert_eq!(after.fields.subject, "Call Ada back about the engine");
}

#[tokio::test]
async fn r_cal_2_event_created_in_groupware_becomes_crm_appointment() {
    let w = World::new().await;
    w.sync().await; // creates the folders
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:outside-1@example.com\r\n\
DTSTAMP:20261120T100000Z\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nSUMMARY:Lunch with Grace\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";
    std::fs::write(w.folder("calendar").join("outside-1.ics"), ics).unwrap();
    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "crm create"), 1, "{report}");
    let mine = w.store.records().activities_for_user(&w.actor.user_id).await.unwrap();
    let lunch = mine
        .iter()
        .find(|a| a.fields.subject == "Lunch with Grace")
        .expect("created in the CRM");
    assert_eq!(lunch.fields.kind, ActivityKind::Appointment);
    assert_eq!(lunch.fields.ical_uid.as_deref(), Some("outside-1@example.com"));
    assert_eq!(writes(&w.sync().await), 0);
}

#[tokio::test]
async fn r_safe_4_malformed_file_is_quarantined_and_the_rest_syncs() {
    let w = World::new().await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    std::fs::write(w.folder("contacts").join("broken.vcf"), "BEGIN:VCARD\r\nFN:no end\r\n").unwrap();
    w.contact("Alan", "Turing", "alan@example.com").await;
    let report = w.sync().await;
    let contacts = report.collections.iter().find(|c| c.collection == "contacts").unwrap();
    assert!(contacts.quarantined.keys().any(|h| h.contains("broken")), "{report}");
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    assert!(w.folder("contacts").join("broken.vcf").exists(), "never deleted");
    let q = w.store.sync_state().quarantined("alice").await.unwrap();
    assert_eq!(q.len(), 1);
}

#[tokio::test]
async fn r_safe_5_dry_run_changes_nothing() {
    let w = World::new().await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    let opts = crmsync_sync::RunOptions {
        dry_run: true,
        now: Some(common::now()),
        ..Default::default()
    };
    let report = w.sync_with(&opts).await;
    let contacts = report.collections.iter().find(|c| c.collection == "contacts").unwrap();
    assert_eq!(contacts.plan.writes().count(), 1, "{report}");
    assert!(w.files("contacts").is_empty());
    assert!(
        w.store
            .sync_state()
            .pairs("alice", "contacts")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(w.store.sync_state().runs("alice", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn r_edit_3_manual_conflict_waits_and_resolution_is_applied_by_the_next_sync() {
    let mut w = World::new().await;
    w.profile.rules.contacts.conflict = crmsync_engine::ConflictPolicy::Manual;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let mut fields = ada.fields.clone();
    fields.job_title = Some("Admiral".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    let file = w.files("contacts").pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("END:VCARD", "TITLE:Commodore\r\nEND:VCARD")).unwrap();

    // Held: neither side is overwritten.
    w.sync().await;
    let open = w.store.sync_state().open_conflicts(Some("alice")).await.unwrap();
    assert_eq!(open.len(), 1);
    assert!(std::fs::read_to_string(&file).unwrap().contains("Commodore"));
    let crm = w.store.records().get::<ContactFields>(ada.id()).await.unwrap();
    assert_eq!(crm.fields.job_title.as_deref(), Some("Admiral"));

    // The CRM's value is chosen; the next sync writes it, and only it.
    crmsync_sync::ops::resolve_conflict(
        &w.store.sync_state(),
        &open[0].id,
        &crmsync_sync::ops::ConflictChoice::Crm,
    )
    .await
    .unwrap();
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Admiral") && !text.contains("Commodore"), "{text}");
    assert!(
        w.store
            .sync_state()
            .open_conflicts(Some("alice"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(writes(&w.sync().await), 0);
}

/// Log lines written while a test runs, as text (no colours).
#[derive(Clone, Default)]
struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

// An operator reading the log sees which run, collection and item a line is
// about, and which rule chose the action (R-OPS-LOG-1).
#[tokio::test]
async fn r_ops_log_1_run_collection_and_item_spans_name_profile_collection_rule_and_href() {
    // One subscriber for the whole test binary: a thread-local one misses
    // events whose callsites other tests' threads registered first.
    static LOGS: std::sync::OnceLock<CapturedLogs> = std::sync::OnceLock::new();
    let logs = LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        logs
    });

    let w = World::new().await;
    w.contact("Ada", "Lovelace", "ada@example.com").await;
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");

    let profile = &report.profile;
    let run_id = report.run_id.as_deref().unwrap();
    // Other tests of this binary log too: only this run's lines count.
    let text: String = logs
        .text()
        .lines()
        .filter(|l| l.contains(run_id))
        .map(|l| format!("{l}\n"))
        .collect();
    let created = text
        .lines()
        .find(|l| l.contains("applied") && l.contains("target=groupware") && l.contains("kind=\"create\""))
        .unwrap_or_else(|| panic!("no line for the groupware create:\n{text}"));
    for wanted in [
        format!("run{{profile={profile} "),
        format!("run_id=\"{run_id}\""),
        "collection{collection=\"contacts\"".to_string(),
        "item{rule=\"R-".to_string(),
    ] {
        assert!(created.contains(&wanted), "`{wanted}` missing in: {created}");
    }
    assert!(created.contains("crm_id="), "the item names its CRM record: {created}");
    let finished = text
        .lines()
        .find(|l| l.contains("run finished"))
        .unwrap_or_else(|| panic!("no run line:\n{text}"));
    assert!(finished.contains("outcome=ok"), "{finished}");
    assert!(
        text.lines()
            .any(|l| l.contains("collection synced") && l.contains("collection{collection=\"contacts\"")),
        "{text}"
    );
}
