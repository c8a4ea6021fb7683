//! Runner behaviours the model-based test (`model_based.rs`) found missing,
//! each pinned by a small example (docs/RULES.md, crmsync-sync).

mod memory_world;

use crmsync_engine::ConflictPolicy;
use crmsync_model::{ContactFields, FieldMap};
use crmsync_sync::{CrashPoint, Faults, RunOptions, SyncError};
use memory_world::{Kind, MemWorld, PROFILE, applied, writes};

fn contact(first: &str, last: &str, email: &str) -> FieldMap {
    [("first_name", first), ("last_name", last), ("email1", email)]
        .into_iter()
        .collect()
}

// R-PAIR-2, R-SYNC-DUP-1
#[tokio::test]
async fn r_pair_2_ambiguous_contacts_stay_reported_and_are_not_created_when_one_changes() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.crm_create(Kind::Contact, &contact("Ada", "King", "ada@example.com"))
        .await;
    let href = w.gw_create(Kind::Contact, &contact("Augusta", "Ada", "ada@example.com"));
    w.sync().await;
    let reported = |w: &MemWorld| {
        let w = w.store.clone();
        async move {
            let reports = w.duplicates(PROFILE).await.unwrap();
            reports
                .into_iter()
                .any(|(c, r)| c == "contacts" && r.contains("ext-1.vcf"))
        }
    };
    assert!(reported(&w).await, "the first sync lists the ambiguity");

    // An incremental run does not see the unchanged members: the report must stay.
    w.sync().await;
    assert!(reported(&w).await, "the report survives a run that saw no member");

    // One member changes: judged alone it would look new and be created.
    w.gw_edit(Kind::Contact, &href, &[("job_title".into(), "Countess".into())]);
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm create"), 0, "{report}");
    assert_eq!(w.crm_records().await.len(), 2, "no third Ada in the CRM");
    assert!(reported(&w).await);
}

// R-SYNC-NEW-1, R-DEL-4
#[tokio::test]
async fn r_del_4_contact_born_in_groupware_is_active_and_keeps_syncing() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    w.gw_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"));
    w.sync().await;
    let (id, _) = w.crm_records().await.into_iter().next().unwrap();
    let grace = w.store.get::<ContactFields>(&id).await.unwrap();
    assert!(grace.fields.active, "an address-book contact is active in the CRM");

    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Rear Admiral".into())])
        .await;
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    let pairs = w.store.pairs(PROFILE, "contacts").await.unwrap();
    assert_eq!(pairs[0].state, "live", "not unlinked as if deactivated");
}

// R-EDIT-3 (manual), R-SYNC-CONFLICT-1
#[tokio::test]
async fn r_edit_3_first_sync_conflicts_of_two_pairs_both_stay_queued() {
    let mut w = MemWorld::new(ConflictPolicy::Manual).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.crm_create(Kind::Contact, &contact("Alan", "Turing", "alan@example.com"))
        .await;
    w.gw_create(Kind::Contact, &contact("Ada", "Byron", "ada@example.com"));
    w.gw_create(Kind::Contact, &contact("Alan", "Mathison", "alan@example.com"));
    w.sync().await;

    let open = w.store.open_conflicts(Some(PROFILE)).await.unwrap();
    assert_eq!(open.len(), 2, "{open:#?}");
    let pairs = w.store.pairs(PROFILE, "contacts").await.unwrap();
    for c in &open {
        assert!(
            pairs.iter().any(|p| p.id == c.pair_id && p.crm_id == c.crm_id),
            "queued under its pair: {c:?}"
        );
    }
    assert_eq!(writes(&w.sync().await), 0, "neither side is overwritten");
    assert_eq!(w.store.open_conflicts(Some(PROFILE)).await.unwrap().len(), 2);
}

// R-EDIT-3, R-SAFE-2, R-SYNC-CRASH-1
#[tokio::test]
async fn r_edit_3_value_overwritten_by_a_write_that_crashed_is_in_the_history() {
    let mut w = MemWorld::new(ConflictPolicy::CrmWins).await;
    let href = w.gw_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"));
    w.sync().await;
    let (id, _) = w.crm_records().await.into_iter().next().unwrap();
    // Both sides change the same field; crm-wins overwrites the groupware's.
    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Rear Admiral".into())])
        .await;
    w.gw_edit(Kind::Contact, &href, &[("job_title".into(), "Commodore".into())]);
    let faults = Faults::crash_at(1, CrashPoint::AfterWrite);
    let crashed = w
        .try_sync(&RunOptions {
            faults: Some(&faults),
            ..w.options()
        })
        .await;
    assert!(matches!(crashed, Err(SyncError::InjectedCrash { .. })), "{crashed:?}");

    w.sync().await;
    let history = w.store.history(PROFILE, Some(&id), Some(href.as_str())).await.unwrap();
    let traced = history.iter().any(|e| {
        e.detail.as_deref().is_some_and(|d| {
            let a: serde_json::Value = serde_json::from_str(d).unwrap();
            a["writes"]
                .as_array()
                .is_some_and(|ws| ws.iter().any(|fw| fw["key"] == "job_title" && fw["old"] == "Commodore"))
        })
    });
    assert!(traced, "the overwritten \"Commodore\" must be traceable: {history:#?}");
}
