//! Pairing by identity after resets and crashes (R-SYNC-ID-2, R-SYNC-ID-3,
//! R-RESET-1, R-ENG-7): an item whose UID is its record's id is that record,
//! but after a reset nothing about their fields is agreed any more.

use crate::memory_world;
use crmsync_connector::Href;
use crmsync_engine::ConflictPolicy;
use crmsync_model::FieldMap;
use crmsync_store::status::HistoryEntry;
use crmsync_sync::CrashPoint;
use crmsync_sync::ops::{ResetScope, reset};
use memory_world::{Kind, MemWorld, PROFILE, applied, check_agreement, check_no_duplicates};

fn contact(first: &str, last: &str, email: &str) -> FieldMap {
    [("first_name", first), ("last_name", last), ("email1", email)]
        .into_iter()
        .collect()
}

fn set(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Every field write the history holds for `key`: (reason, rule, old, new).
fn writes_of(history: &[HistoryEntry], key: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
    history
        .iter()
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e.detail.as_deref()?).ok())
        .flat_map(|a| {
            let rule = a["rule"].as_str().unwrap_or_default().to_string();
            a["writes"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |fw| (fw, rule.clone()))
        })
        .filter(|(fw, _)| fw["key"] == key)
        .map(|(fw, rule)| {
            (
                fw["reason"].as_str().unwrap_or_default().to_string(),
                rule,
                fw["old"].as_str().map(str::to_string),
                fw["new"].as_str().map(str::to_string),
            )
        })
        .collect()
}

// R-RESET-1, R-ENG-7, R-EDIT-3, R-SYNC-ID-2: after a reset a card whose UID
// is the CRM id is paired again, but its differences are not CRM edits: a
// field one side holds alone is copied, a field both hold differently is a
// conflict under the policy, recorded as such, under every policy.
#[tokio::test]
async fn r_reset_1_after_a_reset_differing_fields_are_conflicts_under_every_policy() {
    for policy in [
        ConflictPolicy::CrmWins,
        ConflictPolicy::GroupwareWins,
        ConflictPolicy::NewestWins,
        ConflictPolicy::Manual,
    ] {
        let w = MemWorld::new(policy).await;
        let id = w
            .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
            .await;
        w.sync().await;
        let href = Href::new(format!("{id}.vcf"));
        assert!(
            w.gw_item(Kind::Contact, &href).is_some(),
            "{policy:?}: the card carries the CRM id"
        );

        assert_eq!(
            reset(&w.store.sync_state(), PROFILE, &ResetScope::default())
                .await
                .unwrap(),
            1
        );
        w.gw_edit(
            Kind::Contact,
            &href,
            &set(&[("job_title", "Countess"), ("notes", "met at the ball")]),
        );
        w.crm_edit(
            Kind::Contact,
            &id,
            &set(&[("job_title", "Analyst"), ("department", "Maths")]),
        )
        .await;
        let report = w.sync().await;
        assert_eq!(applied(&report, "contacts", "crm create"), 0, "{policy:?}: {report}");
        assert_eq!(
            applied(&report, "contacts", "groupware create"),
            0,
            "{policy:?}: {report}"
        );

        let crm = &w.crm_records().await[&id].fields;
        let gw = w.gw_item(Kind::Contact, &href).unwrap().fields;
        // One-sided fields are copied whatever the policy.
        assert_eq!(
            crm.get("notes"),
            Some("met at the ball"),
            "{policy:?}: the note reached the CRM"
        );
        assert_eq!(
            gw.get("department"),
            Some("Maths"),
            "{policy:?}: the department reached the card"
        );

        let history = w
            .store
            .sync_state()
            .history(PROFILE, Some(&id), Some(href.as_str()))
            .await
            .unwrap();
        let titles = writes_of(&history, "job_title");
        assert!(
            titles.iter().all(|(reason, ..)| reason != "propagated"),
            "{policy:?}: a difference after a reset is no edit: {titles:?}"
        );
        let open = w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap();
        match policy {
            ConflictPolicy::Manual => {
                assert_eq!(
                    (crm.get("job_title"), gw.get("job_title")),
                    (Some("Analyst"), Some("Countess"))
                );
                assert!(titles.is_empty(), "{policy:?}: neither side overwritten: {titles:?}");
                assert!(
                    open.iter().any(|c| c.crm_id == id && c.fields.contains("job_title")),
                    "{policy:?}: the conflict is queued: {open:?}"
                );
            }
            _ => {
                let want = match policy {
                    ConflictPolicy::CrmWins => Some("Analyst"),
                    ConflictPolicy::GroupwareWins => Some("Countess"),
                    _ => crm.get("job_title"),
                };
                assert_eq!(crm.get("job_title"), want, "{policy:?}");
                assert_eq!(gw.get("job_title"), want, "{policy:?}");
                assert_eq!(titles.len(), 1, "{policy:?}: {titles:?}");
                let (reason, rule, ..) = &titles[0];
                assert_eq!(reason, "conflict_lost", "{policy:?}");
                assert!(rule == "R-EDIT-3" || rule == "R-ENG-6", "{policy:?}: {rule}");
                assert!(open.is_empty(), "{policy:?}: {open:?}");
            }
        }
        let snap = w.snapshot().await;
        check_agreement(&snap).unwrap_or_else(|e| {
            assert_eq!(policy, ConflictPolicy::Manual, "{policy:?}: {e}");
        });
        check_no_duplicates(&snap).unwrap();
    }
}

// R-SYNC-ID-2, R-SAFE-2: a card created by a run that crashed before saving
// its pair merges against what that run wrote: an edit of the card made
// before the next run is the groupware's edit and reaches the CRM.
#[tokio::test]
async fn r_sync_id_2_card_created_before_a_crash_merges_against_what_was_written() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w
        .crm_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"))
        .await;
    w.crashing_sync(1, CrashPoint::AfterWrite).await;
    let href = Href::new(format!("{id}.vcf"));
    w.gw_edit(Kind::Contact, &href, &set(&[("job_title", "Rear Admiral")]));

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm update"), 1, "{report}");
    assert_eq!(w.crm_records().await[&id].fields.get("job_title"), Some("Rear Admiral"));
    let history = w
        .store
        .sync_state()
        .history(PROFILE, Some(&id), Some(href.as_str()))
        .await
        .unwrap();
    assert!(
        writes_of(&history, "job_title")
            .iter()
            .all(|(_, _, old, _)| old.is_none())
    );
}

// R-SYNC-ID-3 (model_based.regressions 6f0fdc…): a task deleted in the
// groupware while a manual conflict is held is re-created from the CRM
// (R-ENG-1). The run forgets the pair and creates the item in separate
// chunks and dies after the create: the record, unpaired and unchanged,
// must be found by the item's UID, not duplicated from it.
#[tokio::test]
async fn r_sync_id_3_item_re_created_before_a_crash_pairs_with_its_unchanged_record() {
    let mut w = MemWorld::new(ConflictPolicy::Manual).await;
    let task = |description: &str| -> FieldMap {
        [("subject", "task 3"), ("description", description)]
            .into_iter()
            .collect()
    };
    w.crm_create(Kind::Task, &task("description 0")).await;
    let href = w.gw_create(Kind::Task, &task("description 2"));
    w.sync().await;
    assert_eq!(
        w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap().len(),
        1
    );

    w.gw_delete(Kind::Task, &href);
    w.crashing_sync(1, CrashPoint::AfterWrite).await;
    w.sync().await;
    w.sync().await;

    let snap = w.snapshot().await;
    check_no_duplicates(&snap).unwrap();
    let tasks: Vec<_> = snap.crm.values().filter(|r| r.kind == Kind::Task).collect();
    assert_eq!(tasks.len(), 1, "no second CRM task from the re-created item: {tasks:?}");
    assert_eq!(snap.items_of(Kind::Task).count(), 1);
    check_agreement(&snap).unwrap();
}

// R-SYNC-ID-3: a card renamed by the user (vdir: the file moved) is the same
// card: its pair follows it, its edit is merged, nothing is created.
#[tokio::test]
async fn r_sync_id_3_renamed_card_keeps_its_pair() {
    let w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let id = w
        .crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.sync().await;
    let old = Href::new(format!("{id}.vcf"));
    let (_, body) = w.mailbox.peek(&Kind::Contact.collection_id(), &old).unwrap();
    let new = Href::new("renamed.vcf");
    w.mailbox
        .external_put(&Kind::Contact.collection_id(), &new, &body)
        .unwrap();
    w.gw_delete(Kind::Contact, &old);
    w.gw_edit(Kind::Contact, &new, &set(&[("job_title", "Countess")]));

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm create"), 0, "{report}");
    assert_eq!(applied(&report, "contacts", "groupware create"), 0, "{report}");
    assert_eq!(w.crm_records().await[&id].fields.get("job_title"), Some("Countess"));
    let pairs = w.store.sync_state().pairs(PROFILE, "contacts").await.unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(
        (pairs[0].crm_id.as_str(), pairs[0].href.as_str()),
        (id.as_str(), "renamed.vcf")
    );
}
