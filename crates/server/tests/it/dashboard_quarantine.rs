//! R-WEB-14: Retry and Retry all on the quarantine page, and the API's
//! `POST /api/v1/sync/profiles/{name}/quarantine/retry`. The real case: two
//! cards with one UID in alice's vdir (R-SYNC-UID-2), the copy quarantined;
//! the first card then takes another UID, so the copy's verdict ("another
//! item has the same UID") is stale, but runs keep it until a retry reads
//! the copy again and judges it afresh.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common;
use crate::dashboard::{dashboard, get, post, sign_in};

fn card(uid: &str, last: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Twin {last}\r\nN:{last};Twin;;;\r\nEND:VCARD\r\n")
}

async fn run_alice(w: &common::World) {
    let r = w
        .call(
            Method::POST,
            "/api/v1/sync/profiles/alice/run",
            Some(&w.alice.token),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}

/// Alice's vdir with a quarantined copy whose cause is gone: returns the
/// copy's href.
async fn copy_quarantined_for_nothing(w: &common::World) -> String {
    run_alice(w).await; // creates the collections
    let contacts = w._dir.path().join("mailboxes").join("alice").join("contacts");
    std::fs::write(contacts.join("dup-a.vcf"), card("dup-1", "First")).unwrap();
    std::fs::write(contacts.join("dup-b.vcf"), card("dup-1", "Second")).unwrap();
    run_alice(w).await;
    std::fs::write(contacts.join("dup-a.vcf"), card("dup-9", "First")).unwrap();
    run_alice(w).await;
    let rows = w.store.sync_state().quarantined("alice").await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].error.contains("same UID"), "the old verdict stays: {rows:?}");
    rows[0].href.clone()
}

// R-WEB-14, R-WEB-2, R-WEB-6: Retry reads the copy again and runs the
// profile; bob gets 404, a form without the token 403, and nothing is done.
on_both!(r_web_14_retry_a_quarantined_item_from_the_dashboard, |w| {
    let (w, _clock) = dashboard(w, false);
    let href = copy_quarantined_for_nothing(&w).await;
    let alice = sign_in(&w, &w.alice.token).await;
    let bob = sign_in(&w, &w.bob.token).await;

    let page = get(&w, &alice, "/quarantine").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.html.contains("/profiles/alice/quarantine/retry\""),
        "{}",
        page.html
    );
    assert!(page.html.contains("Retry all"), "{}", page.html);
    assert!(
        !get(&w, &bob, "/quarantine").await.html.contains(&href),
        "bob sees none of alice's"
    );

    let retry = "/profiles/alice/quarantine/retry";
    let denied = post(
        &w,
        &bob,
        retry,
        &[("csrf", &bob.csrf), ("collection", "contacts"), ("href", &href)],
    )
    .await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.html);
    let denied = post(&w, &bob, "/profiles/alice/quarantine/retry-all", &[("csrf", &bob.csrf)]).await;
    assert_eq!(denied.status, StatusCode::NOT_FOUND, "{}", denied.html);
    let forged = post(
        &w,
        &alice,
        retry,
        &[("csrf", "made-up"), ("collection", "contacts"), ("href", &href)],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.html);
    let unknown = post(
        &w,
        &alice,
        retry,
        &[
            ("csrf", &alice.csrf),
            ("collection", "contacts"),
            ("href", "nothing.vcf"),
        ],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.html);
    let rows = w.store.sync_state().quarantined("alice").await.unwrap();
    assert_ne!(rows[0].etag, crmsync_store::status::RETRY_ETAG, "nothing was marked");
    assert!(
        w.store
            .sync_state()
            .history("alice", None, Some(&href))
            .await
            .unwrap()
            .iter()
            .all(|h| h.action != "status retry"),
        "nothing was noted"
    );

    let done = post(
        &w,
        &alice,
        retry,
        &[("csrf", &alice.csrf), ("collection", "contacts"), ("href", &href)],
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.html);
    assert!(done.html.contains("data-retried=\"1\""), "{}", done.html);
    assert!(done.html.contains("data-still-quarantined=\"1\""), "{}", done.html);
    let rows = w.store.sync_state().quarantined("alice").await.unwrap();
    assert!(rows[0].error.contains("had this UID before"), "judged afresh: {rows:?}");
    let history = w.store.sync_state().history("alice", None, Some(&href)).await.unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.action == "status retry" && h.rule == "R-SAFE-4"),
        "the retry is in the history: {history:?}"
    );
    let page = get(&w, &alice, "/quarantine").await;
    assert!(page.html.contains("had this UID before"), "{}", page.html);
    let all = post(
        &w,
        &alice,
        "/profiles/alice/quarantine/retry-all",
        &[("csrf", &alice.csrf)],
    )
    .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.html);
    assert!(all.html.contains("data-retried=\"1\""), "{}", all.html);
});

// R-WEB-14: the API marks one item or all; bob gets 404; half a scope is 400.
on_both!(r_web_14_retry_quarantined_items_over_the_api, |w| {
    let (w, _clock) = dashboard(w, false);
    let href = copy_quarantined_for_nothing(&w).await;
    let path = "/api/v1/sync/profiles/alice/quarantine/retry";
    let bob = w.call(Method::POST, path, Some(&w.bob.token), Some(json!({}))).await;
    assert_eq!(bob.status, StatusCode::NOT_FOUND, "{:?}", bob.json);
    let half = w
        .call(
            Method::POST,
            path,
            Some(&w.alice.token),
            Some(json!({"collection": "contacts"})),
        )
        .await;
    assert_eq!(half.status, StatusCode::BAD_REQUEST, "{:?}", half.json);
    let unknown = w
        .call(
            Method::POST,
            path,
            Some(&w.alice.token),
            Some(json!({"collection": "contacts", "href": "nothing.vcf"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{:?}", unknown.json);
    assert_ne!(
        w.store.sync_state().quarantined("alice").await.unwrap()[0].etag,
        crmsync_store::status::RETRY_ETAG
    );

    let all = w.call(Method::POST, path, Some(&w.alice.token), Some(json!({}))).await;
    assert_eq!(all.status, StatusCode::OK, "{:?}", all.json);
    assert_eq!(all.json["items"], json!([format!("contacts/{href}")]));
    run_alice(&w).await;
    let rows = w.store.sync_state().quarantined("alice").await.unwrap();
    assert!(rows[0].error.contains("had this UID before"), "judged afresh: {rows:?}");
    let history = w.store.sync_state().history("alice", None, Some(&href)).await.unwrap();
    assert!(history.iter().any(|h| h.action == "status retry"), "{history:?}");
});
