//! The operator commands (status, explain, reset, conflicts, duplicates) run
//! as the real binary on a `crmsync demo` folder: real SQLite, real vdir
//! mailboxes, human and `--json` output, and the failure messages.

use std::path::{Path, PathBuf};

use crate::support::demo::{Demo, items, user_id};
use crmsync_model::{ActivityFields, ActivityKind, ContactFields};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use serde_json::Value;

#[test]
fn status_duplicates_and_conflicts_list_in_human_and_json_form() {
    let demo = Demo::new();
    let status = demo.ok(&["status"]);
    assert!(status.contains("profile alice: ok"), "{status}");
    assert!(status.contains("profile bob: ok"), "{status}");
    assert!(status.contains("last run: ok"), "{status}");
    assert!(status.contains("contacts: 120 groupware create"), "{status}");
    assert!(status.contains("open conflicts: 0"), "{status}");

    let json = demo.json(&["status"]);
    let profiles = json.as_array().unwrap();
    assert_eq!(profiles.len(), 2);
    assert_eq!(profiles[0]["profile"], "alice");
    assert_eq!(profiles[0]["last_run"]["outcome"], "ok");
    assert_eq!(profiles[0]["last_run"]["counts"]["contacts"]["groupware create"], 120);
    assert_eq!(profiles[0]["consecutive_failures"], 0);
    assert!(profiles[0]["user_id"].is_string());

    // R-PAIR-2: the demo data has no ambiguous matches.
    let dups = demo.ok(&["duplicates", "--profile", "alice"]);
    assert!(dups.contains("profile alice: no possible duplicates"), "{dups}");
    let dups = demo.json(&["duplicates"]);
    assert_eq!(dups.as_array().unwrap().len(), 2, "one report per profile");
    assert_eq!(dups[1]["profile"], "bob");

    assert!(demo.ok(&["conflicts"]).contains("no open conflicts"));
    assert_eq!(demo.json(&["conflicts", "--profile", "bob"]), serde_json::json!([]));

    let err = demo.fails(&["duplicates", "--profile", "carol"]);
    assert!(
        err.contains("no profile named `carol`") && err.contains("alice, bob"),
        "an unknown profile names the known ones: {err}"
    );
}

// R-DEL-9 + R-EXPLAIN-1: "why is this meeting still in my calendar?"
#[tokio::test(flavor = "multi_thread")]
async fn r_explain_1_explain_says_which_rule_kept_a_completed_meeting_deleted_in_the_crm() {
    let demo = Demo::new();
    let store = demo.store().await;
    let alice = user_id(&store, "alice").await;
    let now = chrono::Utc::now();
    let page = store
        .records()
        .list::<ActivityFields>(&ListQuery {
            visible_to: None,
            owner_id: Some(alice.clone()),
            modified_since: None,
            cursor: None,
            limit: MAX_PAGE,
        })
        .await
        .unwrap();
    let meeting = page
        .items
        .into_iter()
        .find(|a| a.fields.kind == ActivityKind::Appointment && a.fields.end.is_some_and(|e| e < now))
        .expect("the demo has a past meeting of alice's");
    let id = meeting.meta.id.clone();
    let before = items(&demo.mailbox("alice", "calendar"), "ics");
    store
        .records()
        .delete::<ActivityFields>(&id, Some(meeting.meta.version))
        .await
        .unwrap();
    drop(store);

    demo.ok(&["sync", "--profile", "alice"]);
    assert_eq!(
        items(&demo.mailbox("alice", "calendar"), "ics"),
        before,
        "the completed meeting stays in the calendar"
    );

    let text = demo.ok(&["explain", "--profile", "alice", "--record", &id]);
    assert!(text.contains("in the CRM: deleted"), "{text}");
    assert!(text.contains("R-DEL-9"), "the rule that kept it: {text}");
    let json = demo.json(&["explain", "--profile", "alice", "--record", &id]);
    assert_eq!(json["crm"], "deleted");
    assert!(
        json["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["rule"] == "R-DEL-9"),
        "{json}"
    );

    let err = demo.fails(&["explain", "--profile", "alice", "--record", "no-such-record"]);
    assert!(err.contains("no CRM record `no-such-record`"), "{err}");
    let err = demo.fails(&["explain", "--profile", "carol", "--record", &id]);
    assert!(err.contains("no profile named `carol`"), "{err}");
}

// R-RESET-1: forget, then the next sync pairs again without duplicates.
#[test]
fn r_reset_1_reset_forgets_pairs_and_the_next_sync_creates_no_duplicates() {
    let demo = Demo::new();
    let contacts = demo.mailbox("alice", "contacts");
    let before = items(&contacts, "vcf");

    let out = demo.ok(&["reset", "--profile", "alice", "--collection", "contacts"]);
    assert!(out.contains("forgot 120 pair(s) (collection contacts)"), "{out}");
    assert!(out.contains("without creating duplicates"), "{out}");
    let json = demo.json(&["reset", "--profile", "alice", "--collection", "contacts"]);
    assert_eq!(json["forgotten"], 0, "nothing left to forget");

    let sync = demo.ok(&["sync", "--profile", "alice"]);
    assert!(!sync.contains("created in the groupware"), "{sync}");
    assert_eq!(items(&contacts, "vcf"), before, "same items, no duplicates");
    let json = demo.json(&["reset", "--profile", "alice", "--collection", "contacts"]);
    assert_eq!(json["forgotten"], 120, "every contact was paired again");

    let err = demo.fails(&["reset", "--profile", "alice", "--collection", "inbox"]);
    assert!(err.contains("use one of contacts, calendar, tasks"), "{err}");
}

// R-RESET-1, R-ENG-7, R-SYNC-ID-2 (issue #10): after a reset nothing is
// agreed. A NOTE added to a card (the CRM has none) is copied to the CRM,
// not deleted as if the CRM had removed it, and CRM edits of other contacts
// reach their cards.
#[tokio::test(flavor = "multi_thread")]
async fn r_reset_1_a_note_added_after_a_reset_reaches_the_crm() {
    let demo = Demo::new();
    let contacts = demo.mailbox("alice", "contacts");
    let out = demo.ok(&["reset", "--profile", "alice"]);
    assert!(out.contains("conflict under the profile's policy"), "{out}");

    let cards = items(&contacts, "vcf");
    let noted = cards
        .iter()
        .find(|p| !std::fs::read_to_string(p).unwrap().contains("NOTE"))
        .expect("a card without a note")
        .clone();
    let card = std::fs::read_to_string(&noted).unwrap();
    std::fs::write(
        &noted,
        card.replace("END:VCARD", "NOTE:Met at the reset party\r\nEND:VCARD"),
    )
    .unwrap();
    let id_of = |p: &Path| p.file_stem().unwrap().to_str().unwrap().to_string();
    let edited: Vec<PathBuf> = cards.iter().filter(|p| **p != noted).take(5).cloned().collect();
    let store = demo.store().await;
    for (i, card) in edited.iter().enumerate() {
        let c = store.records().get::<ContactFields>(&id_of(card)).await.unwrap();
        let mut fields = c.fields.clone();
        fields.job_title = Some(format!("Edited after reset {i}"));
        store.records().update(c.id(), c.version(), fields).await.unwrap();
    }
    drop(store);

    demo.ok(&["sync", "--profile", "alice"]);
    let store = demo.store().await;
    let contact = store.records().get::<ContactFields>(&id_of(&noted)).await.unwrap();
    assert_eq!(contact.fields.notes.as_deref(), Some("Met at the reset party"));
    assert!(
        std::fs::read_to_string(&noted)
            .unwrap()
            .contains("NOTE:Met at the reset party")
    );
    for (i, card) in edited.iter().enumerate() {
        let text = std::fs::read_to_string(card).unwrap();
        assert!(text.contains(&format!("TITLE:Edited after reset {i}")), "{text}");
    }
    assert_eq!(items(&contacts, "vcf"), cards, "same cards, no duplicates");
}

// R-SAFE-3: a held mass delete tells the operator the exact command.
#[test]
fn mass_delete_guard_message_names_the_confirm_command_and_status_shows_it() {
    let demo = Demo::new();
    // R-DEL-10: tasks deleted in the groupware are deleted in the CRM, so
    // emptying the folder plans a delete of every task: the guard holds it.
    let tasks = items(&demo.mailbox("alice", "tasks"), "ics");
    assert!(tasks.len() >= 5, "the demo gives alice enough tasks");
    for f in &tasks {
        std::fs::remove_file(f).unwrap();
    }
    let out = demo.run(&["sync", "--profile", "alice"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("run `crmsync sync --profile alice --confirm-mass-delete`"),
        "{stdout}"
    );
    let status = demo.ok(&["status"]);
    assert!(
        status.contains("profile alice: HELD by the mass-delete guard"),
        "{status}"
    );
    assert!(
        status.contains("`crmsync sync --profile alice --confirm-mass-delete`"),
        "{status}"
    );
}

// R-SAFE-3, R-SYNC-GUARD-2: a wiped address book is held although the
// deletion policy only marks the contacts "removed by the user" (R-DEL-1); the
// dry run answers like the held run, the safe repair is offered first, and it
// brings every contact back without duplicates.
#[test]
fn r_safe_3_wiped_address_book_is_held_and_reset_brings_it_back() {
    let demo = Demo::new();
    let contacts = demo.mailbox("alice", "contacts");
    let before = items(&contacts, "vcf");
    assert!(before.len() >= 5, "the demo gives alice enough contacts");
    for f in &before {
        std::fs::remove_file(f).unwrap();
    }

    let dry = demo.run(&["sync", "--profile", "alice", "--dry-run"]);
    let dry_out = String::from_utf8(dry.stdout).unwrap();
    assert_eq!(
        dry.status.code(),
        Some(3),
        "a dry run of a held plan exits like the held run: {dry_out}"
    );
    assert!(dry_out.contains("HELD (R-SAFE-3)"), "{dry_out}");

    let out = demo.run(&["sync", "--profile", "alice"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    let held = format!(
        "would take {n} of the {n} CRM records of contacts out of sync ({n} marked removed by the user)",
        n = before.len()
    );
    assert!(stdout.contains(&held), "{stdout}");
    let reset = stdout
        .find("safe fix: `crmsync reset --profile alice --collection contacts` forgets the pairs")
        .unwrap_or_else(|| panic!("the safe fix is offered: {stdout}"));
    let confirm = stdout
        .find("only if the losses are wanted: `crmsync sync --profile alice --confirm-mass-delete`")
        .unwrap_or_else(|| panic!("the confirmation is offered: {stdout}"));
    assert!(reset < confirm, "the safe fix comes first: {stdout}");

    demo.ok(&["reset", "--profile", "alice", "--collection", "contacts"]);
    demo.ok(&["sync", "--profile", "alice"]);
    assert_eq!(
        items(&contacts, "vcf").len(),
        before.len(),
        "every contact is back, none twice"
    );
}

// R-CFG-RULES-1: a misspelt key in a profile's `rules` table is refused at
// start, naming the key, instead of silently keeping the default policy.
#[test]
fn r_cfg_rules_1_misspelt_rules_key_is_refused_naming_it() {
    let demo = Demo::new();
    let config = demo.dir.join("crmsync.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[profile.rules.contacts]\nconflcit = \"manual\"\n");
    std::fs::write(&config, text).unwrap();
    let err = demo.fails(&["sync", "--profile", "bob"]);
    assert!(err.contains("config key `profile[1].rules.contacts.conflcit`"), "{err}");
    assert!(err.contains("unknown field `conflcit`"), "{err}");
}

// A reader that stops early (`crmsync status | head -1`) ends the output
// quietly: no panic, no stack trace. The pipe is closed before crmsync starts,
// so its first write always meets a closed pipe.
#[test]
fn status_into_a_closed_pipe_exits_quietly() {
    let demo = Demo::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = crate::support::crmsync_command()
        .args(["--config", &demo.config(), "status"])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "nothing on stderr: {stderr}");
}

// `--profile` can be repeated: each named profile runs once, in order.
#[test]
fn sync_takes_several_profiles() {
    let demo = Demo::new();
    let json = demo.json(&["sync", "--profile", "bob", "--profile", "alice", "--profile", "bob"]);
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob", "alice"]);
    let err = demo.fails(&["sync", "--profile", "alice", "--profile", "carol"]);
    assert!(err.contains("no profile named `carol`"), "{err}");
}

// R-EDIT-3 `manual`: list a held conflict, resolve it once.
#[tokio::test(flavor = "multi_thread")]
async fn conflicts_are_listed_and_resolved_with_take() {
    let demo = Demo::new();
    let store = demo.store().await;
    let pair = store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let fields = serde_json::json!([{"key": "last_name", "base": "Old", "crm": "Crm", "groupware": "Groupware"}]);
    store
        .sync_state()
        .add_conflict(&crmsync_store::status::ConflictRow {
            id: "c-42".into(),
            profile: "alice".into(),
            collection: "contacts".into(),
            pair_id: pair.id.clone(),
            crm_id: pair.crm_id.clone(),
            href: pair.href.clone(),
            fields: fields.to_string(),
            created_at: chrono::Utc::now(),
            resolved_at: None,
            resolution: None,
        })
        .await
        .unwrap();
    drop(store);

    let list = demo.ok(&["conflicts", "--profile", "alice"]);
    assert!(list.contains("conflict c-42 (profile alice, contacts)"), "{list}");
    assert!(
        list.contains("last_name: CRM \"Crm\" / groupware \"Groupware\""),
        "{list}"
    );
    let json = demo.json(&["conflicts"]);
    assert_eq!(json[0]["id"], "c-42");
    assert!(demo.ok(&["status"]).contains("open conflicts: 1"));

    let out = demo.ok(&["conflicts", "resolve", "c-42", "--take", "groupware"]);
    assert!(
        out.contains("conflict c-42 resolved: the groupware values win"),
        "{out}"
    );
    let store = demo.store().await;
    let pair = store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    assert_eq!(
        pair.base.get("last_name"),
        Some("Crm"),
        "the groupware's value differs from the base now"
    );
    drop(store);

    let err = demo.fails(&["conflicts", "resolve", "c-42", "--take", "crm"]);
    assert!(err.contains("already resolved"), "{err}");
    let err = demo.fails(&["conflicts", "resolve", "nope", "--take", "crm"]);
    assert!(err.contains("no conflict `nope`"), "{err}");
    assert_eq!(demo.json(&["conflicts"]), serde_json::json!([]));
}

// #4 / R-OPS-6 / R-SVC-2: `crmsync status` shows a stored profile's schedule
// (next run, last scheduled run, failing reason) in human and JSON form, lists
// profiles created over the API beside the file's, and exits 5 while the
// scheduler has one failing.
#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_schedule_of_stored_profiles() {
    let demo = Demo::new();
    let store = demo.store().await;
    let bob = user_id(&store, "bob").await;
    let now = chrono::Utc::now();
    let root = demo.dir.join("mailboxes").join("bob-api");
    let def = crmsync_store::ProfileDefinitionRow {
        name: "bob-api".into(),
        user_id: bob.clone(),
        source: "api".into(),
        connector_kind: "vdir".into(),
        connector_settings: serde_json::json!({ "root": root }).to_string(),
        connector_secret: None,
        rules: "{}".into(),
        pull_interval_secs: 3600,
        push: true,
        enabled: true,
    };
    store.catalog().upsert_profile(&def, now).await.unwrap();
    let json = demo.json(&["status"]);
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "bob-api"], "the file's and the stored ones");
    let stored = &json[2];
    assert_eq!(stored["user_id"], bob.as_str());
    assert_eq!(stored["schedule"]["state"], "ok");
    assert!(stored["schedule"]["next_run_at"].is_string(), "{stored}");
    assert!(
        json[0].get("schedule").is_none(),
        "alice was never imported: no schedule"
    );

    // A scheduled run that failed for the third time in a row.
    let claimed = store
        .catalog()
        .claim_due_profiles("w1", now, now + chrono::Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let retry = now + chrono::Duration::seconds(240);
    store
        .catalog()
        .release_profile(
            "bob-api",
            "w1",
            &crmsync_store::RunRelease {
                finished_at: now,
                succeeded: false,
                next_run_at: retry,
                state: crmsync_store::ScheduleState::Failing,
                state_reason: Some("groupware: the folder is gone".into()),
                failures: 3,
            },
        )
        .await
        .unwrap();
    let out = demo.run(&["status"]);
    assert_eq!(out.status.code(), Some(5), "monitoring sees the failing profile");
    let text = String::from_utf8(out.stdout).unwrap();
    let when = retry.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    assert!(text.contains(&format!("schedule: next run {when}")), "{text}");
    assert!(text.contains("state: failing"), "{text}");
    assert!(
        text.contains("failing (3 run(s) in a row): groupware: the folder is gone"),
        "{text}"
    );
    let json: Value = serde_json::from_slice(&demo.run(&["--json", "status"]).stdout).unwrap();
    assert_eq!(json[2]["schedule"]["failures"], 3);
    assert_eq!(json[2]["schedule"]["state_reason"], "groupware: the folder is gone");
}

/// Contacts in the CRM with this last name.
async fn contacts_named(store: &Store, last: &str) -> usize {
    let page = store
        .records()
        .list::<crmsync_model::ContactFields>(&ListQuery::default())
        .await
        .unwrap();
    page.items
        .iter()
        .filter(|c| c.fields.last_name.as_deref() == Some(last))
        .count()
}

// R-PERM-1 on the `crmsync sync` path: the profile is built by the same
// factory as the scheduler's, so a user without create rights (deactivated:
// the CRM grants them nothing) cannot create CRM records through it.
#[tokio::test(flavor = "multi_thread")]
async fn r_perm_1_cli_sync_never_creates_for_a_user_without_rights() {
    let demo = Demo::new();
    let store = demo.store().await;
    let id = user_id(&store, "alice").await;
    let alice = store.records().get::<crmsync_model::UserFields>(&id).await.unwrap();
    let mut fields = alice.fields.clone();
    fields.active = false;
    store.records().update(&id, alice.meta.version, fields).await.unwrap();
    std::fs::write(
        demo.mailbox("alice", "contacts").join("r-perm-1.vcf"),
        "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:r-perm-1\r\nFN:Zed Permless\r\nN:Permless;Zed;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();

    let err = demo.fails(&["sync", "--profile", "alice"]);
    assert!(err.contains("right"), "the refusal names the missing rights: {err}");
    assert_eq!(contacts_named(&store, "Permless").await, 0, "nothing was created");
}
