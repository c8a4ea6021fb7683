//! Profile settings and live updates in a real headless Chromium against the
//! real `crmsync serve` (its scheduler on) with a real Radicale: alice
//! creates her profile over the form, tests its connection, watches the home
//! page change by itself when a run finishes, and disables the profile.
//! Each page passes the accessibility check (R-WEB-9) and is screenshotted.

use std::path::Path;

use crmsync_testkit::{Browser, PASSWORD, USER};
use fantoccini::Locator;

use crate::support::web::{WithRadicale, assert_accessible, click, press, sign_in, text_when, wait_text};

/// The href of alice's last run on the home page ("" before the first).
const LAST_RUN: &str =
    "const a = document.querySelector('#profile-alice a[href^=\"/runs/\"]'); return a ? a.getAttribute('href') : '';";

async fn last_run(browser: &Browser) -> String {
    let v = browser.client().execute(LAST_RUN, vec![]).await.unwrap();
    v.as_str().unwrap_or_default().to_string()
}

async fn fill(browser: &Browser, id: &str, text: &str) {
    let field = browser.client().find(Locator::Id(id)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

// R-WEB-10, R-WEB-12 in a real browser against the real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_10_r_web_12_create_test_and_watch_a_profile_in_chromium() {
    let world = WithRadicale::start_with(true).await;
    let (serve, api, radicale) = (&world.serve, &world.api, &world.radicale);
    let base = serve.base.clone();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let browser = Browser::start(&shots).await;
    let c = browser.client();
    sign_in(&browser, &base, &serve.token, None).await;

    // A new profile over the form.
    c.goto(&format!("{base}/profiles")).await.unwrap();
    wait_text(&browser, "h1", "Profile settings").await;
    assert_accessible(&browser, "settings (empty)").await;
    click(&browser, "a[href='/profiles/new']").await;
    wait_text(&browser, "h1", "New profile").await;
    assert_accessible(&browser, "new profile").await;
    fill(&browser, "f-name", "alice").await;
    fill(&browser, "f-url", &radicale.url()).await;
    fill(&browser, "f-username", USER).await;
    fill(&browser, "f-password", PASSWORD).await;
    browser.screenshot("21-new-profile").await;
    click(&browser, "form.settings button[type='submit']").await;
    wait_text(&browser, "h1", "Profile created").await;
    assert_accessible(&browser, "profile created").await;

    // The connection test passes every step and lists the mailbox.
    click(&browser, "a[href='/profiles/alice/test']").await;
    text_when(&browser, "[data-failed-step]", |t| t == "Every step passed.").await;
    assert_accessible(&browser, "connection test").await;
    browser.screenshot("22-connection-test").await;

    // Live: the home page changes by itself when a run finishes. A marker on
    // the window would be gone after a reload.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&browser, "h1", "Sync profiles").await;
    c.execute("window.notReloaded = true; return true;", vec![])
        .await
        .unwrap();
    // The new profile was due at once: its first run ends by itself.
    text_when(&browser, "#profile-alice .state", |t| t == "ok").await;
    let first = last_run(&browser).await;
    assert!(!first.is_empty(), "the first run is linked");
    let (status, body, _) = api
        .call(reqwest::Method::POST, "/api/v1/profiles/alice/push", None, None)
        .await;
    assert_eq!(status, 202, "{body}");
    text_when(
        &browser,
        &format!("#profile-alice a[href^='/runs/']:not([href='{first}'])"),
        |_| true,
    )
    .await;
    let kept = c.execute("return window.notReloaded === true;", vec![]).await.unwrap();
    assert_eq!(kept, serde_json::Value::Bool(true), "the page was reloaded");
    assert_accessible(&browser, "home after a live update").await;
    browser.screenshot("23-home-live").await;

    // Disable it from the settings page.
    c.goto(&format!("{base}/profiles")).await.unwrap();
    wait_text(&browser, "h1", "Profile settings").await;
    assert_accessible(&browser, "settings").await;
    browser.screenshot("24-settings").await;
    press(&browser, "settings-alice", "Disable alice").await;
    wait_text(&browser, "h1", "Profile disabled").await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&browser, "#profile-alice .state", "paused").await;
    for shot in ["21-new-profile", "22-connection-test", "23-home-live", "24-settings"] {
        assert!(shots.join(format!("{shot}.png")).is_file(), "{shot}");
    }
    browser.close().await;
}
