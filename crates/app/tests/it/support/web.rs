//! What the dashboard's browser tests share: the JSON API as a setup tool,
//! Radicale items read and written as another client would, and waiting
//! for a page to show what the test expects.

use std::time::Duration;

use crmsync_testkit::{Browser, PASSWORD, Peer, USER};
use fantoccini::Locator;
use serde_json::Value;

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

/// Signs the browser in with `token` and waits for the home page.
pub async fn sign_in(browser: &Browser, base: &str, token: &str) {
    let c = browser.client();
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(browser, "h1", "Sign in").await;
    c.find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/sign-in'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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
