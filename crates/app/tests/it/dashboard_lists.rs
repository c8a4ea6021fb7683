//! Issue #16's lists and reports in a real headless Chromium against the
//! real `crmsync serve` with a real Radicale behind alice's profile: a
//! contact removed in the groupware is restored from the removed-items page
//! and comes back on Radicale at the next run (R-WEB-7, R-DEL-2); a group of
//! possible duplicates is linked from the duplicates page (R-OPS-16); the
//! runs page lists the runs and one run's report names each item, what was
//! done and the rule, filtered by text (R-WEB-8); a conflict over two fields
//! is resolved with a choice per field (R-WEB-4-PER-FIELD); an unreadable
//! card is retried from the quarantine page (R-WEB-14); a tracked e-mail is
//! converted from the e-mails page (R-WEB-16, R-WEB-18). Then bob, another user,
//! gets 404 for every one of alice's pages and forms, and a form without
//! the session's CSRF token is refused (R-WEB-2, R-WEB-6). Every page passes
//! the page accessibility check (R-WEB-9). Screenshots go to
//! `dashboard-screenshots/`.

use std::path::Path;

use crmsync_model::{ActivityFields, ActivityKind, ContactFields, EntityKind};
use crmsync_store::status::{ConflictResolution, ConflictRow, TrackedMailRow};
use crmsync_testkit::Browser;
use fantoccini::Locator;
use serde_json::json;

use crate::support::serve::crmsync;
use crate::support::web::{
    Api, WebSession, WithRadicale, assert_accessible, click, dav, id_of, item_url, press, sign_in, text_of, text_when,
    wait_text,
};

async fn run(api: &Api) {
    let (status, report, _) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/sync/profiles/alice/run",
            Some(json!({})),
            None,
        )
        .await;
    assert_eq!(status, 200, "{report}");
}

// R-WEB-7, R-WEB-8, R-WEB-4-PER-FIELD, R-WEB-9 (and R-WEB-2, R-WEB-6 for the
// new pages and forms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_7_r_web_8_restore_link_duplicates_and_read_a_run_report_in_chromium() {
    // No scheduler: the runs are the ones the test asks for.
    let world = WithRadicale::start().await;
    let (serve, api, http, radicale) = (&world.serve, &world.api, &world.http, &world.radicale);
    let base = serve.base.clone();
    let contact =
        |first: &str, last: &str, email: &str| json!({"first_name": first, "last_name": last, "email1": email});
    let ada = api.synced_contact(contact("Ada", "Lovelace", "ada@example.org")).await;
    api.radicale_profile("alice", radicale, json!({})).await;
    run(api).await;

    // The user deletes Ada's card in the groupware: the next run keeps the
    // CRM record and marks it removed by the user (R-DEL-1).
    let store = world.store().await;
    let pair = store
        .sync_state()
        .pairs_of_record("alice", &ada)
        .await
        .unwrap()
        .remove(0);
    let ada_url = item_url(radicale, &pair.href);
    let (status, body) = dav(http, reqwest::Method::DELETE, &ada_url, None).await;
    assert!(status == 200 || status == 204, "{status}: {body}");

    // Two CRM contacts and one new card with the same e-mail: an ambiguous
    // match, reported and not merged (R-PAIR-2).
    let twin_one = api.synced_contact(contact("Twin", "One", "twin@example.org")).await;
    let twin_two = api.synced_contact(contact("Twin", "Two", "twin@example.org")).await;
    let twin_url = format!("{}/twin.vcf", ada_url.rsplit_once('/').unwrap().0);
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:twin-card\r\nFN:Twin\r\nN:;Twin;;;\r\nEMAIL:twin@example.org\r\nEND:VCARD\r\n";
    let (status, body) = dav(http, reqwest::Method::PUT, &twin_url, Some(card.to_string())).await;
    assert!(status == 201 || status == 204, "{status}: {body}");
    run(api).await;
    let (status, dups, _) = api
        .call(
            reqwest::Method::GET,
            "/api/v1/sync/profiles/alice/duplicates",
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{dups}");
    assert!(
        dups.to_string().contains(&twin_one) && dups.to_string().contains(&twin_two),
        "the twins are reported: {dups}"
    );

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let browser = Browser::start(&shots).await;
    let c = browser.client();
    c.goto(&format!("{base}/sign-in")).await.unwrap();
    wait_text(&browser, "h1", "Sign in").await;
    assert_accessible(&browser, "sign-in").await;
    sign_in(&browser, &base, &serve.token, None).await;
    assert_accessible(&browser, "home").await;

    // Home links the removed item to the removed-items page; restore it.
    click(&browser, "#profile-alice a[href^='/removed']").await;
    wait_text(&browser, "h1", "Removed items").await;
    browser.screenshot("11-removed").await;
    assert_accessible(&browser, "removed").await;
    press(&browser, &format!("removed-alice-{ada}"), "Restore").await;
    wait_text(&browser, "h1", "Restored").await;
    browser.screenshot("12-restored").await;
    assert_accessible(&browser, "restored").await;

    // Link the first twin with the card.
    c.goto(&format!("{base}/duplicates")).await.unwrap();
    wait_text(&browser, "h1", "Duplicates").await;
    let group = id_of(&browser, "section.duplicates").await;
    browser.screenshot("13-duplicates").await;
    assert_accessible(&browser, "duplicates").await;
    press(&browser, &group, "Link").await;
    wait_text(&browser, "h1", "Linked").await;
    let linked = text_of(&browser, "[data-resolution]").await;
    assert!(linked.contains("twin.vcf"), "{linked}");
    browser.screenshot("14-linked").await;
    assert_accessible(&browser, "linked").await;

    // The next run brings Ada's card back on Radicale.
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    text_when(&browser, "[data-outcome]", |t| t == "ok" || t == "partial").await;
    let pairs = store.sync_state().pairs_of_record("alice", &ada).await.unwrap();
    assert_eq!(pairs.len(), 1, "{pairs:?}");
    assert_eq!(pairs[0].state, crmsync_engine::PairState::Live);
    let (status, back) = dav(http, reqwest::Method::GET, &item_url(radicale, &pairs[0].href), None).await;
    assert_eq!(status, 200);
    assert!(back.contains("Lovelace"), "{back}");
    let history = store.sync_state().history("alice", Some(&ada), None).await.unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.action == "status restore" && h.rule == "R-DEL-2"),
        "the restore is in the history: {history:?}"
    );

    // The runs page: the newest run's report names Ada's card, what was
    // done and the rule; filtering by her id keeps only her rows.
    c.goto(&format!("{base}/runs")).await.unwrap();
    wait_text(&browser, "h1", "Runs").await;
    browser.screenshot("15-runs").await;
    assert_accessible(&browser, "runs").await;
    click(&browser, "#runs tbody tr a").await;
    wait_text(&browser, "h1", "Run of alice").await;
    let report = text_of(&browser, "#report").await;
    assert!(report.contains(&ada) && report.contains("groupware create"), "{report}");
    let all = text_of(&browser, "p[role=status]").await;
    c.find(Locator::Id("q")).await.unwrap().send_keys(&ada).await.unwrap();
    click(&browser, "form.filters button").await;
    // Her create and its pair, not the twins' rows.
    text_when(&browser, "p[role=status]", |t| t != all && t.starts_with("2 of ")).await;
    for row in c.find_all(Locator::Css("#report tbody tr")).await.unwrap() {
        let text = row.text().await.unwrap();
        assert!(text.contains(&ada), "{text}");
    }
    browser.screenshot("16-run-report").await;
    assert_accessible(&browser, "run report").await;

    // A conflict over two fields, resolved with a choice per field
    // (R-WEB-4-PER-FIELD): the CRM's last name, the groupware's job title.
    let ada_pair = store
        .sync_state()
        .pairs_of_record("alice", &ada)
        .await
        .unwrap()
        .remove(0);
    let fields = json!([
        {"key": "last_name", "base": "Lovelace", "crm": "King", "groupware": "Byron"},
        {"key": "job_title", "base": null, "crm": "Analyst", "groupware": "Countess"},
    ]);
    store
        .sync_state()
        .add_conflict(&ConflictRow {
            id: "two-fields".into(),
            profile: "alice".into(),
            collection: ada_pair.collection.clone(),
            pair_id: ada_pair.id.clone(),
            crm_id: ada.clone(),
            href: ada_pair.href.clone(),
            fields: fields.to_string(),
            created_at: chrono::Utc::now(),
            resolved_at: None,
            resolution: None,
        })
        .await
        .unwrap();
    c.goto(&format!("{base}/conflicts")).await.unwrap();
    wait_text(&browser, "h1", "Conflicts").await;
    c.find(Locator::Id("conflict-two-fields-1-groupware"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.screenshot("17-conflict-per-field").await;
    assert_accessible(&browser, "conflicts").await;
    press(&browser, "conflict-two-fields", "Take the chosen values").await;
    wait_text(&browser, "h1", "Conflict resolved").await;
    let resolved = store.sync_state().conflict("two-fields").await.unwrap().unwrap();
    assert_eq!(resolved.resolution, Some(ConflictResolution::Merged));
    let base_now = store
        .sync_state()
        .pairs_of_record("alice", &ada)
        .await
        .unwrap()
        .remove(0)
        .base;
    assert_eq!(
        base_now.get("last_name"),
        Some("Byron"),
        "the base moved so the CRM's name wins"
    );
    assert_eq!(base_now.get("job_title"), Some("Analyst"), "and the groupware's title");

    // R-WEB-14: a card over 6 MiB cannot be read (R-MAP-7) and is
    // quarantined; Retry all reads it again and runs the profile, which
    // finds it still too large.
    let big_url = format!("{}/big.vcf", ada_url.rsplit_once('/').unwrap().0);
    let big = format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big-card\r\nFN:Big\r\nN:;Big;;;\r\nNOTE:{}\r\nEND:VCARD\r\n",
        "x".repeat(7 * 1024 * 1024)
    );
    let (status, body) = dav(http, reqwest::Method::PUT, &big_url, Some(big)).await;
    assert!(status == 201 || status == 204, "{status}: {body}");
    run(api).await;
    let big_href = store
        .sync_state()
        .quarantined("alice")
        .await
        .unwrap()
        .into_iter()
        .find(|q| q.href.ends_with("big.vcf"))
        .expect("the big card is quarantined")
        .href;
    c.goto(&format!("{base}/quarantine")).await.unwrap();
    wait_text(&browser, "h1", "Quarantine").await;
    browser.screenshot("18-quarantine").await;
    assert_accessible(&browser, "quarantine").await;
    press(&browser, "quarantine-alice", "Retry all").await;
    wait_text(&browser, "h1", "Retried").await;
    let still = text_of(&browser, "[data-still-quarantined]").await;
    assert!(still.starts_with("1 of them"), "{still}");
    browser.screenshot("19-retried").await;
    assert_accessible(&browser, "retried").await;
    let history = store
        .sync_state()
        .history("alice", None, Some(&big_href))
        .await
        .unwrap();
    assert!(
        history.iter().any(|h| h.action == "status retry"),
        "the retry is in the history: {history:?}"
    );

    // A tracked e-mail, stored as the mail runner stores one (its Dovecot
    // side is proved in crates/sync), converted from the e-mails page.
    let owner = store.records().get::<ContactFields>(&ada).await.unwrap().meta.owner_id;
    let mut offer = ActivityFields::new(ActivityKind::Email, "Offer for Ada");
    offer.email = Some(
        serde_json::from_value(json!({"direction": "incoming", "from": {"kind": "email", "email": "ada@example.org"}}))
            .unwrap(),
    );
    let offer_id = store.records().create(&owner, offer).await.unwrap().meta.id;
    let row = TrackedMailRow {
        message_key: "offer@example.org".into(),
        activity_id: offer_id.clone(),
        folder: "CRM".into(),
        uid_validity: 1,
        uid: 1,
        trigger: "folder".into(),
        tracked: true,
        marked: true,
    };
    store.sync_state().save_tracked_mail("alice", &row).await.unwrap();
    c.goto(&format!("{base}/emails")).await.unwrap();
    wait_text(&browser, "h1", "Tracked e-mails").await;
    browser.screenshot("20-emails").await;
    assert_accessible(&browser, "emails").await;
    press(&browser, &format!("email-{offer_id}"), "Convert").await;
    wait_text(&browser, "h1", "Converted").await;
    browser.screenshot("21-converted").await;
    assert_accessible(&browser, "converted").await;
    let regarding = store
        .records()
        .get::<ActivityFields>(&offer_id)
        .await
        .unwrap()
        .fields
        .regarding;
    assert_eq!(regarding.map(|r| r.entity), Some(EntityKind::Opportunity));

    c.goto(&format!("{base}/record")).await.unwrap();
    wait_text(&browser, "h1", "Record").await;
    assert_accessible(&browser, "/record").await;
    browser.close().await;
    for shot in [
        "11-removed",
        "12-restored",
        "13-duplicates",
        "14-linked",
        "15-runs",
        "16-run-report",
        "17-conflict-per-field",
        "18-quarantine",
        "19-retried",
        "20-emails",
        "21-converted",
    ] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "{shot}");
    }

    // Bob sees none of it and can do none of it (R-WEB-6).
    let added = crmsync(&serve.config, &["--json", "user", "add", "bob"]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let bob_token: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    let bob = WebSession::sign_in(&base, bob_token["token"].as_str().unwrap()).await;
    let alice_run = store.sync_state().runs("alice", 1).await.unwrap().remove(0).id;
    for page in [format!("/runs/{alice_run}"), "/runs?profile=alice".to_string()] {
        assert_eq!(bob.get(&page).await.0, 404, "{page}");
    }
    for page in ["/removed", "/duplicates", "/quarantine", "/runs", "/emails"] {
        let (status, html) = bob.get(page).await;
        assert_eq!(status, 200, "{page}");
        assert!(!html.contains("alice") && !html.contains(&ada), "{page}: {html}");
    }
    let forms: [(&str, Vec<(&str, &str)>); 8] = [
        (
            "/profiles/alice/emails/regarding",
            vec![("key", "offer@example.org"), ("version", "1"), ("clear", "true")],
        ),
        (
            "/profiles/alice/emails/convert",
            vec![("key", "offer@example.org"), ("version", "1"), ("to", "case")],
        ),
        (
            "/profiles/alice/emails/untrack",
            vec![("key", "offer@example.org"), ("crm", "keep")],
        ),
        ("/profiles/alice/restore", vec![("record_id", ada.as_str())]),
        (
            "/profiles/alice/quarantine/retry",
            vec![("collection", "contacts"), ("href", big_href.as_str())],
        ),
        ("/profiles/alice/quarantine/retry-all", vec![]),
        (
            "/profiles/alice/duplicates/link",
            vec![
                ("collection", "contacts"),
                ("record_id", twin_two.as_str()),
                ("href", "twin.vcf"),
            ],
        ),
        (
            "/profiles/alice/duplicates/keep-apart",
            vec![("collection", "contacts"), ("member", twin_two.as_str())],
        ),
    ];
    let alice = WebSession::sign_in(&base, &serve.token).await;
    for (path, fields) in &forms {
        assert_eq!(bob.post(path, fields, None).await.0, 404, "bob: {path}");
        assert_eq!(
            alice.post(path, fields, Some("made-up")).await.0,
            403,
            "no CSRF: {path}"
        );
    }
    // Ada is back in sync: there is nothing to restore any more.
    let (status, html) = alice
        .post("/profiles/alice/restore", &[("record_id", ada.as_str())], None)
        .await;
    assert_eq!(status, 409, "{html}");
}
