//! R-EDIT-3-THIRD: a held conflict resolved with a value that is neither
//! side's. The value lands in the CRM record at once, reaches the groupware
//! (a real vdir) at the next run, and the values it replaced are in the
//! history; a record edited since the conflict refuses it and nothing moves.
//! On SQLite and PostgreSQL.

use crmsync_model::{Actor, ContactFields, FieldMap, Role};
use crmsync_store::StoreError;
use crmsync_sync::SyncError;
use crmsync_sync::ops::{ConflictChoice, ReplacedBecause, resolve_conflict, resolve_conflict_editing};
use crmsync_testkit::{Backend, TestDatabase};

use crate::common::{World, applied, writes};

/// A fresh database of `backend` with a [`World`] on it.
async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(World) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = TestDatabase::create(backend, "crmsync_third").await;
    let world = World::on(tempfile::tempdir().unwrap(), db.url()).await;
    body(world).await;
}

/// Ada synced, then her job title changed on both sides: a held conflict.
/// Returns her id and the conflict's id.
async fn held_conflict(w: &mut World) -> (String, String) {
    w.profile.rules.contacts.conflict = crmsync_engine::ConflictPolicy::Manual;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let mut fields = ada.fields.clone();
    fields.job_title = Some("Admiral".into());
    w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    let file = w.files("contacts").pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("END:VCARD", "TITLE:Commodore\r\nEND:VCARD")).unwrap();
    w.sync().await;
    let open = w.store.sync_state().open_conflicts(Some("alice")).await.unwrap();
    assert_eq!(open.len(), 1);
    (ada.id().to_string(), open[0].id.clone())
}

fn own(value: &str) -> ConflictChoice {
    let mut values = FieldMap::new();
    values.set("job_title", value);
    ConflictChoice::Merged(values)
}

async fn title(w: &World, id: &str) -> Option<String> {
    w.store
        .records()
        .get::<ContactFields>(id)
        .await
        .unwrap()
        .fields
        .job_title
}

crmsync_testkit::on_both_backends!(
    r_edit_3_third_value_lands_in_the_crm_at_once_and_on_the_groupware_next_run,
    run,
    |w: World| {
        let (ada, conflict) = held_conflict(&mut w).await;
        resolve_conflict_editing(&w.store, &w.profile, &w.actor, &conflict, &own("Captain"))
            .await
            .unwrap();
        assert_eq!(title(&w, &ada).await.as_deref(), Some("Captain"), "in the CRM at once");

        let report = w.sync().await;
        assert_eq!(applied(&report, "contacts", "groupware update"), 1, "{report}");
        let text = std::fs::read_to_string(w.files("contacts").pop().unwrap()).unwrap();
        assert!(text.contains("TITLE:Captain") && !text.contains("Commodore"), "{text}");
        assert_eq!(title(&w, &ada).await.as_deref(), Some("Captain"), "the CRM kept it");
        assert!(
            w.store
                .sync_state()
                .open_conflicts(Some("alice"))
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(writes(&w.sync().await), 0, "settled");

        // R-EDIT-3: both replaced values are in the history.
        let explained = crmsync_sync::ops::explain_record(&w.store, &w.profile, &ada, crate::common::now())
            .await
            .unwrap();
        let lost: Vec<_> = explained
            .history
            .iter()
            .flat_map(|h| &h.values)
            .filter(|v| v.because == ReplacedBecause::EditedByUser)
            .map(|v| (v.kept.clone(), v.lost.clone()))
            .collect();
        assert!(
            lost.contains(&(Some("Captain".into()), Some("Admiral".into()))),
            "{lost:?}"
        );
        assert!(
            lost.contains(&(Some("Captain".into()), Some("Commodore".into()))),
            "{lost:?}"
        );
    }
);

crmsync_testkit::on_both_backends!(
    r_edit_3_third_value_refused_when_the_record_changed_since,
    run,
    |w: World| {
        let (ada, conflict) = held_conflict(&mut w).await;
        let now = w.store.records().get::<ContactFields>(&ada).await.unwrap();
        let mut fields = now.fields.clone();
        fields.job_title = Some("Rear Admiral".into());
        w.store.records().update(&ada, now.version(), fields).await.unwrap();
        let pair_before = w.store.sync_state().pairs("alice", "contacts").await.unwrap();

        let refused = resolve_conflict_editing(&w.store, &w.profile, &w.actor, &conflict, &own("Captain")).await;
        assert!(
            matches!(&refused, Err(SyncError::Store(StoreError::Conflict(m))) if m.contains("changed since")),
            "{refused:?}"
        );
        assert_eq!(
            title(&w, &ada).await.as_deref(),
            Some("Rear Admiral"),
            "the CRM is untouched"
        );
        assert_eq!(
            w.store.sync_state().pairs("alice", "contacts").await.unwrap(),
            pair_before
        );
        assert_eq!(
            w.store.sync_state().open_conflicts(Some("alice")).await.unwrap().len(),
            1
        );
    }
);

crmsync_testkit::on_both_backends!(r_edit_3_third_value_checked_as_a_crm_edit, run, |w: World| {
    let (ada, conflict) = held_conflict(&mut w).await;
    // Someone who may not change Ada (not her owner, no admin) is refused.
    let (bob, _) = w
        .store
        .records()
        .create_user(crmsync_model::UserFields::active_user("bob", "bob@example.com"))
        .await
        .unwrap();
    let bob = Actor {
        user_id: bob.meta.id,
        role: Role::User,
    };
    let refused = resolve_conflict_editing(&w.store, &w.profile, &bob, &conflict, &own("Captain")).await;
    assert!(
        matches!(refused, Err(SyncError::Store(StoreError::Forbidden(_)))),
        "{refused:?}"
    );
    // A value the CRM refuses gets the CRM's own error: a conflict over
    // Ada's e-mail, resolved with something that is no address.
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let first = w.store.sync_state().conflict(&conflict).await.unwrap().unwrap();
    let fields = serde_json::json!([
        {"key": "email1", "base": "ada@example.com", "crm": "ada@example.com", "groupware": "ada@example.org"},
    ]);
    let on_email = w
        .store
        .sync_state()
        .add_conflict(&crmsync_store::status::ConflictRow {
            id: "on-email".into(),
            pair_id: pair.id.clone(),
            fields: fields.to_string(),
            ..first
        })
        .await
        .unwrap();
    let mut bad = FieldMap::new();
    bad.set("email1", "not an address");
    let refused = resolve_conflict_editing(
        &w.store,
        &w.profile,
        &w.actor,
        &on_email.id,
        &ConflictChoice::Merged(bad),
    )
    .await;
    assert!(
        matches!(&refused, Err(SyncError::Store(StoreError::Validation(v))) if v.field == "email1"),
        "{refused:?}"
    );
    let conflict = on_email.id;
    let email = w
        .store
        .records()
        .get::<ContactFields>(&ada)
        .await
        .unwrap()
        .fields
        .email1;
    assert_eq!(email.as_deref(), Some("ada@example.com"));
    // Without the editing entry point, a value of one's own is refused.
    let plain = resolve_conflict(&w.store.sync_state(), &conflict, &own("Captain")).await;
    assert!(matches!(plain, Err(SyncError::Profile { .. })), "{plain:?}");
    assert_eq!(title(&w, &ada).await.as_deref(), Some("Admiral"), "nothing was written");
    assert_eq!(
        w.store.sync_state().open_conflicts(Some("alice")).await.unwrap().len(),
        1
    );
});
