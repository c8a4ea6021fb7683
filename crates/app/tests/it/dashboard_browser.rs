//! Issue #16 end to end: a real headless Chromium (Debian `chromium` and
//! `chromium-driver`, over WebDriver) against the real `crmsync serve` with a
//! real Radicale behind alice's profile. Alice signs in with her API token,
//! sees her profile, runs it, resolves a conflict on the conflicts page and
//! sees the CRM's value land on Radicale after the next run, then signs
//! out. A screenshot of each page is written to the target folder
//! (`dashboard-screenshots/`). Missing browser binaries fail the test.

use std::path::Path;

use crmsync_testkit::Browser;
use fantoccini::Locator;
use serde_json::json;

use crate::support::web::{
    Api, WithRadicale, click, dav, id_of, item_url, press, sign_in, text_of, text_when, wait_text,
};

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
    both_change_title(
        api,
        http,
        &item_url,
        &contact_id,
        "Analyst",
        "Groupware Lead",
        "CRM Director",
    )
    .await;
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

    // Again both sides change it; this time "edit" with a value of one's
    // own (R-EDIT-3-THIRD): it lands in the CRM at once and on Radicale
    // after the next run.
    both_change_title(
        api,
        http,
        &item_url,
        &contact_id,
        "CRM Director",
        "Groupware Chief",
        "CRM Chief",
    )
    .await;
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    text_of(&browser, "[data-outcome]").await;
    c.goto(&format!("{base}/conflicts")).await.unwrap();
    wait_text(&browser, "h1", "Conflicts").await;
    let conflict_id = id_of(&browser, "section.conflict").await;
    c.find(Locator::Id(&format!("{conflict_id}-0-edit")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let typed = c
        .find(Locator::Id(&format!("{conflict_id}-0-edit-value")))
        .await
        .unwrap();
    typed.clear().await.unwrap();
    typed.send_keys("Chief Analyst").await.unwrap();
    browser.screenshot("05b-conflict-edit").await;
    press(&browser, &conflict_id, "Take the chosen values").await;
    wait_text(&browser, "h1", "Conflict resolved").await;
    let (_, crm, _) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/contacts/{contact_id}"),
            None,
            None,
        )
        .await;
    assert_eq!(crm["job_title"], "Chief Analyst", "in the CRM at once");
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    wait_text(&browser, "[data-outcome]", "ok").await;
    let (_, card) = dav(http, reqwest::Method::GET, &item_url, None).await;
    assert!(card.contains("TITLE:Chief Analyst"), "{card}");

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
        "05b-conflict-edit",
        "06-record",
        "07-signed-out",
    ] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "{shot}");
    }
    browser.close().await;
}

/// The contact's job title changes on Radicale (`from` → `groupware`) and in
/// the CRM (→ `crm`), so the next run of a `manual` profile holds a conflict.
async fn both_change_title(
    api: &Api,
    http: &reqwest::Client,
    item_url: &str,
    contact_id: &str,
    from: &str,
    groupware: &str,
    crm_value: &str,
) {
    let (status, card) = dav(http, reqwest::Method::GET, item_url, None).await;
    assert_eq!(status, 200, "{item_url}: {card}");
    assert!(card.contains(&format!("TITLE:{from}")), "{card}");
    let edited = card.replace(&format!("TITLE:{from}"), &format!("TITLE:{groupware}"));
    let (status, body) = dav(http, reqwest::Method::PUT, item_url, Some(edited)).await;
    assert!(status == 201 || status == 204, "{status}: {body}");
    let (_, mut crm, etag) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/contacts/{contact_id}"),
            None,
            None,
        )
        .await;
    crm["job_title"] = json!(crm_value);
    let (status, body, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact_id}"),
            Some(crm),
            etag.as_deref(),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
