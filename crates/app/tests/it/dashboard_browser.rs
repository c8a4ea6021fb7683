//! Issue #16 end to end: a real headless Chromium (Debian `chromium` and
//! `chromium-driver`, over WebDriver) against the real `crmsync serve` with a
//! real Radicale behind alice's profile. Alice signs in with her API token,
//! sees her profile, runs it, resolves a conflict on the conflicts page and
//! sees the CRM's value land on Radicale after the next run, then signs
//! out. A screenshot of each page is written to the target folder
//! (`dashboard-screenshots/`). Missing browser binaries fail the test.

use std::path::Path;
use std::time::Duration;

use crmsync_testkit::{Browser, PASSWORD, Peer, PeerKind, USER};
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::support::serve::{Serve, ServeSettings};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (u16, Value, Option<String>) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        let reply = request.send().await.expect("the server answers");
        let status = reply.status().as_u16();
        let etag = reply
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = reply.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), etag)
    }
}

/// GET or PUT of one item on Radicale, as another client of the mailbox would.
async fn dav(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<String>) -> (u16, String) {
    let mut request = http.request(method, url).basic_auth(USER, Some(PASSWORD));
    if let Some(body) = body {
        request = request.header("Content-Type", "text/vcard; charset=utf-8").body(body);
    }
    let reply = request.send().await.expect("Radicale answers");
    (reply.status().as_u16(), reply.text().await.unwrap_or_default())
}

/// The URL of the item whose href ends in `href`'s last segment, from
/// where Radicale keeps it (`collection-root/USER/COLLECTION/FILE`).
fn item_url(radicale: &Peer, href: &str) -> String {
    let file = href.rsplit('/').next().unwrap();
    let mut stack = vec![radicale.storage()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == file) {
                let rel = path
                    .to_string_lossy()
                    .split("collection-root/")
                    .nth(1)
                    .unwrap()
                    .to_string();
                return format!("{}{rel}", radicale.url());
            }
        }
    }
    panic!("{href} is not in Radicale's storage");
}

/// Clicks the submit button with this text inside `scope` (a CSS selector).
async fn press(browser: &Browser, scope: &str, label: &str) {
    let xpath = format!("//*[@id='{scope}']//button[normalize-space()='{label}']");
    browser
        .client()
        .find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no `{label}` button in #{scope}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The text of the first element matching `css` once it satisfies `ready`
/// (after a click the next page may still be loading, and an element read
/// while the page changes is stale: both are waited out, within a bound
/// that only turns a hang into a failure).
async fn text_when(browser: &Browser, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    loop {
        if let Ok(element) = browser.client().find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if ready(&text) {
                return text;
            }
            last = text;
        }
        if tokio::time::Instant::now() >= give_up {
            let page = browser.client().source().await.unwrap_or_default();
            panic!(
                "`{css}` never became what the test waits for (last: {last:?}) on {:?}:\n{page}",
                browser.client().current_url().await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the first `css` element reads exactly `expected`.
async fn wait_text(browser: &Browser, css: &str, expected: &str) {
    text_when(browser, css, |t| t == expected).await;
}

/// The text of the first `css` element, once there is one.
async fn text_of(browser: &Browser, css: &str) -> String {
    text_when(browser, css, |_| true).await
}

// R-WEB-1, R-WEB-3, R-WEB-4 in a real browser against the real server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_1_r_web_4_sign_in_run_resolve_a_conflict_in_chromium_and_see_it_on_radicale() {
    let radicale = Peer::start(PeerKind::Radicale);
    let dir = tempfile::tempdir().unwrap();
    // No scheduler: the runs are the ones the test presses.
    let settings = ServeSettings {
        allowed_hosts: &["127.0.0.1"],
        scheduler: false,
    };
    let serve = Serve::start(dir.path(), "alice", settings).await;
    let token = serve.token.clone();
    let base = serve.base.clone();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let api = Api {
        http: http.clone(),
        base: base.clone(),
        token: token.clone(),
    };

    // Alice's contact, flagged for her groupware, and her profile on Radicale
    // holding conflicts for a choice (R-EDIT-3 `manual`).
    let (status, contact, _) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/contacts",
            Some(json!({"first_name": "Ada", "last_name": "Lovelace", "job_title": "Analyst", "email1": "ada@example.org"})),
            None,
        )
        .await;
    assert_eq!(status, 201, "{contact}");
    let contact_id = contact["id"].as_str().unwrap().to_string();
    let (status, _, _) = api
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/contacts/{contact_id}/synchronize"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, profile, _) = api
        .call(
            reqwest::Method::POST,
            "/api/v1/profiles",
            Some(json!({
                "name": "alice",
                "connector": {"kind": "dav", "url": radicale.url(), "username": USER, "password": PASSWORD},
                "rules": {"contacts": {"direction": "two-way", "conflict": "manual"}},
                "push": false,
                "pull_interval_secs": 86400,
            })),
            None,
        )
        .await;
    assert_eq!(status, 201, "{profile}");

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    let browser = Browser::start(&shots).await;
    let c = browser.client();

    // Sign in with the API token.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&browser, "h1", "Sign in").await;
    browser.screenshot("01-sign-in").await;
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(&token)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/sign-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "h1", "Sync profiles").await;
    wait_text(&browser, "#profile-alice .state", "not run yet").await;
    browser.screenshot("02-home").await;

    // Run now: the contact reaches Radicale.
    press(&browser, "profile-alice", "Run now").await;
    wait_text(&browser, "[data-outcome]", "ok").await;
    browser.screenshot("03-run").await;

    // Both sides change the job title: the next run holds a conflict.
    let store = crmsync_store::Store::connect(&format!("sqlite://{}", dir.path().join("crm.db").display()))
        .await
        .unwrap();
    let pair = store.sync_state().pairs("alice", "contacts").await.unwrap().remove(0);
    let item_url = item_url(&radicale, &pair.href);
    let (status, card) = dav(&http, reqwest::Method::GET, &item_url, None).await;
    assert_eq!(status, 200, "{item_url}: {card}");
    assert!(card.contains("TITLE:Analyst"), "{card}");
    let edited = card.replace("TITLE:Analyst", "TITLE:Groupware Lead");
    let (status, body) = dav(&http, reqwest::Method::PUT, &item_url, Some(edited)).await;
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
    c.find(Locator::Css("#profile-alice a[href^='/conflicts']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&browser, "h1", "Conflicts").await;
    let section = text_of(&browser, "section.conflict").await;
    assert!(
        section.contains("CRM Director") && section.contains("Groupware Lead") && section.contains("Analyst"),
        "{section}"
    );
    browser.screenshot("04-conflicts").await;
    let conflict_id = c
        .find(Locator::Css("section.conflict"))
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap()
        .unwrap();
    press(&browser, &conflict_id, "Take CRM").await;
    wait_text(&browser, "h1", "Conflict resolved").await;
    browser.screenshot("05-resolved").await;

    // The next run writes the CRM's value to Radicale.
    c.goto(&format!("{base}/")).await.unwrap();
    press(&browser, "profile-alice", "Run now").await;
    wait_text(&browser, "[data-outcome]", "ok").await;
    let (_, card) = dav(&http, reqwest::Method::GET, &item_url, None).await;
    assert!(card.contains("TITLE:CRM Director"), "{card}");

    // The record page explains it, with its history.
    c.goto(&format!("{base}/record?profile=alice&id={contact_id}"))
        .await
        .unwrap();
    text_when(&browser, "main", |t| t.contains("History")).await;
    browser.screenshot("06-record").await;

    // Sign out: the session ends; the dashboard asks to sign in again.
    c.goto(&format!("{base}/")).await.unwrap();
    c.find(Locator::Css("form[action='/sign-out'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
