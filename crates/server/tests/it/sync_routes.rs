//! The `/sync` routes (the operator surface): real SQLite, real vdir folders,
//! real sync runs, driven through the router like a client would.

use crate::common;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use common::World;
use crmsync_model::{Actor, Role};
use crmsync_server::sync::{ProfileDirectory, ProfileError, ProfileInfo};
use crmsync_server::{AppState, router};
use crmsync_store::status::ConflictRow;
use crmsync_sync::SyncProfile;
use crmsync_vdir::{VdirConfig, VdirConnector};
use serde_json::{Value, json};

/// alice's and bob's profiles, each on its own vdir folder.
pub(crate) struct TestProfiles {
    pub(crate) profiles: Vec<(ProfileInfo, PathBuf)>,
}

#[async_trait::async_trait]
impl ProfileDirectory for TestProfiles {
    async fn profiles(&self) -> Result<Vec<ProfileInfo>, ProfileError> {
        Ok(self.profiles.iter().map(|(p, _)| p.clone()).collect())
    }

    async fn sync_profile(&self, name: &str) -> Result<SyncProfile, ProfileError> {
        let (info, root) = self
            .profiles
            .iter()
            .find(|(p, _)| p.name == name)
            .ok_or_else(|| ProfileError::NotFound(name.into()))?;
        let connector = VdirConnector::open(&VdirConfig::new(root.clone())).map_err(|e| ProfileError::Invalid {
            name: name.into(),
            message: e.to_string(),
        })?;
        let actor = Actor {
            user_id: info.user_id.clone(),
            role: Role::User,
        };
        Ok(SyncProfile::new(
            name,
            actor,
            crmsync_engine::Profile::new(info.user_id.clone()),
            Arc::new(connector),
        ))
    }
}

/// The harness's world, its router serving alice's and bob's profiles.
async fn world_with_profiles() -> World {
    let mut w = World::new().await;
    let state = AppState::new(w.store.clone()).with_profiles(vdir_profiles(&w));
    w.app = router(state);
    w
}

/// alice's and bob's profiles, each on a vdir folder in the world's directory.
pub(crate) fn vdir_profiles(w: &World) -> Arc<TestProfiles> {
    let mut profiles = Vec::new();
    for (name, id) in [("alice", w.alice.id.clone()), ("bob", w.bob.id.clone())] {
        let root = w._dir.path().join("mailboxes").join(name);
        std::fs::create_dir_all(&root).unwrap();
        profiles.push((
            ProfileInfo {
                name: name.into(),
                user_id: id,
            },
            root,
        ));
    }
    Arc::new(TestProfiles { profiles })
}

fn contacts_dir(w: &World, profile: &str) -> PathBuf {
    w._dir.path().join("mailboxes").join(profile).join("contacts")
}

fn vcf_count(dir: &PathBuf) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "vcf"))
                .count()
        })
        .unwrap_or(0)
}

async fn run(w: &World, token: &str, profile: &str, body: Value) -> common::Reply {
    w.call(
        Method::POST,
        &format!("/api/v1/sync/profiles/{profile}/run"),
        Some(token),
        Some(body),
    )
    .await
}

// R-OPS-1: a server started without profiles says so on every /sync route.
#[tokio::test]
async fn r_ops_1_sync_routes_without_a_profile_source_answer_404_no_sync_profiles() {
    let w = World::new().await;
    for (method, path, body) in [
        (Method::GET, "/api/v1/sync/status", None),
        (Method::GET, "/api/v1/sync/conflicts", None),
        (Method::GET, "/api/v1/sync/profiles/alice/duplicates", None),
        (Method::POST, "/api/v1/sync/profiles/alice/run", Some(json!({}))),
    ] {
        let r = w.call(method, path, Some(&w.admin.token), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.error_code(), "no_sync_profiles", "{path}");
        assert!(
            r.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no sync profiles configured")
        );
    }
}

// R-OPS-2: a user sees and operates only their own profiles; another user's
// profile answers exactly like a missing one.
#[tokio::test]
async fn r_ops_2_another_users_profile_is_404_like_a_missing_one() {
    let w = world_with_profiles().await;
    let r = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["profile"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice"]);
    let r = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.admin.token), None)
        .await;
    assert_eq!(r.json.as_array().unwrap().len(), 2, "an admin sees every profile");

    let missing = w
        .call(
            Method::GET,
            "/api/v1/sync/profiles/nobody/duplicates",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    for (method, path, body) in [
        (Method::GET, "/api/v1/sync/profiles/bob/duplicates".to_string(), None),
        (
            Method::POST,
            "/api/v1/sync/profiles/bob/run".to_string(),
            Some(json!({})),
        ),
        (
            Method::POST,
            "/api/v1/sync/profiles/bob/reset".to_string(),
            Some(json!({})),
        ),
        (
            Method::GET,
            format!("/api/v1/sync/profiles/bob/explain/{}", w.contacts.bob_private),
            None,
        ),
        (Method::GET, "/api/v1/sync/conflicts?profile=bob".to_string(), None),
    ] {
        let r = w.call(method, &path, Some(&w.alice.token), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json, missing.json, "{path}: same body as a missing profile");
    }
    assert_eq!(vcf_count(&contacts_dir(&w, "bob")), 0, "bob's profile did not run");
}

// R-SAFE-5 + status: the run route returns the report; status shows the run.
#[tokio::test]
async fn run_route_syncs_and_status_reports_the_last_run() {
    let w = world_with_profiles().await;
    let dry = run(&w, &w.alice.token, "alice", json!({"dry_run": true})).await;
    assert_eq!(dry.status, StatusCode::OK, "{:?}", dry.json);
    assert_eq!(dry.json["outcome"], "dry_run");
    assert_eq!(vcf_count(&contacts_dir(&w, "alice")), 0, "a dry run writes nothing");

    let r = run(&w, &w.alice.token, "alice", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["outcome"], "ok");
    assert_eq!(
        vcf_count(&contacts_dir(&w, "alice")),
        1,
        "alice's own contact is in her mailbox"
    );

    let s = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    let alice = &s.json[0];
    assert_eq!(alice["last_run"]["outcome"], "ok");
    assert_eq!(alice["last_run"]["counts"]["contacts"]["groupware create"], 1);
    assert_eq!(alice["consecutive_failures"], 0);
    assert!(alice["last_success_at"].is_string());
    assert_eq!(alice["open_conflicts"], 0);
}

// R-EXPLAIN-1 over the API; records the caller may not read stay hidden (R-API-2).
#[tokio::test]
async fn r_explain_1_explain_route_says_why_and_hides_unreadable_records() {
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let path = format!("/api/v1/sync/profiles/alice/explain/{}", w.contacts.alice_own);
    let r = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["crm"], "present");
    assert_eq!(r.json["explanation"]["syncs"], true);
    assert!(r.json["href"].is_string(), "paired after the run");
    assert!(
        !r.json["history"].as_array().unwrap().is_empty(),
        "the create is in the history"
    );

    let hidden = format!("/api/v1/sync/profiles/alice/explain/{}", w.contacts.bob_private);
    let r = w.call(Method::GET, &hidden, Some(&w.alice.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let unknown = w
        .call(
            Method::GET,
            "/api/v1/sync/profiles/alice/explain/no-such-id",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json, unknown.json, "an unreadable record looks like a missing one");

    // An admin may ask about any record: it does not sync, and the rule says why.
    let r = w.call(Method::GET, &hidden, Some(&w.admin.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["explanation"]["syncs"], false);
}

// R-RESET-1: a reset forgets pairs only; the next run re-pairs without duplicates.
#[tokio::test]
async fn r_reset_1_reset_route_forgets_pairs_and_the_next_run_re_pairs_without_duplicates() {
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let reset = "/api/v1/sync/profiles/alice/reset";
    let r = w
        .call(
            Method::POST,
            reset,
            Some(&w.alice.token),
            Some(json!({"collection": "contacts"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["forgotten"], 1);
    assert!(r.json["next"].as_str().unwrap().contains("without creating duplicates"));
    assert!(
        w.store
            .sync_state()
            .pairs("alice", "contacts")
            .await
            .unwrap()
            .is_empty()
    );

    let again = run(&w, &w.alice.token, "alice", json!({})).await;
    assert_eq!(again.status, StatusCode::OK);
    let contacts = &again.json["collections"][0];
    assert_eq!(contacts["collection"], "contacts");
    assert!(contacts["applied"].get("groupware create").is_none(), "{contacts}");
    assert_eq!(vcf_count(&contacts_dir(&w, "alice")), 1, "no duplicate item");
    assert_eq!(
        w.store.sync_state().pairs("alice", "contacts").await.unwrap().len(),
        1,
        "paired again"
    );

    let bad = w
        .call(
            Method::POST,
            reset,
            Some(&w.alice.token),
            Some(json!({"collection": "inbox"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_field(), Some("collection"));
}

pub(crate) fn conflict_on(pair: &crmsync_store::status::PairRow) -> ConflictRow {
    let fields = json!([{"key": "last_name", "base": "Old", "crm": "Crm", "groupware": "Groupware"}]);
    ConflictRow {
        id: "conflict-1".into(),
        profile: pair.profile.clone(),
        collection: pair.collection.clone(),
        pair_id: pair.id.clone(),
        crm_id: pair.crm_id.clone(),
        href: pair.href.clone(),
        fields: fields.to_string(),
        created_at: chrono::Utc::now(),
        resolved_at: None,
        resolution: None,
    }
}

// R-EDIT-3 `manual`: held conflicts are listed to their profile's user and resolved once.
#[tokio::test]
async fn conflict_routes_list_and_resolve_only_the_callers_conflicts() {
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    w.store.sync_state().add_conflict(&conflict_on(&pair)).await.unwrap();

    let r = w
        .call(Method::GET, "/api/v1/sync/conflicts", Some(&w.alice.token), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json[0]["id"], "conflict-1");
    assert_eq!(r.json[0]["fields"][0]["groupware"], "Groupware");
    let r = w
        .call(Method::GET, "/api/v1/sync/conflicts", Some(&w.bob.token), None)
        .await;
    assert_eq!(r.json, json!([]), "bob does not see alice's conflicts");

    let resolve = "/api/v1/sync/conflicts/conflict-1/resolve";
    let r = w
        .call(Method::POST, resolve, Some(&w.bob.token), Some(json!({"take": "crm"})))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "bob may not resolve it");
    let r = w
        .call(
            Method::POST,
            resolve,
            Some(&w.alice.token),
            Some(json!({"take": "nobody"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), Some("take"));
    let r = w
        .call(
            Method::POST,
            resolve,
            Some(&w.alice.token),
            Some(json!({"take": "crm"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    // Taking the CRM's value: the base now holds the groupware's, so the CRM's wins next sync.
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    assert_eq!(pair.base.get("last_name"), Some("Groupware"));
    let r = w
        .call(
            Method::POST,
            resolve,
            Some(&w.alice.token),
            Some(json!({"take": "crm"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "resolved once");
    let r = w
        .call(Method::GET, "/api/v1/sync/conflicts", Some(&w.alice.token), None)
        .await;
    assert_eq!(r.json, json!([]));
}

// R-PAIR-2: the latest duplicates report per collection, also counted in the status.
#[tokio::test]
async fn r_pair_2_duplicates_route_lists_the_latest_report() {
    let w = world_with_profiles().await;
    let groups = json!([{"crm_ids": ["c1", "c2"], "hrefs": ["x.vcf"], "matched_by": "email"}]);
    w.store
        .sync_state()
        .save_duplicates("alice", "contacts", &groups.to_string())
        .await
        .unwrap();
    let r = w
        .call(
            Method::GET,
            "/api/v1/sync/profiles/alice/duplicates",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["collections"][0]["collection"], "contacts");
    assert_eq!(r.json["collections"][0]["groups"][0]["matched_by"], "email");
    let s = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    assert_eq!(s.json[0]["duplicate_groups"], 1);
    assert!(
        s.json[0]["todo"][0]
            .as_str()
            .unwrap()
            .contains("crmsync duplicates --profile alice")
    );
}

// A groupware failure reaches the client with what to do about it.
#[tokio::test]
async fn a_failing_run_says_what_to_do_and_status_shows_it_failing() {
    let w = world_with_profiles().await;
    // A file stands where alice's contacts folder must be created.
    std::fs::write(contacts_dir(&w, "alice"), b"not a folder").unwrap();
    let r = run(&w, &w.alice.token, "alice", json!({})).await;
    assert!(r.status.is_server_error(), "{:?}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("groupware"), "{message}");
    assert_eq!(
        r.json["error"]["retryable"],
        r.status == StatusCode::SERVICE_UNAVAILABLE
    );
    let s = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    assert_eq!(s.json[0]["consecutive_failures"], 1, "{:?}", s.json);
    assert!(s.json[0]["failing"].is_string());
}

fn vcf_files(dir: &PathBuf) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "vcf"))
        .collect();
    v.sort();
    v
}

// R-EDIT-3 + R-OPS-11 over the API: explain's history shows the value kept
// and the value lost by a conflict; R-DEL-2 + R-OPS-12: status lists a
// contact removed on the phone with the reset that brings it back, and that
// reset (over the API) brings it back.
#[tokio::test]
async fn r_edit_3_r_del_2_explain_shows_lost_values_and_status_lists_removed_records() {
    use crmsync_model::ContactFields;
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let card = vcf_files(&contacts_dir(&w, "alice")).remove(0);
    let id = w.contacts.alice_own.clone();
    let c = w.store.records().get::<ContactFields>(&id).await.unwrap();
    let mut fields = c.fields.clone();
    fields.job_title = Some("Chief CRM Officer".into());
    w.store.records().update(c.id(), c.version(), fields).await.unwrap();
    let text = std::fs::read_to_string(&card).unwrap();
    let text: Vec<&str> = text
        .split("\r\n")
        .filter(|l| !l.starts_with("TITLE") && *l != "END:VCARD" && !l.is_empty())
        .collect();
    std::fs::write(
        &card,
        format!("{}\r\nTITLE:Phone Title\r\nEND:VCARD\r\n", text.join("\r\n")),
    )
    .unwrap();
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);

    let path = format!("/api/v1/sync/profiles/alice/explain/{id}");
    let r = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let lost: Vec<&Value> = r.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["values"].as_array().into_iter().flatten())
        .filter(|v| v["field"] == "job_title")
        .collect();
    assert_eq!(lost.len(), 1, "{:?}", r.json);
    assert_eq!(lost[0]["kept"], "Chief CRM Officer");
    assert_eq!(lost[0]["kept_from"], "crm");
    assert_eq!(lost[0]["lost"], "Phone Title");
    assert_eq!(lost[0]["lost_from"], "groupware");
    assert_eq!(lost[0]["rule"], "R-EDIT-3");

    std::fs::remove_file(&card).unwrap();
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let s = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    let removed = &s.json[0]["removed_by_user"];
    assert_eq!(removed[0]["record_id"], id.as_str(), "{:?}", s.json);
    assert_eq!(removed[0]["collection"], "contacts");
    assert_eq!(
        removed[0]["restore"],
        format!("crmsync reset --profile alice --record {id}").as_str()
    );
    let r = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/alice/reset",
            Some(&w.alice.token),
            Some(json!({"record_id": id})),
        )
        .await;
    assert_eq!(r.json["forgotten"], 1, "{:?}", r.json);
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    assert_eq!(vcf_count(&contacts_dir(&w, "alice")), 1, "the card is back");
    let s = w
        .call(Method::GET, "/api/v1/sync/status", Some(&w.alice.token), None)
        .await;
    assert_eq!(s.json[0]["removed_by_user"], json!([]));
}

// R-DEL-2, R-DEL-2-HISTORY: restoring a removed record (the dashboard's
// Restore, `ops::restore`) forgets its pair and the cursor of its own
// collection only: the other collections keep theirs, so the next run does
// not list them in full. The restore is in the record's history.
#[tokio::test]
async fn r_del_2_restore_forgets_only_the_cursor_of_the_records_collection() {
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let id = w.contacts.alice_own.clone();
    let state = w.store.sync_state();
    let card = vcf_files(&contacts_dir(&w, "alice"))
        .into_iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains(&id))
        .unwrap();
    std::fs::remove_file(&card).unwrap();
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    assert!(state.cursor("alice", "contacts").await.unwrap().is_some());
    assert!(
        state.cursor("alice", "calendar").await.unwrap().is_some(),
        "the profile has a second collection with a cursor"
    );

    let report = crmsync_server::sync::restore(&state, "alice", &id).await.unwrap();
    assert_eq!(report.forgotten, 1);
    assert!(state.cursor("alice", "contacts").await.unwrap().is_none());
    assert!(
        state.cursor("alice", "calendar").await.unwrap().is_some(),
        "the calendar's cursor is kept"
    );
    let history = state.history("alice", Some(&id), None).await.unwrap();
    assert_eq!(
        history
            .iter()
            .filter(|h| h.action == "status restore" && h.rule == "R-DEL-2")
            .count(),
        1,
        "{history:?}"
    );
}

// R-DEL-13 over the API: untracking needs the explicit choice, deleting in
// the CRM only by the record's owner; an untracked record stays unlinked on
// the next run (the item stays, nothing is re-created in the CRM).
#[tokio::test]
async fn r_del_13_untrack_route_keeps_or_deletes_and_only_the_owner_deletes() {
    use crmsync_model::ContactFields;
    let w = world_with_profiles().await;
    let shared = w.contacts.bob_readable.clone();
    let flag = w
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{shared}/synchronize"),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert!(flag.status.is_success(), "{:?}", flag.json);
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    assert_eq!(vcf_count(&contacts_dir(&w, "alice")), 2, "her own and the flagged one");
    let untrack = "/api/v1/sync/profiles/alice/untrack";

    let r = w
        .call(
            Method::POST,
            untrack,
            Some(&w.alice.token),
            Some(json!({"record_id": shared})),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "the choice is required: {:?}",
        r.json
    );
    let r = w
        .call(
            Method::POST,
            untrack,
            Some(&w.alice.token),
            Some(json!({"record_id": shared, "delete_in_crm": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    assert!(r.json["error"]["message"].as_str().unwrap().contains("only the owner"));
    assert!(
        w.store.records().get::<ContactFields>(&shared).await.is_ok(),
        "bob's contact stays"
    );
    let r = w
        .call(
            Method::POST,
            untrack,
            Some(&w.alice.token),
            Some(json!({"record_id": "no-such-id", "delete_in_crm": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/alice/untrack",
            Some(&w.bob.token),
            Some(json!({"record_id": shared, "delete_in_crm": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "bob cannot operate alice's profile");

    let own = w.contacts.alice_own.clone();
    let r = w
        .call(
            Method::POST,
            untrack,
            Some(&w.alice.token),
            Some(json!({"record_id": own, "delete_in_crm": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["deleted_in_crm"], true);
    assert!(
        w.store.records().get::<ContactFields>(&own).await.is_err(),
        "deleted in the CRM"
    );
    let r = w
        .call(
            Method::POST,
            untrack,
            Some(&w.alice.token),
            Some(json!({"record_id": shared, "delete_in_crm": false})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["deleted_in_crm"], false);

    let before = w.store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert!(
        before.iter().all(|p| p.state == crmsync_engine::PairState::Unlinked),
        "{before:?}"
    );
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    assert_eq!(vcf_count(&contacts_dir(&w, "alice")), 2, "both items stay");
    assert_eq!(
        w.store.sync_state().pairs("alice", "contacts").await.unwrap(),
        before,
        "still unlinked"
    );
    assert!(
        w.store.records().get::<ContactFields>(&own).await.is_err(),
        "not re-created from the item"
    );
    let history = w
        .store
        .sync_state()
        .history("alice", Some(&shared), None)
        .await
        .unwrap();
    assert!(history.iter().any(|h| h.rule == "R-DEL-13"), "{history:?}");
}

// R-PAIR-2, R-OPS-16 over the API: a reported group is linked or kept apart
// by choice; members outside the report, other users and unknown
// collections are refused.
#[tokio::test]
async fn r_pair_2_duplicates_link_and_keep_apart_routes() {
    let w = world_with_profiles().await;
    let own = w.contacts.alice_own.clone();
    let groups = json!([
        {"crm_ids": [own, "c2"], "hrefs": ["x.vcf"], "matched_by": "email"},
        {"crm_ids": ["c3"], "hrefs": ["y.vcf", "z.vcf"], "matched_by": "email"}
    ]);
    w.store
        .sync_state()
        .save_duplicates("alice", "contacts", &groups.to_string())
        .await
        .unwrap();
    let link = "/api/v1/sync/profiles/alice/duplicates/link";
    let apart = "/api/v1/sync/profiles/alice/duplicates/keep-apart";
    let body = json!({"collection": "contacts", "record_id": own, "href": "x.vcf"});

    let r = w.call(Method::POST, link, Some(&w.bob.token), Some(body.clone())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "bob cannot resolve alice's duplicates");
    let r = w
        .call(
            Method::POST,
            link,
            Some(&w.alice.token),
            Some(json!({"collection": "contacts", "record_id": own, "href": "y.vcf"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "not one group: {:?}", r.json);
    let r = w
        .call(Method::POST, link, Some(&w.alice.token), Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["resolution"], "linked");
    let pairs = w.store.sync_state().pairs("alice", "contacts").await.unwrap();
    assert!(pairs.iter().any(|p| p.crm_id == own && p.href == "x.vcf"), "{pairs:?}");
    let r = w.call(Method::POST, link, Some(&w.alice.token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "paired already: {:?}", r.json);

    let r = w
        .call(
            Method::POST,
            apart,
            Some(&w.alice.token),
            Some(json!({"collection": "inbox", "member": "c3"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_field(), Some("collection"));
    let r = w
        .call(
            Method::POST,
            apart,
            Some(&w.alice.token),
            Some(json!({"collection": "contacts", "member": "z.vcf"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["crm_ids"], json!(["c3"]));
    let kept = w.store.sync_state().kept_apart("alice", "contacts").await.unwrap();
    assert!(kept.crm_ids.contains("c3") && kept.hrefs.contains("y.vcf") && kept.hrefs.contains("z.vcf"));
    let history = w.store.sync_state().history("alice", Some("c3"), None).await.unwrap();
    assert!(history.iter().any(|h| h.rule == "R-PAIR-2"), "{history:?}");
}

// R-COL-3, R-OPS-2: the collections route lists the vdir folders of the
// caller's own profile with kind and use; another user's profile is 404 like
// a missing one; an admin may list any.
#[tokio::test]
async fn r_col_3_collections_route_lists_folders_and_hides_other_users_profiles() {
    let w = world_with_profiles().await;
    let personal = w._dir.path().join("mailboxes/alice/personal");
    std::fs::create_dir_all(&personal).unwrap();
    std::fs::write(personal.join("displayname"), "Personal").unwrap();
    std::fs::write(
        personal.join("own-1.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:own-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let path = "/api/v1/profiles/alice/collections";
    let r = w.call(Method::GET, path, Some(&w.alice.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["profile"], "alice");
    let listed = r.json["collections"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{:?}", r.json);
    assert_eq!(listed[0]["href"], "personal");
    assert_eq!(listed[0]["display_name"], "Personal");
    assert_eq!(listed[0]["kind"], "address-book");
    let contacts = &r.json["classes"][0];
    assert_eq!(contacts["class"], "contacts");
    assert!(
        contacts["href"].is_null(),
        "crmsync's own is made at the first sync: {contacts}"
    );
    assert!(
        contacts["note"]
            .as_str()
            .unwrap()
            .contains("creates its own `contacts`"),
        "{contacts}"
    );

    let r = w.call(Method::GET, path, Some(&w.bob.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "bob cannot list alice's mailbox");
    let missing = w
        .call(
            Method::GET,
            "/api/v1/profiles/nobody/collections",
            Some(&w.bob.token),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json.clone()),
        (missing.status, missing.json),
        "like a missing profile"
    );
    let r = w.call(Method::GET, path, Some(&w.admin.token), None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = w.call(Method::GET, path, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// R-EDIT-3-THIRD: `merged` with a value that is neither side's writes it into
// the CRM record at once (only for someone who may change the record) and the
// next run carries it to the groupware; a record edited since is 409 and
// nothing changes.
#[tokio::test]
async fn r_edit_3_third_value_over_the_api_lands_on_both_sides() {
    use crmsync_model::ContactFields;
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let record = w.store.records().get::<ContactFields>(&pair.crm_id).await.unwrap();
    let name = record.fields.last_name.clone().unwrap();
    let fields = json!([{"key": "last_name", "base": name, "crm": name, "groupware": "Byron"}]);
    let conflict = ConflictRow {
        fields: fields.to_string(),
        ..conflict_on(&pair)
    };
    w.store.sync_state().add_conflict(&conflict).await.unwrap();
    let resolve = "/api/v1/sync/conflicts/conflict-1/resolve";
    let king = json!({"take": "merged", "values": {"last_name": "King"}});

    // Edited in the CRM since the conflict: refused, nothing written.
    let mut edited = record.fields.clone();
    edited.last_name = Some("Edited".into());
    let edited = w
        .store
        .records()
        .update(&pair.crm_id, record.version(), edited)
        .await
        .unwrap();
    let r = w
        .call(Method::POST, resolve, Some(&w.alice.token), Some(king.clone()))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    let now = w.store.records().get::<ContactFields>(&pair.crm_id).await.unwrap();
    assert_eq!(now.meta.version, edited.meta.version, "nothing written");

    // Put back as the conflict saw it: the value lands in the CRM at once…
    let mut back = now.fields.clone();
    back.last_name = Some(name.clone());
    w.store
        .records()
        .update(&pair.crm_id, now.version(), back)
        .await
        .unwrap();
    let r = w.call(Method::POST, resolve, Some(&w.alice.token), Some(king)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let now = w.store.records().get::<ContactFields>(&pair.crm_id).await.unwrap();
    assert_eq!(now.fields.last_name.as_deref(), Some("King"));
    // …and on the groupware after the next run.
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let card = std::fs::read_dir(contacts_dir(&w, "alice"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "vcf"))
        .unwrap();
    let text = std::fs::read_to_string(card).unwrap();
    assert!(text.contains("King"), "{text}");
}

// R-EDIT-3-MERGED-ALL: `merged` must name every conflicting field and only
// those; a field left out is refused (it would clear the field), a name that
// is not in the conflict is refused (a typo), `null` asks for no value.
#[tokio::test]
async fn r_edit_3_merged_values_name_every_conflicting_field_and_null_means_no_value() {
    let w = world_with_profiles().await;
    assert_eq!(run(&w, &w.alice.token, "alice", json!({})).await.status, StatusCode::OK);
    let pair = w.store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let fields = json!([
        {"key": "last_name", "base": "Old", "crm": "Crm", "groupware": "Byron"},
        {"key": "nickname", "base": "Nick", "crm": "Nick2", "groupware": null},
    ]);
    let conflict = ConflictRow {
        fields: fields.to_string(),
        ..conflict_on(&pair)
    };
    w.store.sync_state().add_conflict(&conflict).await.unwrap();
    let resolve = "/api/v1/sync/conflicts/conflict-1/resolve";
    let still_open = || async {
        w.store
            .sync_state()
            .conflict("conflict-1")
            .await
            .unwrap()
            .unwrap()
            .resolved_at
            .is_none()
    };

    let missing = json!({"take": "merged", "values": {"last_name": "Byron"}});
    let r = w.call(Method::POST, resolve, Some(&w.alice.token), Some(missing)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert_eq!(r.error_field(), Some("values"));
    assert!(r.json.to_string().contains("missing: nickname"), "{:?}", r.json);
    assert!(still_open().await, "nothing resolved");

    let typo = json!({"take": "merged", "values": {"last_name": "Byron", "nickname": null, "nick_name": null}});
    let r = w.call(Method::POST, resolve, Some(&w.alice.token), Some(typo)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    assert!(r.json.to_string().contains("nick_name"), "{:?}", r.json);
    assert!(still_open().await, "nothing resolved");

    // The groupware's values, one of them "no value", given explicitly.
    let both = json!({"take": "merged", "values": {"last_name": "Byron", "nickname": null}});
    let r = w.call(Method::POST, resolve, Some(&w.alice.token), Some(both)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let row = w.store.sync_state().conflict("conflict-1").await.unwrap().unwrap();
    assert_eq!(row.resolution, Some(crmsync_store::status::ConflictResolution::Merged));
    let pairs = w.store.sync_state().pairs("alice", "contacts").await.unwrap();
    let pair = pairs.into_iter().find(|p| p.id == conflict.pair_id).unwrap();
    // Both fields keep the groupware's value, so the base took the CRM's.
    assert_eq!(pair.base.get("last_name"), Some("Crm"));
    assert_eq!(pair.base.get("nickname"), Some("Nick2"));
}
