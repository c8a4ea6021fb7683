//! Runner behaviours the model-based test (`model_based.rs`) found missing,
//! each pinned by a small example (docs/RULES.md, crmsync-sync).

use crate::memory_world;
use crmsync_engine::ConflictPolicy;
use crmsync_model::{ContactFields, FieldMap};
use crmsync_sync::CrashPoint;
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
            let reports = w.sync_state().duplicates(PROFILE).await.unwrap();
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
    let grace = w.store.records().get::<ContactFields>(&id).await.unwrap();
    assert!(grace.fields.active, "an address-book contact is active in the CRM");

    w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Rear Admiral".into())])
        .await;
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
    let pairs = w.store.sync_state().pairs(PROFILE, "contacts").await.unwrap();
    assert_eq!(
        pairs[0].state,
        crmsync_engine::PairState::Live,
        "not unlinked as if deactivated"
    );
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

    let open = w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap();
    assert_eq!(open.len(), 2, "{open:#?}");
    let pairs = w.store.sync_state().pairs(PROFILE, "contacts").await.unwrap();
    for c in &open {
        assert!(
            pairs.iter().any(|p| p.id == c.pair_id && p.crm_id == c.crm_id),
            "queued under its pair: {c:?}"
        );
    }
    assert_eq!(writes(&w.sync().await), 0, "neither side is overwritten");
    assert_eq!(
        w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap().len(),
        2
    );
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
    w.crashing_sync(1, CrashPoint::AfterWrite).await;

    w.sync().await;
    let history = w
        .store
        .sync_state()
        .history(PROFILE, Some(&id), Some(href.as_str()))
        .await
        .unwrap();
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

// R-PAIR-2, R-SYNC-DUP-1, R-SAFE-2 (model_based.regressions 59740601…)
#[tokio::test]
async fn r_sync_dup_1_group_resolved_by_a_crashed_run_is_still_paired_later() {
    let mut w = MemWorld::new(ConflictPolicy::Manual).await;
    w.crm_create(Kind::Contact, &contact("Ada", "Lovelace", "ada@example.com"))
        .await;
    w.crm_create(Kind::Contact, &contact("Alan", "Turing", "alan@example.com"))
        .await;
    let first = w.gw_create(Kind::Contact, &contact("Ada", "Byron", "ada@example.com"));
    let second = w.gw_create(Kind::Contact, &contact("Ada", "King", "ada@example.com"));
    w.sync().await;
    let dups = w.store.sync_state().duplicates(PROFILE).await.unwrap();
    assert!(
        dups.iter().any(|(c, r)| c == "contacts" && r.contains(second.as_str())),
        "{dups:?}"
    );

    // The ambiguity goes away: Ada and the second card now match one-to-one.
    // The run that would pair them dies before its first write.
    w.gw_delete(Kind::Contact, &first);
    let alan = w
        .gw_hrefs(Kind::Contact)
        .into_iter()
        .find(|h| !h.as_str().starts_with("ext-"))
        .unwrap();
    w.gw_edit(Kind::Contact, &alan, &[("notes".into(), "a note".into())]);
    w.crashing_sync(1, CrashPoint::BeforeWrite).await;

    // The next runs must still see the unchanged pair-to-be and pair it.
    w.sync().await;
    w.sync().await;
    let snap = w.snapshot().await;
    memory_world::check_no_duplicates(&snap).unwrap();
    assert!(snap.pair_of_href(Kind::Contact, second.as_str()).is_some());
}

// R-EDIT-3 (manual), R-ENG-11: an edit of another field on one side must not
// carry that side's held value over the other side's.
#[tokio::test]
async fn r_eng_11_held_conflict_survives_an_edit_of_another_field() {
    for crm_edits_later in [true, false] {
        let mut w = MemWorld::new(ConflictPolicy::Manual).await;
        let href = w.gw_create(Kind::Contact, &contact("Grace", "Hopper", "grace@example.com"));
        w.sync().await;
        let (id, _) = w.crm_records().await.into_iter().next().unwrap();
        w.crm_edit(Kind::Contact, &id, &[("job_title".into(), "Rear Admiral".into())])
            .await;
        w.gw_edit(Kind::Contact, &href, &[("job_title".into(), "Commodore".into())]);
        w.sync().await;
        assert_eq!(
            w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap().len(),
            1
        );

        let department = [("department".to_string(), "Navy".to_string())];
        if crm_edits_later {
            w.crm_edit(Kind::Contact, &id, &department).await;
        } else {
            w.gw_edit(Kind::Contact, &href, &department);
        }
        w.sync().await;
        let crm = w.crm_records().await.remove(&id).unwrap().fields;
        let gw = w.gw_item(Kind::Contact, &href).unwrap().fields;
        assert_eq!(
            crm.get("department"),
            Some("Navy"),
            "the disjoint edit flows (R-EDIT-2)"
        );
        assert_eq!(gw.get("department"), Some("Navy"), "the disjoint edit flows (R-EDIT-2)");
        assert_eq!(
            crm.get("job_title"),
            Some("Rear Admiral"),
            "crm edits later: {crm_edits_later}"
        );
        assert_eq!(
            gw.get("job_title"),
            Some("Commodore"),
            "crm edits later: {crm_edits_later}"
        );
        assert_eq!(
            w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap().len(),
            1
        );
    }
}

// R-EDIT-3 (manual), R-ENG-7, R-ENG-11 (model_based.regressions 89f920f9…):
// a first-sync match queues its differing fields; the pass that confirms the
// one-sided field it copied must not then copy the CRM's held values.
#[tokio::test]
async fn r_eng_11_first_sync_conflict_is_not_overwritten_by_the_confirming_pass() {
    let mut w = MemWorld::new(ConflictPolicy::Manual).await;
    let mut ada = contact("Ada", "Lovelace", "ada@example.com");
    ada.set("job_title", "Countess");
    let id = w.crm_create(Kind::Contact, &ada).await;
    let href = w.gw_create(Kind::Contact, &contact("Augusta", "Byron", "ada@example.com"));
    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");

    let gw = w.gw_item(Kind::Contact, &href).unwrap().fields;
    assert_eq!(gw.get("job_title"), Some("Countess"), "the one-sided field is copied");
    assert_eq!(gw.get("first_name"), Some("Augusta"), "held, not overwritten");
    assert_eq!(gw.get("last_name"), Some("Byron"), "held, not overwritten");
    let crm = w.crm_records().await.remove(&id).unwrap().fields;
    assert_eq!(crm.get("first_name"), Some("Ada"));

    // Later conflicting edits of one held field leave the other held too.
    w.crm_edit(Kind::Contact, &id, &[("last_name".into(), "King".into())])
        .await;
    w.gw_edit(Kind::Contact, &href, &[("last_name".into(), "Noel".into())]);
    assert_eq!(writes(&w.sync().await), 0, "neither side is overwritten");
    let gw = w.gw_item(Kind::Contact, &href).unwrap().fields;
    assert_eq!(gw.get("first_name"), Some("Augusta"));
    let open = w.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap();
    assert_eq!(open.len(), 1, "{open:#?}");
    assert!(
        open[0].fields.contains("first_name") && open[0].fields.contains("Noel"),
        "{open:#?}"
    );
}
