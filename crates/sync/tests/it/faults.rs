//! Fault injection against the in-memory groupware: transient errors on
//! every call, replies lost after the write landed, an edit racing the
//! runner's update (412), the mass-delete guard, and a reset.

use crate::memory_world;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use crmsync_connector::memory::{Fault, MemoryConnector, Op};
use crmsync_connector::{CollectionId, Connector, ConnectorError, Etag, Href};
use crmsync_engine::ConflictPolicy;
use crmsync_model::{ActivityFields, ContactFields, FieldMap};
use crmsync_sync::{RunOptions, RunOutcome, SyncError};
use memory_world::{Kind, MemWorld, PROFILE, applied, check_agreement, check_no_duplicates, edited_body, writes};

fn contact(first: &str, last: &str, email: &str) -> FieldMap {
    [("first_name", first), ("last_name", last), ("email1", email)]
        .into_iter()
        .collect()
}

fn task(subject: &str) -> FieldMap {
    [("subject", subject)].into_iter().collect()
}

/// Both sides agree, nothing is twice, and one more run writes nothing.
async fn assert_converged(w: &MemWorld) {
    let snap = w.snapshot().await;
    check_agreement(&snap).unwrap();
    check_no_duplicates(&snap).unwrap();
    let again = w.sync().await;
    assert_eq!(writes(&again), 0, "a converged world writes nothing:\n{again}");
}

fn transient(result: Result<crmsync_sync::RunReport, SyncError>) -> SyncError {
    let err = result.expect_err("the injected fault must stop the run");
    assert!(err.is_transient(), "a network fault is worth retrying: {err}");
    err
}

// ----- transient errors -----

#[tokio::test]
async fn r_safe_2_transient_error_on_create_then_rerun_creates_once() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.mailbox.fail_next(Op::Create, 1, Fault::ServiceUnavailable);
    transient(w.try_sync(&w.options()).await);
    assert!(w.gw_hrefs(Kind::Contact).is_empty(), "the failed create wrote nothing");

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    assert_eq!(w.gw_hrefs(Kind::Contact).len(), 1);
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_safe_2_transient_error_on_update_then_rerun_applies_the_edit() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.sync().await;
    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Analyst".into())])
        .await;
    w.mailbox.fail_next(Op::Update, 1, Fault::Timeout);
    transient(w.try_sync(&w.options()).await);

    w.sync().await;
    let href = w.gw_hrefs(Kind::Contact).pop().unwrap();
    let item = w.gw_item(Kind::Contact, &href).unwrap();
    assert_eq!(
        item.fields.get("job_title"),
        Some("Analyst"),
        "R-EDIT-1: the edit arrives"
    );
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_del_11_transient_error_on_delete_then_rerun_removes_the_task() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.sync().await;
    w.crm_delete(Kind::Task, &id).await;
    w.mailbox.fail_next(Op::Delete, 1, Fault::Unreachable);
    transient(w.try_sync(&w.options()).await);
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1, "not deleted yet");

    w.sync().await;
    assert!(
        w.gw_hrefs(Kind::Task).is_empty(),
        "R-DEL-11: an open task deleted in the CRM leaves"
    );
    assert!(w.store.sync_state().pairs(PROFILE, "tasks").await.unwrap().is_empty());
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_safe_2_transient_error_on_listing_changes_nothing_and_rerun_syncs() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.gw_create(Kind::Task, &task("Buy stamps"));
    w.mailbox.fail_next(Op::Changes, 1, Fault::RateLimited);
    transient(w.try_sync(&w.options()).await);
    assert!(
        w.store
            .sync_state()
            .pairs(PROFILE, "contacts")
            .await
            .unwrap()
            .is_empty()
    );

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 1, "{report}");
    assert_eq!(applied(&report, "tasks", "crm create"), 1, "{report}");
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_safe_2_transient_error_on_fetch_never_takes_items_for_deleted() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.sync().await;
    let href = w.gw_hrefs(Kind::Task).pop().unwrap();
    w.gw_edit(Kind::Task, &href, &[("subject".into(), "Call Ada back today".into())]);
    w.gw_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"));
    w.mailbox.fail_next(Op::GetMany, 1, Fault::ServiceUnavailable);
    transient(w.try_sync(&w.options()).await);
    assert!(
        w.store.records().get::<ActivityFields>(&id).await.is_ok(),
        "an item that could not be fetched is not deleted (R-SAFE-4)"
    );

    w.sync().await;
    let after = w.store.records().get::<ActivityFields>(&id).await.unwrap();
    assert_eq!(after.fields.subject, "Call Ada back today");
    assert_converged(&w).await;
}

// ----- lost replies: the write landed, the runner never heard -----

#[tokio::test]
async fn r_safe_2_lost_create_reply_then_rerun_pairs_without_duplicate() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.mailbox.lose_reply_next(Op::Create, 1);
    transient(w.try_sync(&w.options()).await);
    assert_eq!(w.gw_hrefs(Kind::Contact).len(), 1, "the create landed");
    assert!(
        w.store
            .sync_state()
            .pairs(PROFILE, "contacts")
            .await
            .unwrap()
            .is_empty(),
        "R-SAFE-1: not recorded"
    );

    w.sync().await;
    assert_eq!(w.gw_hrefs(Kind::Contact).len(), 1, "no second card");
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1);
    let pairs = w.store.sync_state().pairs(PROFILE, "contacts").await.unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].crm_id, id);
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_safe_2_lost_update_reply_then_rerun_converges_and_keeps_history() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.sync().await;
    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Analyst".into())])
        .await;
    w.mailbox.lose_reply_next(Op::Update, 1);
    transient(w.try_sync(&w.options()).await);

    let report = w.sync().await;
    assert_eq!(
        writes(&report),
        0,
        "the update already landed: nothing to write again\n{report}"
    );
    assert_eq!(w.gw_hrefs(Kind::Contact).len(), 1);
    // R-EXPLAIN-1: the write whose reply was lost is still in the history.
    let history = w.store.sync_state().history(PROFILE, Some(&id), None).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.action == "groupware update" && e.message.contains("may have been applied")),
        "{history:#?}"
    );
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_del_11_lost_delete_reply_then_rerun_does_not_recreate() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let keep = w.crm_create(Kind::Task, &task("Send the contract")).await;
    let gone = w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.sync().await;
    w.crm_delete(Kind::Task, &gone).await;
    w.mailbox.lose_reply_next(Op::Delete, 1);
    transient(w.try_sync(&w.options()).await);
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1, "the delete landed");

    w.sync().await;
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1, "not re-created");
    assert!(w.store.records().get::<ActivityFields>(&gone).await.is_err());
    assert!(w.store.records().get::<ActivityFields>(&keep).await.is_ok());
    let pairs = w.store.sync_state().pairs(PROFILE, "tasks").await.unwrap();
    assert_eq!(
        pairs.iter().map(|p| p.crm_id.as_str()).collect::<Vec<_>>(),
        vec![keep.as_str()]
    );
    assert_converged(&w).await;
}

// ----- 412: another client edits between the runner's listing and its update -----

/// A connector that lets an independent client edit the item right before
/// the runner's (first) update reaches the server, so its If-Match fails.
struct RacingEdit {
    inner: Arc<MemoryConnector>,
    /// (kind, field, value) the other client sets; taken by the first update.
    edit: Mutex<Option<(Kind, String, String)>>,
}

#[async_trait]
impl crmsync_connector::Forward for RacingEdit {
    fn inner(&self) -> &dyn Connector {
        &*self.inner
    }
    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        let edit = self.edit.lock().unwrap().take();
        if let Some((kind, key, value)) = edit {
            let (_, current) = self.inner.peek(collection, href).expect("the item exists");
            let edited = edited_body(kind, std::str::from_utf8(&current).unwrap(), &[(key, value)]);
            self.inner.external_put(collection, href, edited.as_bytes())?;
        }
        self.inner.update(collection, href, expected, body).await
    }
}

async fn racing_world() -> (MemWorld, Arc<RacingEdit>) {
    let mailbox = Arc::new(MemoryConnector::new());
    let racing = Arc::new(RacingEdit {
        inner: mailbox.clone(),
        edit: Mutex::new(None),
    });
    let w = MemWorld::with_connector(ConflictPolicy::CrmWins, mailbox, racing.clone()).await;
    (w, racing)
}

#[tokio::test]
async fn r_safe_2_edit_racing_an_update_gets_412_and_is_merged_not_overwritten() {
    let (w, racing) = racing_world().await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.sync().await;
    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Analyst".into())])
        .await;
    *racing.edit.lock().unwrap() = Some((Kind::Contact, "department".into(), "Engines".into()));

    let report = w.sync().await;
    assert!(racing.edit.lock().unwrap().is_none(), "the racing edit happened");
    assert!(
        w.mailbox.calls(Op::Update) >= 2,
        "the first update failed its If-Match and was re-planned"
    );
    // R-EDIT-2: disjoint edits are both kept, on both sides.
    let href = w.gw_hrefs(Kind::Contact).pop().unwrap();
    let item = w.gw_item(Kind::Contact, &href).unwrap();
    assert_eq!(item.fields.get("department"), Some("Engines"), "{report}");
    assert_eq!(item.fields.get("job_title"), Some("Analyst"), "{report}");
    let crm = w.store.records().get::<ContactFields>(&id).await.unwrap();
    assert_eq!(crm.fields.department.as_deref(), Some("Engines"));
    assert_eq!(crm.fields.job_title.as_deref(), Some("Analyst"));
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_edit_3_same_field_racing_an_update_is_overwritten_only_with_a_history_entry() {
    let (w, racing) = racing_world().await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.sync().await;
    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Analyst".into())])
        .await;
    *racing.edit.lock().unwrap() = Some((Kind::Contact, "job_title".into(), "Countess".into()));

    w.sync().await;
    // crm-wins decides the field, but never silently: the overwritten
    // groupware value is in the record's history with the rule.
    let href = w.gw_hrefs(Kind::Contact).pop().unwrap();
    assert_eq!(
        w.gw_item(Kind::Contact, &href).unwrap().fields.get("job_title"),
        Some("Analyst")
    );
    let history = w.store.sync_state().history(PROFILE, Some(&id), None).await.unwrap();
    let recorded = history.iter().any(|e| {
        e.rule == "R-EDIT-3"
            && e.detail.as_deref().is_some_and(|d| {
                let a: serde_json::Value = serde_json::from_str(d).unwrap();
                a["writes"]
                    .as_array()
                    .is_some_and(|ws| ws.iter().any(|fw| fw["old"] == "Countess" && fw["new"] == "Analyst"))
            })
    });
    assert!(recorded, "{history:#?}");
    assert_converged(&w).await;
}

// ----- R-SAFE-3: the mass-delete guard -----

#[tokio::test]
async fn r_safe_3_mass_delete_in_groupware_is_held_until_confirmed() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(w.crm_create(Kind::Task, &task(&format!("task {i}"))).await);
    }
    w.sync().await;
    let hrefs = w.gw_hrefs(Kind::Task);
    for href in &hrefs[..5] {
        w.gw_delete(Kind::Task, href);
    }

    let held = w.sync().await;
    assert_eq!(held.outcome, RunOutcome::Guarded, "{held}");
    assert_eq!(writes(&held), 0, "{held}");
    for id in &ids {
        assert!(
            w.store.records().get::<ActivityFields>(id).await.is_ok(),
            "nothing deleted in the CRM"
        );
    }
    let again = w.sync().await;
    assert_eq!(again.outcome, RunOutcome::Guarded, "still held until someone confirms");

    let confirmed = w
        .try_sync(&RunOptions {
            confirm_mass_delete: true,
            ..w.options()
        })
        .await
        .unwrap();
    // R-DEL-10: confirmed, the tasks deleted in the groupware go in the CRM.
    assert_eq!(applied(&confirmed, "tasks", "crm delete"), 5, "{confirmed}");
    assert_eq!(
        w.store
            .records()
            .activities_for_user(&w.actor.user_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_converged(&w).await;
}

#[tokio::test]
async fn r_safe_3_mass_delete_in_crm_is_held_until_confirmed() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(w.crm_create(Kind::Task, &task(&format!("task {i}"))).await);
    }
    w.sync().await;
    for id in &ids[..5] {
        w.crm_delete(Kind::Task, id).await;
    }

    let held = w.sync().await;
    assert_eq!(held.outcome, RunOutcome::Guarded, "{held}");
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 6, "nothing deleted in the groupware");

    let confirmed = w
        .try_sync(&RunOptions {
            confirm_mass_delete: true,
            ..w.options()
        })
        .await
        .unwrap();
    assert_eq!(applied(&confirmed, "tasks", "groupware delete"), 5, "{confirmed}");
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1);
    assert_converged(&w).await;
}

// ----- R-RESET-1 -----

/// Syncs, forgets every pair, syncs again: the re-pairing must write nothing
/// and leave both sides exactly as they were.
async fn assert_reset_writes_nothing(w: &MemWorld) {
    w.sync().await;
    assert_converged(w).await;
    let before = w.snapshot().await;

    let pairs: usize = before.pairs.values().map(Vec::len).sum();
    let forgotten = w.store.sync_state().reset_pairs(PROFILE, None, None).await.unwrap();
    assert_eq!(forgotten as usize, pairs);
    let report = w.sync().await;
    // Both sides agree, so re-pairing writes nothing: in particular no
    // calendar item is rewritten, so no attendee is invited again (R-CAL-5).
    assert_eq!(writes(&report), 0, "{report}");
    let after = w.snapshot().await;
    assert_eq!(after.crm, before.crm, "the CRM is unchanged");
    assert_eq!(after.gw, before.gw, "every groupware item is byte-for-byte unchanged");
    for kind in Kind::ALL {
        let n = |s: &memory_world::Snapshot| s.pairs.get(&kind).map_or(0, Vec::len);
        assert_eq!(n(&after), n(&before), "{} re-paired", kind.collection());
    }
    assert_converged(w).await;
}

#[tokio::test]
async fn r_reset_1_contacts_re_pair_without_duplicates_or_writes() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.gw_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"));
    assert_reset_writes_nothing(&w).await;
}

#[tokio::test]
async fn r_reset_1_groupware_born_activities_re_pair_without_writes() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.gw_create(Kind::Task, &task("Buy stamps"));
    w.gw_create(Kind::Event, &[("subject", "Lunch with Grace")].into_iter().collect());
    assert_reset_writes_nothing(&w).await;
}

/// Fails today: see the report. A CRM-born activity has no `ical_uid` in
/// the CRM (its item's UID is its CRM id); after a reset, `collect` pairs it
/// by identity with the item's fields as base, which hold that UID, so the
/// engine reads the CRM as having removed it and rewrites the item.
#[tokio::test]
async fn r_cal_5_crm_born_activities_after_reset_are_not_rewritten() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.crm_create(Kind::Event, &[("subject", "Quarterly review")].into_iter().collect())
        .await;
    assert_reset_writes_nothing(&w).await;
}

#[tokio::test]
async fn r_reset_1_after_reset_edits_flow_again() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w.crm_create(Kind::Task, &task("Call Ada back")).await;
    w.sync().await;
    w.store
        .sync_state()
        .reset_pairs(PROFILE, Some("tasks"), None)
        .await
        .unwrap();
    w.sync().await;
    w.crm_edit(Kind::Task, &id, &[("subject".into(), "Call Ada back today".into())])
        .await;
    let report = w.sync().await;
    assert_eq!(applied(&report, "tasks", "groupware update"), 1, "{report}");
    let href = w.gw_hrefs(Kind::Task).pop().unwrap();
    let item = w.gw_item(Kind::Task, &href).unwrap();
    assert_eq!(item.fields.get("subject"), Some("Call Ada back today"));
    assert_eq!(w.gw_hrefs(Kind::Task).len(), 1);
    assert_converged(&w).await;
}
