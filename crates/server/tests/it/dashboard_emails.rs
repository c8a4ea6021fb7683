//! R-WEB-16..19: the tracked e-mails page and its Set regarding, Convert and
//! Untrack. The e-mails are put in the store as the mail runner writes
//! them (a CRM e-mail activity and its `mail_tracked` row per profile); the
//! runner's side of an untrack is proved against Dovecot in crates/sync.

use axum::http::StatusCode;
use crmsync_model::{ActivityFields, ActivityKind, EmailDetails, EntityKind, RecordRef};
use crmsync_store::status::TrackedMailRow;
use serde_json::json;

use crate::common;
use crate::dashboard::{Session, dashboard, get, post, sign_in};

/// A tracked e-mail of `user` in `profile`: its CRM e-mail's id.
async fn tracked(w: &common::World, profile: &str, user: &str, key: &str, subject: &str) -> String {
    let mut fields = ActivityFields::new(ActivityKind::Email, subject);
    let details: EmailDetails = serde_json::from_value(json!({
        "direction": "incoming",
        "from": {"kind": "email", "email": "carla@customer.example", "name": "Carla Kunde"},
        "to": [{"kind": "user", "id": user, "email": format!("{profile}@crm.example")}],
        "sent_at": "2026-12-01T09:30:00Z",
        "received_at": "2026-12-01T09:31:00Z",
    }))
    .unwrap();
    fields.email = Some(details);
    fields.message_id = Some(key.to_string());
    let id = w.store.records().create(user, fields).await.unwrap().meta.id;
    let row = TrackedMailRow {
        message_key: key.to_string(),
        activity_id: id.clone(),
        folder: "CRM".into(),
        uid_validity: 7,
        uid: 1,
        trigger: "folder".into(),
        tracked: true,
        marked: true,
    };
    w.store.sync_state().save_tracked_mail(profile, &row).await.unwrap();
    id
}

async fn email(w: &common::World, id: &str) -> crmsync_model::Activity {
    w.store.records().get::<ActivityFields>(id).await.unwrap()
}

async fn history_rules(w: &common::World, profile: &str, id: &str) -> Vec<(String, String)> {
    w.store
        .sync_state()
        .history(profile, Some(id), None)
        .await
        .unwrap()
        .into_iter()
        .map(|h| (h.action, h.rule))
        .collect()
}

async fn act(
    w: &common::World,
    s: &Session,
    what: &str,
    profile: &str,
    fields: &[(&str, &str)],
) -> crate::dashboard::Page {
    let mut all = vec![("csrf", s.csrf.as_str())];
    all.extend_from_slice(fields);
    post(w, s, &format!("/profiles/{profile}/emails/{what}"), &all).await
}

// R-WEB-16, R-WEB-6: the list shows the user's profiles' e-mails only
// (newest first), with sender, parties, times, folder and state.
on_both!(r_web_16_tracked_emails_lists_the_users_mail_only, |w| {
    let (w, _clock) = dashboard(w, false);
    let first = tracked(&w, "alice", &w.alice.id, "m1@example", "Alice first offer").await;
    // Its key sorts first: two e-mails created in the same millisecond are
    // ordered by key, so "newest first" holds whatever the clock says.
    let second = tracked(&w, "alice", &w.alice.id, "a2@example", "Alice second offer").await;
    tracked(&w, "bob", &w.bob.id, "b1@example", "Bob secret deal").await;
    let alice = sign_in(&w, &w.alice.token).await;
    let page = get(&w, &alice, "/emails").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(page.html.contains("href=\"/emails\""), "linked from the navigation");
    assert!(page.html.contains("2 tracked e-mails"), "{}", page.html);
    assert!(
        !page.html.contains("Bob secret deal"),
        "bob's e-mail is not alice's to see"
    );
    let (a, b) = (page.html.find(&second).unwrap(), page.html.find(&first).unwrap());
    assert!(a < b, "newest first");
    for shown in [
        "Carla Kunde &lt;carla@customer.example&gt;",
        "incoming",
        "sent 2026-12-01 09:30 UTC",
        "CRM (folder)",
        "tracked",
    ] {
        assert!(page.html.contains(shown), "{shown}: {}", page.html);
    }
    let bob = sign_in(&w, &w.bob.token).await;
    let page = get(&w, &bob, "/emails").await;
    assert!(page.html.contains("Bob secret deal") && !page.html.contains("Alice first offer"));
    let admin = sign_in(&w, &w.admin.token).await;
    assert!(get(&w, &admin, "/emails").await.html.contains("3 tracked e-mails"));
    assert_eq!(get(&w, &alice, "/emails?page=2").await.status, StatusCode::BAD_REQUEST);
});

// R-WEB-17, R-WEB-6, R-WEB-2: Set and Clear regarding, as the API's
// activity update: bob gets 404, no token 403, a stale version 409, a
// repeat changes nothing; each change is in the e-mail's history.
on_both!(r_web_17_set_and_clear_the_regarding_of_a_tracked_email, |w| {
    let (w, _clock) = dashboard(w, false);
    let id = tracked(&w, "alice", &w.alice.id, "m1@example", "Alice offer").await;
    let alice = sign_in(&w, &w.alice.token).await;
    let bob = sign_in(&w, &w.bob.token).await;
    let v = email(&w, &id).await.meta.version.to_string();
    let account = w.accounts.alice_own.clone();
    let set = [
        ("key", "m1@example"),
        ("version", v.as_str()),
        ("kind", "account"),
        ("id", account.as_str()),
    ];

    assert_eq!(
        act(&w, &bob, "regarding", "alice", &set).await.status,
        StatusCode::NOT_FOUND
    );
    let forged = post(&w, &alice, "/profiles/alice/emails/regarding", &set).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let bobs = w.accounts.bob_private.clone();
    let other = [
        ("key", "m1@example"),
        ("version", v.as_str()),
        ("kind", "account"),
        ("id", bobs.as_str()),
    ];
    assert_eq!(
        act(&w, &alice, "regarding", "alice", &other).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(email(&w, &id).await.fields.regarding, None, "nothing was done");
    assert!(history_rules(&w, "alice", &id).await.is_empty());

    let done = act(&w, &alice, "regarding", "alice", &set).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("now regards"), "{}", done.html);
    let expected = Some(RecordRef {
        entity: EntityKind::Account,
        id: account.clone(),
    });
    assert_eq!(email(&w, &id).await.fields.regarding, expected);
    assert_eq!(
        history_rules(&w, "alice", &id).await,
        [("crm regarding".to_string(), "R-TRACK-7".to_string())]
    );
    let page = get(&w, &alice, "/emails").await;
    assert!(
        page.html.contains(&format!("id={account}")),
        "the regarding is linked to the record page"
    );

    // The same again: nothing changes, whatever version the form had.
    let again = act(&w, &alice, "regarding", "alice", &set).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert!(again.html.contains("nothing changed"));
    assert_eq!(history_rules(&w, "alice", &id).await.len(), 1);

    // Clearing with the old version is stale: 409, nothing done.
    let stale = act(
        &w,
        &alice,
        "regarding",
        "alice",
        &[("key", "m1@example"), ("version", v.as_str()), ("clear", "true")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "{}", stale.html);
    assert!(email(&w, &id).await.fields.regarding.is_some());
    let v2 = email(&w, &id).await.meta.version.to_string();
    let cleared = act(
        &w,
        &alice,
        "regarding",
        "alice",
        &[("key", "m1@example"), ("version", v2.as_str()), ("clear", "true")],
    )
    .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.html);
    assert_eq!(email(&w, &id).await.fields.regarding, None);
    assert_eq!(history_rules(&w, "alice", &id).await.len(), 2);
});

// R-WEB-18: Convert makes an opportunity the e-mail regards, recorded in
// history; a repeat answers the same record; another regarding is a 409
// page that offers the replace.
on_both!(r_web_18_convert_a_tracked_email, |w| {
    let (w, _clock) = dashboard(w, false);
    let id = tracked(&w, "alice", &w.alice.id, "m1@example", "Alice big deal").await;
    let alice = sign_in(&w, &w.alice.token).await;
    let bob = sign_in(&w, &w.bob.token).await;
    let v = email(&w, &id).await.meta.version.to_string();
    let form = [("key", "m1@example"), ("version", v.as_str()), ("to", "opportunity")];
    assert_eq!(
        act(&w, &bob, "convert", "alice", &form).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&w, &alice, "/profiles/alice/emails/convert", &form).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(email(&w, &id).await.fields.regarding, None);

    let done = act(&w, &alice, "convert", "alice", &form).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    let regarding = email(&w, &id).await.fields.regarding.unwrap();
    assert_eq!(regarding.entity, EntityKind::Opportunity);
    assert!(done.html.contains(&regarding.id));
    assert_eq!(
        history_rules(&w, "alice", &id).await,
        [("crm convert".to_string(), "R-TRACK-3".to_string())]
    );
    let again = act(&w, &alice, "convert", "alice", &form).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    assert_eq!(
        email(&w, &id).await.fields.regarding.unwrap(),
        regarding,
        "the same record"
    );
    assert_eq!(history_rules(&w, "alice", &id).await.len(), 1);

    let v = email(&w, &id).await.meta.version.to_string();
    let to_case = [("key", "m1@example"), ("version", v.as_str()), ("to", "case")];
    let refused = act(&w, &alice, "convert", "alice", &to_case).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    assert!(refused.html.contains("name=\"replace\""), "{}", refused.html);
    let replaced = act(
        &w,
        &alice,
        "convert",
        "alice",
        &[
            ("key", "m1@example"),
            ("version", v.as_str()),
            ("to", "case"),
            ("replace", "true"),
        ],
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.html);
    assert_eq!(email(&w, &id).await.fields.regarding.unwrap().entity, EntityKind::Case);
    assert_eq!(history_rules(&w, "alice", &id).await.len(), 2);
});

// R-WEB-19: Untrack keeps or deletes the CRM e-mail; the row is released
// (the runner leaves it be); a repeat changes nothing; bob gets 404 and a
// form without the token 403.
on_both!(r_web_19_untrack_a_tracked_email, |w| {
    let (w, _clock) = dashboard(w, false);
    let kept = tracked(&w, "alice", &w.alice.id, "m1@example", "Alice kept").await;
    let gone = tracked(&w, "alice", &w.alice.id, "m2@example", "Alice gone").await;
    let alice = sign_in(&w, &w.alice.token).await;
    let bob = sign_in(&w, &w.bob.token).await;
    let keep = [("key", "m1@example"), ("crm", "keep")];
    assert_eq!(
        act(&w, &bob, "untrack", "alice", &keep).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        act(&w, &bob, "untrack", "bob", &keep).await.status,
        StatusCode::NOT_FOUND,
        "not bob's message"
    );
    assert_eq!(
        post(&w, &alice, "/profiles/alice/emails/untrack", &keep).await.status,
        StatusCode::FORBIDDEN
    );
    let state = w.store.sync_state();
    assert!(
        state.released_mail_keys("alice").await.unwrap().is_empty(),
        "nothing was done"
    );

    let done = act(&w, &alice, "untrack", "alice", &keep).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("The CRM e-mail is kept"), "{}", done.html);
    assert!(state.released_mail_keys("alice").await.unwrap().contains("m1@example"));
    assert_eq!(email(&w, &kept).await.fields.subject, "Alice kept");
    assert_eq!(
        history_rules(&w, "alice", &kept).await,
        [("crm untrack".to_string(), "R-DEL-13".to_string())]
    );
    let again = act(&w, &alice, "untrack", "alice", &keep).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.html.contains("nothing changed"), "{}", again.html);
    assert_eq!(history_rules(&w, "alice", &kept).await.len(), 1);
    assert!(get(&w, &alice, "/emails").await.html.contains("untracked by a user"));

    let deleted = act(
        &w,
        &alice,
        "untrack",
        "alice",
        &[("key", "m2@example"), ("crm", "delete")],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.html);
    assert!(deleted.html.contains("The CRM e-mail is deleted"), "{}", deleted.html);
    assert!(w.store.records().get::<ActivityFields>(&gone).await.is_err());
    let rules: Vec<String> = history_rules(&w, "alice", &gone)
        .await
        .into_iter()
        .map(|h| h.0)
        .collect();
    assert_eq!(rules, ["crm untrack", "crm delete"]);
});
