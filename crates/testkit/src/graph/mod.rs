//! A Microsoft Graph v1.0 test server (axum, in-process, 127.0.0.1 on a free
//! port). No Exchange can run here, so this plays one mailbox the way
//! Microsoft documents Graph to behave: the client credentials token
//! endpoint, contact folders, calendars and To Do lists, their items with
//! `@odata.etag`/`changeKey` moving on every write, conditional writes
//! (`If-Match` → 412 `ErrorIrresolvableConflict`), delta rounds with
//! `@odata.nextLink`/`@odata.deltaLink`, `@removed` rows and optional empty
//! pages, 410 Gone for expired state tokens, 429/503 with `Retry-After`, and
//! a count of requests that lacked `Prefer: IdType="ImmutableId"`, and
//! change notification subscriptions (validation handshake, a notification
//! per write, lifecycle notifications on demand), and JSON batching
//! (`$batch`, each request answered as alone), writes whose outcome the
//! client cannot know (a reply cut off, a 500 after the work), and mail
//! folders with their messages, messages delta and MIME (`messages.rs`).
//! [`GraphSwitches`] turns each fault on; [`GraphServer::stats`] proves it fired.

mod assertion;
mod batch;
#[cfg(feature = "graph")]
mod connector;
mod delta;
mod identity;
mod messages;
mod receiver;
mod routes;
mod series;
mod store;
mod subscriptions;
mod switches;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use serde_json::Value;

#[cfg(feature = "graph")]
pub use assertion::TEST_APP_PEM;
pub use identity::DeviceUser;
pub use receiver::NotificationReceiver;
pub use store::Resource;
pub use subscriptions::Delivery;
use switches::GraphStats;
pub use switches::{GraphCounts, GraphSwitches};

use chrono::{DateTime, Utc};
use store::Store;
use subscriptions::Subscriptions;

pub(crate) struct Shared {
    store: Mutex<Store>,
    switches: GraphSwitches,
    stats: GraphStats,
    tokens: Mutex<HashSet<String>>,
    /// Device codes and refresh tokens of delegated sign-ins.
    identity: Mutex<identity::Identity>,
    /// `http://127.0.0.1:PORT`, for the links the server hands out.
    base: String,
    subscriptions: Mutex<Subscriptions>,
    /// Sends validation requests and notifications.
    client: reqwest::Client,
    /// The server's "now" when a test set one (subscription expiry).
    now: Mutex<Option<DateTime<Utc>>>,
}

impl Shared {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().expect("lock").unwrap_or_else(Utc::now)
    }

    /// Sends the change notifications of a write in the background, as
    /// Graph does: the write's answer does not wait for them.
    fn announce(shared: &Arc<Shared>, folder: &str, item: &str, change: &str) {
        for (url, body) in subscriptions::notifications_for(shared, folder, item, change) {
            let shared = shared.clone();
            tokio::spawn(async move {
                subscriptions::deliver(&shared, url, body).await;
            });
        }
    }
}

/// A running Graph test server; stopped when dropped.
pub struct GraphServer {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl GraphServer {
    pub const TENANT: &str = "contoso.onmicrosoft.com";
    pub const CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    pub const CLIENT_SECRET: &str = "JqQX2PNo9bpM0uEihUPzyrh";
    pub const MAILBOX: &str = "anna@contoso.com";

    /// Starts the server on a free port of 127.0.0.1 (needs a tokio runtime).
    pub async fn start() -> std::io::Result<GraphServer> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            switches: GraphSwitches::default(),
            stats: GraphStats::default(),
            tokens: Mutex::new(HashSet::new()),
            identity: Mutex::new(identity::Identity::default()),
            base,
            subscriptions: Mutex::new(Subscriptions::default()),
            client: reqwest::Client::new(),
            now: Mutex::new(None),
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(routes::token))
            .route("/{tenant}/oauth2/v2.0/devicecode", post(routes::device_code))
            .fallback(routes::graph)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            // Ends only when the task is aborted (drop) or the socket fails.
            let _ = axum::serve(listener, app).await;
        });
        Ok(GraphServer { shared, task })
    }

    /// The authority the token endpoint lives under (`{authority}/{tenant}/oauth2/v2.0/token`).
    pub fn authority(&self) -> String {
        self.shared.base.clone()
    }

    /// An app-only access token, fetched as a client does (client
    /// credentials at the token endpoint), for raw requests in tests and benches.
    pub async fn app_token(&self) -> Result<String, reqwest::Error> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", Self::CLIENT_ID),
            ("client_secret", Self::CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let url = format!("{}/{}/oauth2/v2.0/token", self.shared.base, Self::TENANT);
        let answer: Value = self.shared.client.post(url).form(&form).send().await?.json().await?;
        Ok(answer["access_token"].as_str().unwrap_or_default().to_string())
    }

    /// The Graph endpoint, as `https://graph.microsoft.com/v1.0` is for the real one.
    pub fn base_url(&self) -> String {
        format!("{}/v1.0", self.shared.base)
    }

    pub fn switches(&self) -> &GraphSwitches {
        &self.shared.switches
    }

    pub fn stats(&self) -> GraphCounts {
        self.shared.stats.snapshot()
    }

    /// Creates a folder as the user would in Outlook; returns its id.
    pub fn create_folder(&self, resource: Resource, name: &str) -> String {
        let folder = self.store().create_folder(resource, name);
        folder["id"].as_str().unwrap_or_default().to_string()
    }

    /// The id of the folder of `resource` named `name`.
    pub fn folder_id(&self, resource: Resource, name: &str) -> Option<String> {
        self.store()
            .folders_of(resource)
            .into_iter()
            .find(|f| f[resource.name_key()] == name)
            .and_then(|f| f["id"].as_str().map(str::to_string))
    }

    /// Creates an item as the user would in Outlook; returns it as stored.
    pub fn user_create(&self, folder: &str, body: Value) -> Value {
        let Value::Object(body) = body else {
            panic!("an item is a JSON object")
        };
        let created = self.store().create(folder, body).expect("the folder exists");
        Shared::announce(
            &self.shared,
            folder,
            created["id"].as_str().unwrap_or_default(),
            "created",
        );
        created
    }

    /// [`GraphServer::user_create`] under a chosen id, as Exchange would
    /// have given it: for tests whose ids must have a property (two whose
    /// digests collide, R-GRAPH-42). Panics when the folder is missing or
    /// already holds `id`.
    pub fn user_create_with_id(&self, folder: &str, id: &str, body: Value) -> Value {
        let Value::Object(body) = body else {
            panic!("an item is a JSON object")
        };
        let created = self
            .store()
            .create_with_id(folder, id.to_string(), body)
            .expect("the folder exists and does not hold the id");
        Shared::announce(&self.shared, folder, id, "created");
        created
    }

    /// Changes an item as the user would in Outlook (no precondition).
    pub fn user_update(&self, folder: &str, id: &str, patch: Value) -> Value {
        let Value::Object(patch) = patch else {
            panic!("a patch is a JSON object")
        };
        let updated = self.store().update(folder, id, None, patch).expect("the item exists");
        Shared::announce(&self.shared, folder, id, "updated");
        updated
    }

    /// Deletes an item as the user would in Outlook.
    pub fn user_delete(&self, folder: &str, id: &str) {
        self.store().delete(folder, id, None).expect("the item exists");
        Shared::announce(&self.shared, folder, id, "deleted");
    }

    /// What the user does with the next device codes (R-GRAPH-33); until
    /// a test says otherwise they sign in at the first poll.
    pub fn device_user(&self, user: DeviceUser) {
        self.shared.identity.lock().expect("lock").set_user(user);
    }

    /// The next `polls` device-code polls answer `slow_down`.
    pub fn slow_down_next(&self, polls: u32) {
        self.shared.identity.lock().expect("lock").slow_down_next(polls);
    }

    /// Revokes every refresh token issued so far.
    pub fn revoke_refresh_tokens(&self) {
        self.shared.identity.lock().expect("lock").revoke_all();
    }

    /// The refresh tokens that would still be accepted.
    pub fn valid_refresh_tokens(&self) -> Vec<String> {
        self.shared.identity.lock().expect("lock").valid_refresh_tokens()
    }

    /// Every refresh token the server issued.
    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.shared.identity.lock().expect("lock").issued_refresh_tokens()
    }

    /// The server's "now" from here on (subscription lifetimes are checked
    /// against it); the real time until a test sets one.
    pub fn set_now(&self, now: DateTime<Utc>) {
        *self.shared.now.lock().expect("lock") = Some(now);
    }

    /// Every live subscription, as `GET /subscriptions` shows it.
    pub fn subscriptions(&self) -> Vec<Value> {
        let now = self.shared.now();
        let subs = self.shared.subscriptions.lock().expect("lock");
        subs.subs
            .values()
            .filter(|s| s.expires > now)
            .map(|s| Value::Object(s.body.clone()))
            .collect()
    }

    /// Every notification sent so far, in order, with the receiver's answer.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.subscriptions.lock().expect("lock").deliveries.clone()
    }

    /// Validation requests sent so far.
    pub fn validations(&self) -> u64 {
        self.shared.subscriptions.lock().expect("lock").validations
    }

    /// Sends the lifecycle notification `event` (`reauthorizationRequired`,
    /// `subscriptionRemoved` — which also removes it — or `missed`) for
    /// subscription `id`; the receiver's status, `None` if unknown or unreachable.
    pub async fn send_lifecycle(&self, id: &str, event: &str) -> Option<u16> {
        let (url, body) = subscriptions::lifecycle_for(&self.shared, id, event)?;
        subscriptions::deliver(&self.shared, url, body).await
    }

    /// An item as stored, extended properties and extensions included.
    pub fn item(&self, folder: &str, id: &str) -> Option<Value> {
        self.store().get(folder, id).map(|i| Value::Object(i.body.clone()))
    }

    /// A series master as stored, with its `cancelledOccurrences` and
    /// `exceptionOccurrences` (as a GET that selects and expands them shows it).
    pub fn series(&self, folder: &str, id: &str) -> Option<Value> {
        self.store().with_occurrences(folder, id)
    }

    /// The instances of series `id` originally dated within `[from, to]`,
    /// as `GET /events/{id}/instances` lists them.
    pub fn instances(&self, folder: &str, id: &str, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Vec<Value> {
        self.store()
            .instances(folder, id, from, to)
            .expect("a series the server expands")
    }

    /// Every live item of a folder, as stored.
    pub fn items(&self, folder: &str) -> Vec<Value> {
        let store = self.store();
        store
            .folders
            .get(folder)
            .map(|f| {
                f.items
                    .values()
                    .filter(|i| !i.removed)
                    .map(|i| Value::Object(i.body.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.shared.store.lock().expect("lock")
    }
}

impl Drop for GraphServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
