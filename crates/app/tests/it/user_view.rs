//! What a user sees of the rules (issue #13): overwritten values in
//! `explain`, removed-by-user records in `status`, counts and wording, run as
//! the real binary on a `crmsync demo` folder (real SQLite, real vdir
//! mailboxes), in text and `--json`.

use crate::support;

use std::path::{Path, PathBuf};

use crmsync_model::{ActivityFields, ActivityKind, ContactFields, EntityKind, OpportunityFields};
use serde_json::Value;
use support::demo::{Demo, every, items, user_id};

/// The CRM id of a card crmsync wrote (its file is named by it).
fn id_of(card: &Path) -> String {
    card.file_stem().unwrap().to_str().unwrap().to_string()
}

/// Sets the card's TITLE, as a phone would.
fn set_title_on_card(card: &Path, title: &str) {
    let text = std::fs::read_to_string(card).unwrap();
    let kept: Vec<&str> = text
        .split("\r\n")
        .filter(|l| !l.starts_with("TITLE") && *l != "END:VCARD" && !l.is_empty())
        .collect();
    std::fs::write(card, format!("{}\r\nTITLE:{title}\r\nEND:VCARD\r\n", kept.join("\r\n"))).unwrap();
}

/// Sets the CRM contact's job title and, when given, its notes.
async fn edit_in_crm(demo: &Demo, id: &str, title: &str, notes: Option<&str>) {
    let store = demo.store().await;
    let c = store.records().get::<ContactFields>(id).await.unwrap();
    let mut fields = c.fields.clone();
    fields.job_title = Some(title.to_string());
    if let Some(n) = notes {
        fields.notes = Some(n.to_string());
    }
    store.records().update(c.id(), c.version(), fields).await.unwrap();
}

/// alice's first card.
fn first_card(demo: &Demo) -> PathBuf {
    items(&demo.mailbox("alice", "contacts"), "vcf").remove(0)
}

/// The values history shows for `field`, over every entry.
fn values_of<'a>(json: &'a Value, field: &str) -> Vec<&'a Value> {
    json["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["values"].as_array().into_iter().flatten())
        .filter(|v| v["field"] == field)
        .collect()
}

// R-EDIT-3, R-EXPLAIN-1 (issue #13 item 1): when `crm-wins` overwrites the
// phone's value, explain names the value kept, the value lost, the side each
// came from and the rule, in text and JSON.
#[tokio::test(flavor = "multi_thread")]
async fn r_edit_3_explain_shows_the_value_kept_and_the_value_lost_by_a_conflict() {
    let demo = Demo::new();
    let card = first_card(&demo);
    let id = id_of(&card);
    edit_in_crm(&demo, &id, "Chief CRM Officer", None).await;
    set_title_on_card(&card, "Phone Title");

    demo.ok(&["sync", "--profile", "alice"]);
    assert!(
        std::fs::read_to_string(&card)
            .unwrap()
            .contains("TITLE:Chief CRM Officer")
    );

    let text = demo.ok(&["explain", "--profile", "alice", "--record", &id]);
    assert!(
        text.contains(
            "job_title: kept \"Chief CRM Officer\" (CRM), lost \"Phone Title\" (groupware); conflict: both sides \
             changed it, R-EDIT-3"
        ),
        "{text}"
    );
    let json = demo.json(&["explain", "--profile", "alice", "--record", &id]);
    let values = values_of(&json, "job_title");
    assert_eq!(values.len(), 1, "{json}");
    let v = values[0];
    assert_eq!(v["kept"], "Chief CRM Officer");
    assert_eq!(v["kept_from"], "crm");
    assert_eq!(v["lost"], "Phone Title");
    assert_eq!(v["lost_from"], "groupware");
    assert_eq!(v["because"], "conflict_lost");
    assert_eq!(v["rule"], "R-EDIT-3");
}

/// Holds alice's contact conflicts for a manual choice (R-EDIT-3 `manual`).
fn manual_conflicts_for_alice(demo: &Demo) {
    let config = demo.dir.join("crmsync.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let alice = "connector = { kind = \"vdir\", root = \"mailboxes/alice\" }";
    assert!(text.contains(alice));
    let text = text.replace(alice, &format!("{alice}\nrules.contacts.conflict = \"manual\""));
    std::fs::write(&config, text).unwrap();
}

// R-EDIT-3 `manual`, R-SYNC-REPORT-2 (issue #13 items 1 and 13): one
// conflicting field beside a disjoint edit is one queued conflict (the
// second pass after the groupware write used to count it again); resolving
// it with `--take` shows in explain which value was kept and which lost, and
// the next sync writes the kept one.
#[tokio::test(flavor = "multi_thread")]
async fn r_edit_3_a_resolved_conflict_shows_the_chosen_and_the_lost_value() {
    let demo = Demo::new();
    manual_conflicts_for_alice(&demo);
    let card = first_card(&demo);
    let id = id_of(&card);
    edit_in_crm(&demo, &id, "Chief CRM Officer", Some("Met at the fair")).await;
    set_title_on_card(&card, "Phone Title");

    let out = demo.ok(&["sync", "--profile", "alice"]);
    assert!(out.contains("1 conflict(s) queued"), "{out}");
    let status = demo.ok(&["status"]);
    assert!(status.contains("1 conflict(s) queued"), "{status}");
    assert!(!status.contains("2 conflict(s)"), "{status}");

    let conflicts = demo.json(&["conflicts", "--profile", "alice"]);
    let conflict = conflicts[0]["id"].as_str().unwrap().to_string();
    demo.ok(&["conflicts", "resolve", &conflict, "--take", "groupware"]);
    let text = demo.ok(&["explain", "--profile", "alice", "--record", &id]);
    assert!(
        text.contains(
            "job_title: kept \"Phone Title\" (groupware), lost \"Chief CRM Officer\" (CRM); conflict resolved by \
             choice, R-EDIT-3"
        ),
        "{text}"
    );

    demo.ok(&["sync", "--profile", "alice"]);
    let store = demo.store().await;
    let contact = store.records().get::<ContactFields>(&id).await.unwrap();
    assert_eq!(contact.fields.job_title.as_deref(), Some("Phone Title"));
    let json = demo.json(&["explain", "--profile", "alice", "--record", &id]);
    let written = values_of(&json, "job_title")
        .into_iter()
        .find(|v| v["because"] == "propagated")
        .unwrap_or_else(|| panic!("the write of the kept value is in the history: {json}"));
    assert_eq!(written["lost"], "Chief CRM Officer");
    assert_eq!(written["lost_from"], "crm");
}

// R-DEL-1, R-DEL-2, R-DEL-2-HISTORY (issue #13 item 3): a contact the user deleted on the
// phone stays in the CRM; status lists it with the command that brings it
// back, and that command brings it back without touching the CRM record.
#[tokio::test(flavor = "multi_thread")]
async fn r_del_2_status_lists_removed_by_user_records_with_the_command_that_brings_one_back() {
    let demo = Demo::new();
    let contacts = demo.mailbox("alice", "contacts");
    let before = items(&contacts, "vcf");
    let card = before[0].clone();
    let id = id_of(&card);
    let store = demo.store().await;
    let version = store.records().get::<ContactFields>(&id).await.unwrap().version();
    std::fs::remove_file(&card).unwrap();

    let out = demo.ok(&["sync", "--profile", "alice"]);
    assert!(out.contains("1 removed by the user (kept in the CRM)"), "{out}");
    let restore = format!("crmsync reset --profile alice --record {id}");
    let status = demo.ok(&["status"]);
    assert!(
        status.contains("removed by the user in the groupware, kept in the CRM (R-DEL-1): 1"),
        "{status}"
    );
    assert!(
        status.contains(&format!("contacts record {id}"))
            && status.contains(&format!("bring it back with `{restore}`")),
        "{status}"
    );
    let json = demo.json(&["status"]);
    let removed = json[0]["removed_by_user"].as_array().unwrap();
    assert_eq!(removed.len(), 1, "{json}");
    assert_eq!(removed[0]["collection"], "contacts");
    assert_eq!(removed[0]["record_id"], id.as_str());
    assert_eq!(removed[0]["restore"], restore.as_str());
    assert_eq!(json[1]["removed_by_user"], serde_json::json!([]), "bob removed nothing");

    // The command as status gives it, then a sync.
    let words: Vec<&str> = restore.split(' ').skip(1).collect();
    demo.ok(&words);
    // R-DEL-2-HISTORY: the record's history says it was brought back by
    // choice, whichever way the reset came.
    let explained = demo.json(&["explain", "--profile", "alice", "--record", &id]);
    let restored = explained["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["rule"] == "R-DEL-2" && h["action"] == "status restore")
        .count();
    assert_eq!(restored, 1, "one restore line in the history: {explained}");
    demo.ok(&["sync", "--profile", "alice"]);
    let after = items(&contacts, "vcf");
    assert_eq!(after.len(), before.len(), "the card is back, nothing twice");
    assert!(
        after
            .iter()
            .any(|p| std::fs::read_to_string(p).unwrap().contains(&format!("UID:{id}"))),
        "the card of {id} is back"
    );
    let contact = store.records().get::<ContactFields>(&id).await.unwrap();
    assert_eq!(contact.version(), version, "the CRM record was not touched");
    assert_eq!(demo.json(&["status"])[0]["removed_by_user"], serde_json::json!([]));
}

// R-SAFE-3, R-SYNC-GUARD-2 (issue #13 item 13): status after a held run
// names the held collection instead of "nothing to do", and offers the
// reset of that collection before the destructive confirmation.
#[test]
fn r_sync_guard_2_status_of_a_held_run_offers_the_reset_first() {
    let demo = Demo::new();
    for f in items(&demo.mailbox("alice", "tasks"), "ics") {
        std::fs::remove_file(f).unwrap();
    }
    let out = demo.run(&["sync", "--profile", "alice"]);
    assert_eq!(out.status.code(), Some(3));

    let status = demo.ok(&["status"]);
    let alice: String = status.split("profile bob").next().unwrap().to_string();
    assert!(!alice.contains("tasks: nothing to do"), "{alice}");
    assert!(
        alice.contains("held by the mass-delete guard (R-SAFE-3), nothing applied"),
        "{alice}"
    );
    let reset = alice
        .find("safe fix: `crmsync reset --profile alice --collection tasks`")
        .unwrap_or_else(|| panic!("the reset is offered: {alice}"));
    let confirm = alice
        .find("`crmsync sync --profile alice --confirm-mass-delete`")
        .unwrap_or_else(|| panic!("the confirmation is offered: {alice}"));
    assert!(reset < confirm, "the safe fix comes first: {alice}");
}

// Issue #13 item 13: with the scheduler off, status promises no next run
// and no push for a stored profile.
#[tokio::test(flavor = "multi_thread")]
async fn status_with_the_scheduler_off_shows_no_next_run_and_no_push() {
    let demo = Demo::new();
    let config = demo.dir.join("crmsync.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[scheduler]\nenabled = false\n");
    std::fs::write(&config, text).unwrap();
    let store = demo.store().await;
    let bob = user_id(&store, "bob").await;
    let root = demo.dir.join("mailboxes").join("bob-api");
    let def = crmsync_store::ProfileDefinitionRow {
        name: "bob-api".into(),
        user_id: bob,
        source: "api".into(),
        connector_kind: "vdir".into(),
        connector_settings: serde_json::json!({ "root": root }).to_string(),
        connector_secret: None,
        rules: "{}".into(),
        pull_interval_secs: 3600,
        push: true,
        enabled: true,
    };
    let long_ago = chrono::Utc::now() - chrono::Duration::days(3);
    store.catalog().upsert_profile(&def, long_ago).await.unwrap();

    let status = demo.ok(&["status"]);
    let stored = status.split("profile bob-api").nth(1).unwrap();
    assert!(!stored.contains("next run"), "{stored}");
    assert!(!stored.contains("push: on"), "{stored}");
    assert!(stored.contains("the scheduler is off"), "{stored}");
    let json = demo.json(&["status"]);
    assert_eq!(json[2]["schedule"]["scheduler_enabled"], false, "{json}");
}

// R-DEL-13 (issue #13 item 7): `crmsync untrack` asks for the choice, keeps
// or deletes the CRM record, and the record is no longer synced.
#[tokio::test(flavor = "multi_thread")]
async fn r_del_13_untrack_keeps_or_deletes_the_crm_record_and_stops_syncing() {
    let demo = Demo::new();
    let cards = items(&demo.mailbox("alice", "contacts"), "vcf");
    let (kept, deleted) = (id_of(&cards[0]), id_of(&cards[1]));

    let err = demo.fails(&["untrack", "--profile", "alice", "--record", &kept]);
    assert!(
        err.contains("--keep-in-crm") && err.contains("--delete-in-crm"),
        "{err}"
    );

    let out = demo.ok(&["untrack", "--profile", "alice", "--record", &kept, "--keep-in-crm"]);
    assert!(out.contains(&format!("record {kept} is no longer synced")), "{out}");
    assert!(out.contains("the CRM record stays"), "{out}");
    assert!(
        out.contains(&format!("`crmsync reset --profile alice --record {kept}`")),
        "{out}"
    );
    let json = demo.json(&["untrack", "--profile", "alice", "--record", &deleted, "--delete-in-crm"]);
    assert_eq!(json["deleted_in_crm"], true, "{json}");

    // A CRM edit of the kept record no longer reaches its card.
    edit_in_crm(&demo, &kept, "Untracked Title", None).await;
    demo.ok(&["sync", "--profile", "alice"]);
    assert!(!std::fs::read_to_string(&cards[0]).unwrap().contains("Untracked Title"));
    assert!(cards[1].exists(), "the deleted record's card stays");
    let store = demo.store().await;
    assert!(
        store.records().get::<ContactFields>(&deleted).await.is_err(),
        "deleted in the CRM, not re-created"
    );
    let explain = demo.json(&["explain", "--profile", "alice", "--record", &kept]);
    assert_eq!(explain["pair_state"], "unlinked", "{explain}");
    assert!(
        explain["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["rule"] == "R-DEL-13"),
        "{explain}"
    );

    let err = demo.fails(&[
        "untrack",
        "--profile",
        "alice",
        "--record",
        "no-such-id",
        "--keep-in-crm",
    ]);
    assert!(err.contains("does not track record no-such-id"), "{err}");
}

// R-ENG-5, R-OPS-15 (issue #13 item 13): an edit on the phone of a record
// shared with bob read-only (alice's; bob is no admin) is undone, and the
// run says why.
#[tokio::test(flavor = "multi_thread")]
async fn r_eng_5_a_reverted_edit_of_a_read_only_shared_record_says_why() {
    let demo = Demo::new();
    let id = id_of(&first_card(&demo));
    let store = demo.store().await;
    let c = store.records().get::<ContactFields>(&id).await.unwrap();
    let mut fields = c.fields.clone();
    fields.shared = true;
    store.records().update(c.id(), c.version(), fields).await.unwrap();
    let bob = user_id(&store, "bob").await;
    store.records().set_sync_flag(&bob, &id, true).await.unwrap();
    demo.ok(&["sync", "--profile", "bob"]);
    let card = demo.mailbox("bob", "contacts").join(format!("{id}.vcf"));
    assert!(card.exists(), "the shared contact reached bob's address book");

    set_title_on_card(&card, "Edited by bob");
    let out = demo.ok(&["sync", "--profile", "bob"]);
    assert!(
        out.contains(&format!(
            "{id}.vcf reverted in the groupware (R-ENG-5): the CRM record is shared with this user read-only"
        )),
        "{out}"
    );
    assert!(!std::fs::read_to_string(&card).unwrap().contains("Edited by bob"));
    let c = store.records().get::<ContactFields>(&id).await.unwrap();
    assert_ne!(
        c.fields.job_title.as_deref(),
        Some("Edited by bob"),
        "the CRM is unchanged"
    );
    let json = demo.json(&["sync", "--profile", "bob"]);
    assert!(
        json[0]["collections"][0].get("reverted").is_none(),
        "nothing to undo any more: {json}"
    );
}

/// A card on alice's phone with this UID and e-mail.
fn put_card(demo: &Demo, uid: &str, email: &str) {
    std::fs::write(
        demo.mailbox("alice", "contacts").join(format!("{uid}.vcf")),
        format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Dup {uid}\r\nN:{uid};Dup;;;\r\nEMAIL:{email}\r\nEND:VCARD\r\n"),
    )
    .unwrap();
}

/// A CRM contact of alice's with this last name and e-mail; its id.
async fn crm_contact(demo: &Demo, last: &str, email: &str) -> String {
    let store = demo.store().await;
    let alice = user_id(&store, "alice").await;
    let fields = ContactFields {
        last_name: Some(last.into()),
        email1: Some(email.into()),
        ..ContactFields::default()
    };
    store.records().create(&alice, fields).await.unwrap().meta.id
}

async fn crm_contacts_with(demo: &Demo, email: &str) -> usize {
    let store = demo.store().await;
    let page = store
        .records()
        .list::<ContactFields>(&crmsync_store::ListQuery {
            limit: crmsync_store::MAX_PAGE,
            ..crmsync_store::ListQuery::default()
        })
        .await
        .unwrap();
    page.items
        .iter()
        .filter(|c| c.fields.email1.as_deref() == Some(email))
        .count()
}

// R-PAIR-2, R-OPS-16 (issue #13 item 8): a reported group is resolved by
// choice: `link` pairs the chosen record and item, `keep-apart` syncs each
// member on its own; both are in the history, and neither group is
// reported again.
#[tokio::test(flavor = "multi_thread")]
async fn r_pair_2_duplicates_are_linked_or_kept_apart_by_choice() {
    let demo = Demo::new();
    // Group 1: two CRM contacts and one card share an address.
    let (c1, c2) = (
        crm_contact(&demo, "Twin", "twin@example.com").await,
        crm_contact(&demo, "Twin", "twin@example.com").await,
    );
    put_card(&demo, "twin-card", "twin@example.com");
    // Group 2: one CRM contact and two cards share another.
    let c3 = crm_contact(&demo, "Apart", "apart@example.com").await;
    put_card(&demo, "apart-1", "apart@example.com");
    put_card(&demo, "apart-2", "apart@example.com");
    demo.ok(&["sync", "--profile", "alice"]);
    let report = demo.json(&["duplicates", "--profile", "alice"]);
    let contacts = report[0]["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["collection"] == "contacts")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(contacts["groups"].as_array().unwrap().len(), 2, "{report}");
    let text = demo.ok(&["duplicates", "--profile", "alice"]);
    assert!(text.contains("crmsync duplicates link --profile alice"), "{text}");

    let err = demo.fails(&[
        "duplicates",
        "link",
        "--profile",
        "alice",
        "--collection",
        "contacts",
        "--record",
        &c3,
        "--href",
        "twin-card.vcf",
    ]);
    assert!(err.contains("has no group with"), "{err}");
    let out = demo.ok(&[
        "duplicates",
        "link",
        "--profile",
        "alice",
        "--collection",
        "contacts",
        "--record",
        &c1,
        "--href",
        "twin-card.vcf",
    ]);
    assert!(out.contains("linked"), "{out}");
    let json = demo.json(&[
        "duplicates",
        "keep-apart",
        "--profile",
        "alice",
        "--collection",
        "contacts",
        "--member",
        &c3,
    ]);
    assert_eq!(json["resolution"], "kept_apart", "{json}");
    assert_eq!(json["hrefs"].as_array().unwrap().len(), 2, "{json}");

    demo.ok(&["sync", "--profile", "alice"]);
    let text = demo.ok(&["duplicates", "--profile", "alice"]);
    assert!(text.contains("profile alice: no possible duplicates"), "{text}");
    let store = demo.store().await;
    let pairs = store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert!(
        pairs.iter().any(|p| p.crm_id == c1 && p.href == "twin-card.vcf"),
        "the chosen record and item are paired"
    );
    assert!(pairs.iter().any(|p| p.crm_id == c2), "the other twin syncs on its own");
    assert_eq!(crm_contacts_with(&demo, "twin@example.com").await, 2, "no third twin");
    assert_eq!(
        crm_contacts_with(&demo, "apart@example.com").await,
        3,
        "each card kept apart got its own CRM record"
    );
    assert!(
        pairs
            .iter()
            .any(|p| p.crm_id == c3 && p.href != "apart-1.vcf" && p.href != "apart-2.vcf")
    );

    let explain = demo.json(&["explain", "--profile", "alice", "--record", &c3]);
    assert!(
        explain["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["rule"] == "R-PAIR-2" && h["message"].as_str().unwrap().contains("kept apart by choice")),
        "{explain}"
    );
    let explain = demo.json(&["explain", "--profile", "alice", "--record", &c1]);
    assert!(
        explain["history"].as_array().unwrap().iter().any(|h| h["message"]
            .as_str()
            .unwrap()
            .contains("linked by choice to twin-card.vcf")),
        "{explain}"
    );
}

// R-TRACK-3 (R-TRACK-3-ONCE): `crmsync convert` converts as a CRM user with
// the API's checks and store call: bob may not convert alice's task; alice's
// becomes an opportunity it regards, with the values given; the same
// command again changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn r_track_3_convert_on_the_command_line_acts_as_the_named_user() {
    let demo = Demo::new();
    let store = demo.store().await;
    let alice = user_id(&store, "alice").await;
    let task = every::<ActivityFields>(&store)
        .await
        .into_iter()
        .find(|a| a.meta.owner_id == alice && a.fields.kind == ActivityKind::Task)
        .expect("the demo gives alice tasks");
    let id = task.meta.id.as_str();

    let err = demo.fails(&["convert", "--activity", id, "--to", "opportunity", "--user", "bob"]);
    assert!(err.contains(&format!("no activity {id} that you may read")), "{err}");
    let err = demo.fails(&["convert", "--activity", id, "--to", "deal", "--user", "alice"]);
    assert!(err.contains("not one of opportunity, lead, case"), "{err}");

    let args = [
        "convert",
        "--activity",
        id,
        "--to",
        "opportunity",
        "--user",
        "alice",
        "--set",
        "estimated_value=4000",
        "--set",
        "currency=EUR",
    ];
    let out = demo.ok(&args);
    assert!(out.contains("converted into opportunity"), "{out}");
    let again = demo.json(&args);
    assert_eq!(again["created"], false, "{again}");
    let opportunity = again["record"]["id"].as_str().unwrap();

    let made = store.records().get::<OpportunityFields>(opportunity).await.unwrap();
    assert_eq!(made.fields.title, task.fields.subject);
    assert_eq!(made.fields.estimated_value, Some(4000));
    assert_eq!(made.meta.owner_id, alice);
    assert_eq!(every::<OpportunityFields>(&store).await.len(), 1);
    let regarding = store
        .records()
        .get::<ActivityFields>(id)
        .await
        .unwrap()
        .fields
        .regarding
        .unwrap();
    assert_eq!(
        (regarding.entity, regarding.id.as_str()),
        (EntityKind::Opportunity, opportunity)
    );
}
