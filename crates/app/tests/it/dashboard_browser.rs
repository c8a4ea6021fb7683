//! Issue #16 end to end: a real headless Chromium (Debian `chromium` and
//! `chromium-driver`, over WebDriver) against the real `crmsync serve` with a
//! real Radicale behind alice's profile. Alice signs in with her API token,
//! sees her profile, runs it, resolves a conflict on the conflicts page and
//! sees the CRM's value land on Radicale after the next run, then signs
//! out. A screenshot of each page is written to the target folder
//! (`dashboard-screenshots/`). Missing browser binaries fail the test.

use std::path::Path;

use crmsync_testkit::Browser;
use serde_json::json;

use crate::support::web::{WithRadicale, click, dav, id_of, item_url, press, sign_in, text_of, text_when, wait_text};

// R-WEB-1, R-WEB-3, R-WEB-4 in a real browser against the real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_1_r_web_4_sign_in_run_resolve_a_conflict_in_chromium_and_see_it_on_radicale() {
    // No scheduler: the runs are the ones the test asks for.
    let world = WithRadicale::start().await;
    let (serve, api, http, radicale) = (&world.serve, &world.api, &world.http, &world.radicale);
    let base = serve.base.clone();
    let token = serve.token.clone();

    // Alice's contact, flagged for her groupware, and her profile on Radicale
    // holding conflicts for a choice (R-EDIT-3 `manual`).
    let contact_id = api
        .synced_contact(
            json!({"first_name": "Ada", "last_name": "Lovelace", "job_title": "Analyst", "email1": "ada@example.org"}),
        )
        .await;
    api.radicale_profile(
        "alice",
        radicale,
        json!({"contacts": {"direction": "two-way", "conflict": "manual"}}),
    )
    .await;

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let browser = Browser::start(&shots).await;
    let c = browser.client();

    // Sign in with the API token.
    sign_in(&browser, &base, &token, Some("01-sign-in")).await;
    wait_text(&browser, "#profile-alice .state", "not run yet").await;
    browser.screenshot("02-home").await;

    // Run now: the contact reaches Radicale.
    press(&browser, "profile-alice", "Run now").await;
    wait_text(&browser, "[data-outcome]", "ok").await;
    browser.screenshot("03-run").await;

    // Both sides change the job title: the next run holds a conflict.
    let store = world.store().await;
    let pair = store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let item_url = item_url(radicale, &pair.href);
    let (status, card) = dav(http, reqwest::Method::GET, &item_url, None).await;
    assert_eq!(status, 200, "{item_url}: {card}");
    assert!(card.contains("TITLE:Analyst"), "{card}");
    let edited = card.replace("TITLE:Analyst", "TITLE:Groupware Lead");
    let (status, body) = dav(http, reqwest::Method::PUT, &item_url, Some(edited)).await;
    assert!(status == 201 || status == 204, "{status}: {body}");
    let (_, mut crm, etag) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/contacts/{contact_id}"),
            None,
            None,
        )
        .await;
    crm["job_title"] = json!("CRM Director");
    let (status, body, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact_id}"),
            Some(crm),
            etag.as_deref(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    text_of(&browser, "[data-outcome]").await;

    // The conflicts page shows both values side by side; take the CRM's.
    c.goto(&format!("{base}/")).await.unwrap();
    click(&browser, "#profile-alice a[href^='/conflicts']").await;
    wait_text(&browser, "h1", "Conflicts").await;
    let section = text_of(&browser, "section.conflict").await;
    assert!(
        section.contains("CRM Director") && section.contains("Groupware Lead") && section.contains("Analyst"),
        "{section}"
    );
    browser.screenshot("04-conflicts").await;
    let conflict_id = id_of(&browser, "section.conflict").await;
    press(&browser, &conflict_id, "Take CRM").await;
    wait_text(&browser, "h1", "Conflict resolved").await;
    browser.screenshot("05-resolved").await;

    // The next run writes the CRM's value to Radicale.
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    wait_text(&browser, "[data-outcome]", "ok").await;
    let (_, card) = dav(http, reqwest::Method::GET, &item_url, None).await;
    assert!(card.contains("TITLE:CRM Director"), "{card}");

    // The record page explains it, with its history.
    c.goto(&format!("{base}/record?profile=alice&id={contact_id}"))
        .await
        .unwrap();
    text_when(&browser, "main", |t| t.contains("History")).await;
    browser.screenshot("06-record").await;

    // Sign out: the session ends; the dashboard asks to sign in again.
    c.goto(&format!("{base}/")).await.unwrap();
    click(&browser, "form[action='/sign-out'] button").await;
    wait_text(&browser, "h1", "Sign in").await;
    c.goto(&format!("{base}/conflicts")).await.unwrap();
    wait_text(&browser, "h1", "Sign in").await;
    browser.screenshot("07-signed-out").await;
    for shot in [
        "01-sign-in",
        "02-home",
        "03-run",
        "04-conflicts",
        "05-resolved",
        "06-record",
        "07-signed-out",
    ] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "{shot}");
    }
    browser.close().await;
}
