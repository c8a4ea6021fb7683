//! What the dashboard's browser tests share: the JSON API as a setup tool,
//! Radicale items read and written as another client would, and waiting
//! for a page to show what the test expects.

use std::time::Duration;

use crmsync_testkit::{Browser, PASSWORD, Peer, PeerKind, USER};
use fantoccini::Locator;
use serde_json::Value;

use crate::support::serve::{Serve, ServeSettings};

/// `crmsync serve` (no scheduler: runs happen when a test asks) with user
/// alice, a Radicale for her profile, and the API as alice. Fields drop
/// in order: the server stops before its folder goes.
pub struct WithRadicale {
    pub serve: Serve,
    pub api: Api,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
    pub radicale: Peer,
}

impl WithRadicale {
    pub async fn start() -> WithRadicale {
        WithRadicale::start_with(false).await
    }

    /// [`WithRadicale::start`], with the server's scheduler on or off.
    pub async fn start_with(scheduler: bool) -> WithRadicale {
        let radicale = Peer::start(PeerKind::Radicale);
        let dir = tempfile::tempdir().unwrap();
        let settings = ServeSettings {
            allowed_hosts: &["127.0.0.1"],
            scheduler,
        };
        let serve = Serve::start(dir.path(), "alice", settings).await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let api = Api {
            http: http.clone(),
            base: serve.base.clone(),
            token: serve.token.clone(),
        };
        WithRadicale {
            serve,
            api,
            http,
            dir,
            radicale,
        }
    }

    /// The CRM database the server uses, opened beside it.
    pub async fn store(&self) -> crmsync_store::Store {
        crmsync_store::Store::connect(&format!("sqlite://{}", self.dir.path().join("crm.db").display()))
            .await
            .unwrap()
    }
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn call(
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

impl Api {
    /// Creates a CRM contact with `fields` and flags it for the groupware;
    /// returns its id.
    pub async fn synced_contact(&self, fields: Value) -> String {
        let (status, contact, _) = self
            .call(reqwest::Method::POST, "/api/v1/contacts", Some(fields), None)
            .await;
        assert_eq!(status, 201, "{contact}");
        let id = contact["id"].as_str().unwrap().to_string();
        let path = format!("/api/v1/contacts/{id}/synchronize");
        let (status, _, _) = self.call(reqwest::Method::PUT, &path, None, None).await;
        assert_eq!(status, 204);
        id
    }

    /// Stores profile `name` on `radicale` with `rules`, never run by the
    /// scheduler on its own (no push, a pull a day).
    pub async fn radicale_profile(&self, name: &str, radicale: &Peer, rules: Value) {
        let (status, profile, _) = self
            .call(
                reqwest::Method::POST,
                "/api/v1/profiles",
                Some(serde_json::json!({
                    "name": name,
                    "connector": {"kind": "dav", "url": radicale.url(), "username": USER, "password": PASSWORD},
                    "rules": rules,
                    "push": false,
                    "pull_interval_secs": 86400,
                })),
                None,
            )
            .await;
        assert_eq!(status, 201, "{profile}");
    }
}

/// GET or PUT of one item on Radicale, as another client of the mailbox would.
pub async fn dav(http: &reqwest::Client, method: reqwest::Method, url: &str, body: Option<String>) -> (u16, String) {
    let mut request = http.request(method, url).basic_auth(USER, Some(PASSWORD));
    if let Some(body) = body {
        request = request.header("Content-Type", "text/vcard; charset=utf-8").body(body);
    }
    let reply = request.send().await.expect("Radicale answers");
    (reply.status().as_u16(), reply.text().await.unwrap_or_default())
}

/// The URL of the item whose href ends in `href`'s last segment, from
/// where Radicale keeps it (`collection-root/USER/COLLECTION/FILE`).
pub fn item_url(radicale: &Peer, href: &str) -> String {
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
pub async fn press(browser: &Browser, scope: &str, label: &str) {
    let xpath = format!("//*[@id='{scope}']//button[normalize-space()='{label}']");
    click_fresh(
        browser,
        Locator::XPath(&xpath),
        &format!("`{label}` button in #{scope}"),
    )
    .await;
}

/// Finds and clicks, again when the element went stale in between: the
/// home page swaps its profile list in when any run on the database ends
/// (R-WEB-12, R-WEB-21), also one that ended just before the page loaded.
async fn click_fresh(browser: &Browser, locator: Locator<'_>, what: &str) {
    for _ in 0..20 {
        let element = browser
            .client()
            .find(locator)
            .await
            .unwrap_or_else(|e| panic!("no {what}: {e}"));
        match element.click().await {
            Err(fantoccini::error::CmdError::Standard(e))
                if e.error == fantoccini::error::ErrorStatus::StaleElementReference => {}
            done => return done.unwrap(),
        }
    }
    panic!("{what} went stale 20 times in a row");
}

/// The text of the first element matching `css` once it satisfies `ready`
/// (after a click the next page may still be loading, and an element read
/// while the page changes is stale: both are waited out, within a bound
/// that only turns a hang into a failure).
pub async fn text_when(browser: &Browser, css: &str, ready: impl Fn(&str) -> bool) -> String {
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
pub async fn wait_text(browser: &Browser, css: &str, expected: &str) {
    text_when(browser, css, |t| t == expected).await;
}

/// The text of the first `css` element, once there is one.
pub async fn text_of(browser: &Browser, css: &str) -> String {
    text_when(browser, css, |_| true).await
}

/// Signs the browser in with `token` and waits for the home page; `shot`
/// names a screenshot of the sign-in form.
pub async fn sign_in(browser: &Browser, base: &str, token: &str, shot: Option<&str>) {
    let c = browser.client();
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(browser, "h1", "Sign in").await;
    if let Some(shot) = shot {
        browser.screenshot(shot).await;
    }
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    click(browser, "form[action='/sign-in'] button").await;
    wait_text(browser, "h1", "Sync profiles").await;
}

/// A dashboard session without a browser, for checking what a page or a
/// form answers (permissions, CSRF): plain HTTP with the session cookie.
pub struct WebSession {
    http: reqwest::Client,
    base: String,
    cookie: String,
    pub csrf: String,
}

/// The value of the hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a form with a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

/// The value `Set-Cookie` gives cookie `name`.
fn set_cookie(reply: &reqwest::Response, name: &str) -> String {
    reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie"))
        .to_string()
}

impl WebSession {
    pub async fn sign_in(base: &str, token: &str) -> WebSession {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let form = http.get(format!("{base}/sign-in")).send().await.unwrap();
        let pre = set_cookie(&form, "crmsync_sign_in");
        let csrf = csrf_of(&form.text().await.unwrap());
        let done = http
            .post(format!("{base}/sign-in"))
            .header("cookie", format!("crmsync_sign_in={pre}"))
            .form(&[("csrf", csrf.as_str()), ("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status().as_u16(), 303, "signed in");
        let cookie = format!("crmsync_session={}", set_cookie(&done, "crmsync_session"));
        let mut session = WebSession {
            http,
            base: base.to_string(),
            cookie,
            csrf: String::new(),
        };
        let (status, home) = session.get("/").await;
        assert_eq!(status, 200, "{home}");
        session.csrf = csrf_of(&home);
        session
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let reply = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }

    /// Posts `fields` with this session's CSRF token unless `csrf` says otherwise.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], csrf: Option<&str>) -> (u16, String) {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf", csrf.unwrap_or(&self.csrf)));
        let reply = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .form(&all)
            .send()
            .await
            .unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    }
}

/// The `id` of the first element matching `css`.
pub async fn id_of(browser: &Browser, css: &str) -> String {
    browser
        .client()
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .attr("id")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("`{css}` has no id"))
}

/// Clicks the first element matching `css`.
pub async fn click(browser: &Browser, css: &str) {
    click_fresh(browser, Locator::Css(css), &format!("`{css}`")).await;
}

/// What the page's own check finds wrong, one line each (empty: nothing).
/// A subset of what axe-core calls serious, written here because the test
/// machines reach no CDN: the document has a language and a title, one
/// `main` and one `h1`; ids are unique; every visible form control has a
/// label (`label for`, a wrapping label or `aria-label`); every button and
/// link has a name; every table header cell has a scope.
const A11Y_CHECK: &str = r#"
const problems = [];
const name = el => (el.getAttribute('aria-label') || el.textContent || '').trim();
if (!document.documentElement.getAttribute('lang')) problems.push('html has no lang');
if (!document.title.trim()) problems.push('no title');
if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main');
if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
const seen = new Set();
for (const el of document.querySelectorAll('[id]')) {
  if (seen.has(el.id)) problems.push('duplicate id ' + el.id);
  seen.add(el.id);
}
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'))
    || el.closest('label') || el.getAttribute('aria-label');
  if (!labelled) problems.push('unlabelled ' + el.tagName.toLowerCase() + ' ' + (el.name || el.id));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  if (!name(el)) problems.push('nameless ' + el.tagName.toLowerCase() + ' ' + el.outerHTML.slice(0, 80));
}
for (const el of document.querySelectorAll('th')) {
  if (!el.getAttribute('scope')) problems.push('th without scope: ' + name(el));
}
return problems;
"#;

/// Fails the test when the current page has an accessibility problem the
/// page check finds (R-WEB-9).
pub async fn assert_accessible(browser: &Browser, page: &str) {
    let found = browser.client().execute(A11Y_CHECK, vec![]).await.unwrap();
    let problems: Vec<String> = serde_json::from_value(found).unwrap();
    assert!(problems.is_empty(), "{page}: {problems:?}");
}
