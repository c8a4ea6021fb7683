//! What the routes do when they succeed, and the permission rules that are
//! not a single status code: lists, paging, users, journals, sync flags,
//! participants and the change log.

use crate::common;
use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use common::{World, participant};
use crmsync_model::{ParticipantRole, PartyKind};
use serde_json::{Value, json};

fn ids(items: &Value) -> BTreeSet<String> {
    items
        .as_array()
        .expect("array")
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

// R-PERM-2: a user never sees another user's private records in lists.
#[tokio::test]
async fn lists_show_own_and_shared_records_but_never_others_private_ones() {
    let w = World::new().await;
    for (collection, f) in [
        ("accounts", &w.accounts),
        ("contacts", &w.contacts),
        ("leads", &w.leads),
        ("activities", &w.activities),
    ] {
        let path = format!("/api/v1/{collection}");
        let alice = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
        assert_eq!(alice.status, StatusCode::OK);
        let seen = ids(&alice.json["items"]);
        assert!(seen.contains(&f.alice_own), "{collection}: own record missing");
        assert!(
            seen.contains(&f.bob_readable),
            "{collection}: shared/participating record missing"
        );
        assert!(
            !seen.contains(&f.bob_private),
            "{collection}: bob's private record leaked"
        );

        let admin = w.call(Method::GET, &path, Some(&w.admin.token), None).await;
        assert!(
            ids(&admin.json["items"]).contains(&f.bob_private),
            "{collection}: admins see everything"
        );
    }
}

// R-API-6: pages follow the cursor and together hold each visible record once.
#[tokio::test]
async fn paging_with_limit_and_cursor_visits_every_visible_record_once() {
    let w = World::new().await;
    for n in 0..4 {
        let r = w
            .call(
                Method::POST,
                "/api/v1/contacts",
                Some(&w.alice.token),
                Some(json!({"last_name": format!("P{n}")})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let all = ids(&w
        .call(Method::GET, "/api/v1/contacts?limit=500", Some(&w.alice.token), None)
        .await
        .json["items"]);
    assert_eq!(all.len(), 6, "4 new + own + bob's shared");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/contacts?limit=2&cursor={c}"),
            None => "/api/v1/contacts?limit=2".to_owned(),
        };
        let page = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.json);
        assert!(page.json["items"].as_array().unwrap().len() <= 2);
        seen.extend(ids(&page.json["items"]));
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), all.len(), "no record twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);

    let bad = w
        .call(Method::GET, "/api/v1/contacts?limit=0", Some(&w.alice.token), None)
        .await;
    assert_eq!(
        (bad.status, bad.error_field()),
        (StatusCode::BAD_REQUEST, Some("limit"))
    );
}

#[tokio::test]
async fn modified_since_filters_and_must_be_rfc3339() {
    let w = World::new().await;
    let future = w
        .call(
            Method::GET,
            "/api/v1/leads?modified_since=2999-01-01T00:00:00Z",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(future.status, StatusCode::OK);
    assert!(future.json["items"].as_array().unwrap().is_empty());
    let past = w
        .call(
            Method::GET,
            "/api/v1/leads?modified_since=2000-01-01T00:00:00%2B02:00",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(ids(&past.json["items"]).len(), 2);
    let bad = w
        .call(
            Method::GET,
            "/api/v1/leads?modified_since=yesterday",
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.error_field()),
        (StatusCode::BAD_REQUEST, Some("modified_since"))
    );
}

#[tokio::test]
async fn create_then_get_returns_the_record_with_its_version_as_etag() {
    let w = World::new().await;
    let created = w
        .call(
            Method::POST,
            "/api/v1/contacts",
            Some(&w.alice.token),
            Some(json!({"first_name": "Ada", "email1": "ada@example.org"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.json["owner_id"], w.alice.id.as_str());
    assert_eq!(created.json["version"], 1);
    let id = created.json["id"].as_str().unwrap();
    let read = w
        .call(
            Method::GET,
            &format!("/api/v1/contacts/{id}"),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(read.etag(), Some("\"1\""));
    assert_eq!(read.json["first_name"], "Ada");

    // A client may send back what it read, edited, with the version in the body.
    let mut edited = read.json.clone();
    edited["job_title"] = json!("Engineer");
    let put = w
        .call(
            Method::PUT,
            &format!("/api/v1/contacts/{id}"),
            Some(&w.alice.token),
            Some(edited),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.json);
    assert_eq!(
        (put.json["job_title"].as_str(), put.etag()),
        (Some("Engineer"), Some("\"2\""))
    );
}

// R-API-5: only admins create records for someone else; updates never move ownership.
#[tokio::test]
async fn only_admins_choose_another_owner_and_updates_keep_the_owner() {
    let w = World::new().await;
    let body = json!({"name": "Gift Ltd", "owner_id": w.bob.id});
    let r = w
        .call(
            Method::POST,
            "/api/v1/accounts",
            Some(&w.alice.token),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .call(Method::POST, "/api/v1/accounts", Some(&w.admin.token), Some(body))
        .await;
    assert_eq!(
        (r.status, r.json["owner_id"].as_str()),
        (StatusCode::CREATED, Some(w.bob.id.as_str()))
    );

    let path = format!("/api/v1/accounts/{}", w.accounts.alice_own);
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"name": "X", "owner_id": w.bob.id})),
            Some(1),
        )
        .await;
    assert_eq!(
        (r.status, r.error_field()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("owner_id"))
    );
}

#[tokio::test]
async fn semantically_invalid_values_are_422_naming_the_field() {
    let w = World::new().await;
    let cases = [
        (
            "/api/v1/contacts",
            json!({"last_name": "X", "email1": "not-an-address"}),
            "email1",
        ),
        ("/api/v1/contacts", json!({"job_title": "nameless"}), "last_name"),
        ("/api/v1/accounts", json!({"name": "  "}), "name"),
        ("/api/v1/leads", json!({"last_name": "L", "email": "nope"}), "email"),
        (
            "/api/v1/activities",
            json!({"kind": "task", "subject": "S", "priority": 12}),
            "priority",
        ),
        (
            "/api/v1/activities",
            json!({"kind": "appointment", "subject": "Meet"}),
            "start",
        ),
        ("/api/v1/users", json!({"name": "Eve", "email": "eve"}), "email"),
    ];
    for (path, body, field) in cases {
        let r = w
            .call(Method::POST, path, Some(&w.admin.token), Some(body.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}");
        assert_eq!(r.error_field(), Some(field), "{path} {body}");
    }
    let before = w
        .call(Method::GET, "/api/v1/contacts?limit=500", Some(&w.admin.token), None)
        .await;
    assert_eq!(
        before.json["items"].as_array().unwrap().len(),
        3,
        "nothing invalid was stored"
    );
}

// R-PERM-2: admins manage users; the token is shown once, at creation.
#[tokio::test]
async fn only_admins_create_and_delete_users_and_the_new_token_works() {
    let w = World::new().await;
    let body = json!({"name": "Carol", "email": "carol@example.org"});
    let r = w
        .call(Method::POST, "/api/v1/users", Some(&w.alice.token), Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let r = w
        .call(Method::POST, "/api/v1/users", Some(&w.admin.token), Some(body))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let token = r.json["token"].as_str().expect("token shown once").to_owned();
    let carol = r.json["user"]["id"].as_str().unwrap().to_owned();
    let me = w.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.json["id"], carol.as_str());
    assert!(me.json.get("token").is_none());

    let path = format!("/api/v1/users/{carol}");
    let r = w
        .call_with(Method::DELETE, &path, Some(&w.alice.token), None, Some(1))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .call_with(Method::DELETE, &path, Some(&w.admin.token), None, Some(1))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = w.call(Method::GET, "/api/v1/me", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a deleted user's token is dead");
}

// R-API-7: a user edits their own name but not their role.
#[tokio::test]
async fn users_edit_themselves_but_cannot_promote_themselves() {
    let w = World::new().await;
    let path = format!("/api/v1/users/{}", w.alice.id);
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"name": "Alice A.", "role": "admin"})),
            Some(1),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"name": "Alice A.", "role": "user"})),
            Some(1),
        )
        .await;
    assert_eq!((r.status, r.json["name"].as_str()), (StatusCode::OK, Some("Alice A.")));
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.admin.token),
            Some(json!({"name": "Alice A.", "role": "admin"})),
            Some(2),
        )
        .await;
    assert_eq!((r.status, r.json["role"].as_str()), (StatusCode::OK, Some("admin")));
}

// R-API-3: deactivating a user shuts their token out.
#[tokio::test]
async fn rotated_or_deactivated_tokens_stop_working() {
    let w = World::new().await;
    let r = w
        .call(
            Method::POST,
            &format!("/api/v1/users/{}/token", w.alice.id),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let fresh = r.json["token"].as_str().unwrap().to_owned();
    assert_eq!(
        w.call(Method::GET, "/api/v1/me", Some(&w.alice.token), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        w.call(Method::GET, "/api/v1/me", Some(&fresh), None).await.status,
        StatusCode::OK
    );

    let path = format!("/api/v1/users/{}", w.alice.id);
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.admin.token),
            Some(json!({"name": "Alice", "active": false})),
            Some(1),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        w.call(Method::GET, "/api/v1/me", Some(&fresh), None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

// R-FIELD-5: journals are read by readers, written by writers; system entries by admins only.
#[tokio::test]
async fn journal_entries_are_added_and_listed() {
    let w = World::new().await;
    let path = format!("/api/v1/contacts/{}/journal", w.contacts.alice_own);
    let r = w
        .call(
            Method::POST,
            &path,
            Some(&w.alice.token),
            Some(json!({"text": "First call"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(
        (r.json["author_id"].as_str(), r.json["system"].as_bool()),
        (Some(w.alice.id.as_str()), Some(false))
    );
    let r = w
        .call(
            Method::POST,
            &path,
            Some(&w.alice.token),
            Some(json!({"text": "forged", "system": true})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .call(Method::POST, &path, Some(&w.alice.token), Some(json!({"text": " "})))
        .await;
    assert_eq!(
        (r.status, r.error_field()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text"))
    );
    let list = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    let texts: Vec<_> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["First call"]);

    // A participant reads the activity's journal.
    let path = format!("/api/v1/activities/{}/journal", w.activities.bob_readable);
    let r = w
        .call(
            Method::POST,
            &path,
            Some(&w.bob.token),
            Some(json!({"text": "Agenda sent"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let list = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    assert_eq!(list.json[0]["text"], "Agenda sent");
}

// R-FILTER-1: the synchronize flag is per user, on contacts the user may read.
#[tokio::test]
async fn synchronize_flag_is_the_callers_own() {
    let w = World::new().await;
    let path = format!("/api/v1/contacts/{}/synchronize", w.contacts.bob_readable);
    assert_eq!(
        w.call(Method::PUT, &path, Some(&w.alice.token), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(
        w.store
            .records()
            .sync_flags(&w.alice.id)
            .await
            .unwrap()
            .contains(&w.contacts.bob_readable)
    );
    assert!(
        w.store.records().sync_flags(&w.bob.id).await.unwrap().is_empty(),
        "bob's flags untouched"
    );
    assert_eq!(
        w.call(Method::DELETE, &path, Some(&w.alice.token), None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(w.store.records().sync_flags(&w.alice.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn participants_are_read_and_replaced_with_the_activitys_version() {
    let w = World::new().await;
    let path = format!("/api/v1/activities/{}/participants", w.activities.alice_own);
    let r = w.call(Method::GET, &path, Some(&w.alice.token), None).await;
    assert_eq!((r.json["version"].as_i64(), r.etag()), (Some(1), Some("\"1\"")));
    assert!(r.json["participants"].as_array().unwrap().is_empty());

    let list = vec![
        participant(PartyKind::User, &w.alice.id, ParticipantRole::Organizer),
        participant(PartyKind::Contact, &w.contacts.alice_own, ParticipantRole::Required),
    ];
    let r = w
        .call(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"participants": list, "version": 1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        (
            r.json["version"].as_i64(),
            r.json["participants"].as_array().unwrap().len()
        ),
        (Some(2), 2)
    );

    // Two organizers break the model's rule: 422 naming the list.
    let twice = vec![list[0].clone(), list[0].clone()];
    let r = w
        .call_with(
            Method::PUT,
            &path,
            Some(&w.alice.token),
            Some(json!({"participants": twice})),
            Some(2),
        )
        .await;
    assert_eq!(
        (r.status, r.error_field()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("participants"))
    );

    // Bob is no participant of alice's activity: it does not exist for him.
    let r = w.call(Method::GET, &path, Some(&w.bob.token), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// R-PERM-2: the change log shows only changes of records the caller may read.
#[tokio::test]
async fn changes_are_filtered_to_what_the_caller_may_read() {
    let w = World::new().await;
    let all = w
        .call(Method::GET, "/api/v1/changes?limit=500", Some(&w.admin.token), None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    let admin_ids: BTreeSet<String> = all.json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record_id"].as_str().unwrap().to_owned())
        .collect();
    for f in [&w.accounts, &w.contacts, &w.leads, &w.activities] {
        assert!(admin_ids.contains(&f.bob_private));
    }

    let mine = w
        .call(Method::GET, "/api/v1/changes?limit=500", Some(&w.alice.token), None)
        .await;
    let alice_ids: BTreeSet<String> = mine.json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["record_id"].as_str().unwrap().to_owned())
        .collect();
    for f in [&w.accounts, &w.contacts, &w.leads, &w.activities] {
        assert!(alice_ids.contains(&f.alice_own));
        assert!(alice_ids.contains(&f.bob_readable));
        assert!(!alice_ids.contains(&f.bob_private), "a private record's change leaked");
    }
    // next_since moves past hidden entries too, so polling terminates.
    assert_eq!(mine.json["next_since"], all.json["next_since"]);
    let next = mine.json["next_since"].as_i64().unwrap();
    let rest = w
        .call(
            Method::GET,
            &format!("/api/v1/changes?since={next}"),
            Some(&w.alice.token),
            None,
        )
        .await;
    assert!(rest.json["changes"].as_array().unwrap().is_empty());
    let bad = w
        .call(Method::GET, "/api/v1/changes?since=-1", Some(&w.alice.token), None)
        .await;
    assert_eq!(
        (bad.status, bad.error_field()),
        (StatusCode::BAD_REQUEST, Some("since"))
    );
}

#[tokio::test]
async fn healthz_needs_no_token() {
    let w = World::new().await;
    let r = w.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}
