//! Issue 12: a hostile non-admin user against a running `crmsync serve` (the
//! real binary, loopback only, a bounded number of requests). The profile
//! settings of items 1–3 are tried: numbers that once aborted the process,
//! profiles of every kind that connects out (dav, imap, graph) pointing
//! inside the server's network, a redirect that would
//! carry the password to another host. Afterwards the process must still be
//! running and healthy.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crmsync_testkit::CannedServer;
use serde_json::{Value, json};

use crate::support::serve::{Serve, ServeSettings};

const PASSWORD: &str = "pw-Heron-5521";

struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.expect("the server answers");
        let status = reply.status().as_u16();
        let text = reply.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn create(&self, name: &str, connector: Value) -> (u16, Value) {
        let body = json!({"name": name, "connector": connector, "push": false, "pull_interval_secs": 86400});
        self.call(reqwest::Method::POST, "/api/v1/profiles", Some(body)).await
    }

    /// Runs the profile now. A new profile is due at once, so the server's
    /// own scheduler may be running it when the test asks: that answer is
    /// 409 "being synced right now … nothing was done" (R-SVC-13), and the
    /// test asks again, as the message says, until it gets the run's own
    /// answer. The deadline only turns a hang into a failure.
    async fn run(&self, name: &str) -> (u16, Value) {
        let path = format!("/api/v1/sync/profiles/{name}/run");
        let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let (status, body) = self.call(reqwest::Method::POST, &path, Some(json!({}))).await;
            if status != 409 || tokio::time::Instant::now() >= give_up {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_6_hostile_profile_settings_leave_crmsync_serve_running_and_healthy() {
    let dir = tempfile::tempdir().unwrap();
    // What a redirect would carry the password to: another loopback origin.
    let eavesdropper = CannedServer::start(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)), 404, &[], b"")
        .await
        .unwrap();
    let to_eavesdropper = eavesdropper.url();
    let redirector = CannedServer::start(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        301,
        &[("Location", to_eavesdropper.as_str())],
        b"",
    )
    .await
    .unwrap();
    let settings = ServeSettings {
        allowed_hosts: &["127.0.0.2", "127.0.0.3"],
        scheduler: true,
    };
    let mut serve = Serve::start(dir.path(), "mallory", settings).await;
    let port = serve.port;
    let base = serve.base.clone();
    let api = Api {
        client: reqwest::Client::builder().no_proxy().build().unwrap(),
        base: base.clone(),
        token: serve.token.clone(),
    };

    // Item 1: numbers that aborted the process are refused, naming the field.
    for (field, connector) in [
        (
            "connector.concurrency",
            json!({"kind": "dav", "url": "https://dav.example.org/", "concurrency": 1_000_000_000u64}),
        ),
        (
            "connector.timeout_secs",
            json!({"kind": "dav", "url": "https://dav.example.org/", "timeout_secs": u64::MAX}),
        ),
        (
            "connector.multiget_batch",
            json!({"kind": "dav", "url": "https://dav.example.org/", "multiget_batch": u64::MAX}),
        ),
    ] {
        let (status, body) = api.create("huge", connector).await;
        assert_eq!(status, 400, "{field}: {body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }

    // Item 2: the server itself and other internal addresses are out of
    // reach for a user's profile, by address or by name.
    for (name, url) in [
        ("self", format!("{base}/api/v1/")),
        ("by-name", format!("http://localhost:{port}/")),
        ("metadata", "http://169.254.169.254/".to_string()),
    ] {
        let (status, body) = api
            .create(name, json!({"kind": "dav", "url": url, "concurrency": 64}))
            .await;
        assert_eq!(status, 201, "{name}: {body}");
        let (status, body) = api.run(name).await;
        assert!(status >= 400, "{name}: the run must be refused: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("R-SEC-1"), "{name}: {message}");
    }
    // The same for every kind that connects out: a mailbox on the server's
    // own port, Graph with its token endpoint and API inside.
    for (name, connector) in [
        (
            "imap-self",
            json!({"kind": "imap", "host": "127.0.0.1", "port": port, "tls": "none",
                   "username": "mallory", "password": PASSWORD}),
        ),
        (
            "graph-metadata",
            json!({"kind": "graph", "tenant": "contoso.onmicrosoft.com", "mailbox": "mallory@contoso.com",
                   "client_id": "app", "client_secret": PASSWORD,
                   "base_url": "http://169.254.169.254/v1.0", "authority": format!("http://localhost:{port}")}),
        ),
    ] {
        let (status, body) = api.create(name, connector).await;
        assert_eq!(status, 201, "{name}: {body}");
        let (status, body) = api.run(name).await;
        assert!(status >= 400, "{name}: the run must be refused: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("R-SEC-1") && message.contains("allowed_hosts"),
            "{name}: {message}"
        );
    }

    // Item 3: an allowed server redirects elsewhere; the password stays home.
    let (status, body) = api
        .create(
            "redirected",
            json!({"kind": "dav", "url": redirector.url(), "username": "mallory", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api.run("redirected").await;
    assert!(status >= 400, "{body}");
    assert!(
        redirector.requests()[0].header("authorization").is_some(),
        "the profile's own server gets the credentials"
    );
    let followed = eavesdropper.requests();
    assert!(!followed.is_empty(), "the redirect was followed");
    assert!(
        followed.iter().all(|r| r.header("authorization").is_none()),
        "credentials crossed to another origin: {followed:?}"
    );

    // Still up, still answering.
    serve.wait_healthy().await;
    let (status, _) = api.call(reqwest::Method::GET, "/api/v1/profiles", None).await;
    assert_eq!(status, 200);
    assert!(serve.running(), "crmsync serve is still running");
    let log = std::fs::read_to_string(&serve.log).unwrap();
    assert!(!log.contains(PASSWORD), "the password reached the log");
}
