//! [`GraphConnector`]: the [`Connector`] trait over Graph v1.0.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crmsync_connector::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, ContentType, Etag, Fetched,
    FetchedItem, Href, ItemFailure, ItemMeta, Reach, SyncToken, TokenVault,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::batch::{self, CreateQueue};
use crate::clock::{Clock, SystemClock};
use crate::config::{GraphAuth, GraphConfig};
use crate::delta::{self, DeltaRound};
use crate::folder::{Folder, Resource, segment};
use crate::http::{Call, GraphHttp};
use crate::known_uids::KnownUids;
use crate::token::TokenSource;
use crate::{GraphError, series, uid};

/// One mailbox in Exchange Online (or a national cloud) through Graph.
#[derive(Clone)]
pub struct GraphConnector {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: GraphHttp,
    pub(crate) config: GraphConfig,
    pub(crate) clock: Arc<dyn Clock>,
    /// What the last complete listing of each folder says about UIDs (R-GRAPH-5).
    pub(crate) known: KnownUids,
    /// Creates waiting for a `$batch` (R-GRAPH-17).
    pub(crate) creates: CreateQueue,
    /// One calendar scan at a time (R-GRAPH-5).
    scans: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for GraphConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConnector")
            .field("mailbox", &self.inner.config.mailbox)
            .field("base_url", &self.inner.config.base_url)
            .finish_non_exhaustive()
    }
}

impl GraphConnector {
    /// A connector with the real clock.
    pub fn new(config: GraphConfig) -> Result<Self, GraphError> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A connector whose token expiry and `Retry-After` waits follow `clock`.
    pub fn with_clock(config: GraphConfig, clock: Arc<dyn Clock>) -> Result<Self, GraphError> {
        Self::build(config, clock, Reach::Any, None)
    }

    /// A connector signed in on a user's behalf (`auth = "device-code"`,
    /// R-GRAPH-32): access tokens come from `vault`'s refresh token.
    pub fn delegated(
        config: GraphConfig,
        clock: Arc<dyn Clock>,
        vault: Arc<dyn TokenVault>,
    ) -> Result<Self, GraphError> {
        Self::build(config, clock, Reach::Any, Some(vault))
    }

    /// A connector with the real clock that connects only where `reach`
    /// allows (R-SEC-1): token endpoint and API, every request.
    pub fn with_reach(config: GraphConfig, reach: Reach) -> Result<Self, GraphError> {
        Self::build(config, Arc::new(SystemClock), reach, None)
    }

    /// As the profile factory opens it: the real clock, `reach`, and the
    /// profile's token vault (needed by a delegated profile only).
    pub fn open_with(
        config: GraphConfig,
        reach: Reach,
        vault: Option<Arc<dyn TokenVault>>,
    ) -> Result<Self, GraphError> {
        Self::build(config, Arc::new(SystemClock), reach, vault)
    }

    fn build(
        config: GraphConfig,
        clock: Arc<dyn Clock>,
        reach: Reach,
        vault: Option<Arc<dyn TokenVault>>,
    ) -> Result<Self, GraphError> {
        config.validate()?;
        // Without a place to keep its sign-in (no database) a delegated
        // profile cannot run: said at open, not at the first request.
        if config.auth == GraphAuth::DeviceCode && vault.is_none() {
            return Err(crate::delegated::not_signed_in(None));
        }
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            // The oauth2 crate asks for no redirects on token requests (SSRF),
            // and Graph answers without them.
            .redirect(reqwest::redirect::Policy::none());
        let client = crate::reach::limit(builder, &reach).build()?;
        let tokens = TokenSource::new(
            &config,
            config.credential()?,
            client.clone(),
            clock.clone(),
            reach.clone(),
            vault,
        );
        let http = GraphHttp::new(
            client,
            tokens,
            clock.clone(),
            config.concurrency,
            config.max_retries,
            reach,
        );
        let creates = CreateQueue::new(config.concurrency);
        Ok(GraphConnector {
            inner: Arc::new(Inner {
                http,
                config,
                clock,
                known: KnownUids::default(),
                creates,
                scans: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Requests this connector keeps in flight at most (for the runner's write concurrency).
    pub fn concurrency(&self) -> usize {
        self.inner.config.concurrency
    }

    /// Item writes worth keeping in flight (the runner's write concurrency):
    /// what `concurrency` batches of 20 creates carry (R-GRAPH-17).
    pub fn writes_in_flight(&self) -> usize {
        self.inner.config.writes_in_flight()
    }

    pub(crate) fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    pub(crate) fn http(&self) -> &GraphHttp {
        &self.inner.http
    }

    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.inner.clock.now()
    }
}

impl Inner {
    fn url(&self, path: &str) -> String {
        format!(
            "{}/users/{}/{path}",
            self.config.base_url.trim_end_matches('/'),
            segment(&self.config.mailbox)
        )
    }

    /// POSTs a JSON `body` to `path` (relative to the mailbox); the created entity.
    async fn post(&self, path: &str, body: &str) -> Result<Value, GraphError> {
        let url = self.url(path);
        self.http
            .json(&Call {
                method: Method::POST,
                url: &url,
                if_match: None,
                body: Some(body.as_bytes()),
            })
            .await
    }

    /// Every folder of `resource`, following `@odata.nextLink`.
    async fn folders(&self, resource: Resource) -> Result<Vec<Collection>, GraphError> {
        let mut out = Vec::new();
        let mut url = self.url(resource.folders_path());
        loop {
            let page = self.http.json(&Call::get(&url)).await?;
            for f in page["value"].as_array().map(Vec::as_slice).unwrap_or_default() {
                out.push(collection(resource, f)?);
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return Ok(out),
            }
        }
    }

    /// The URL a new delta round starts at; events ask for the calendar window (R-CAL-1).
    fn first_delta_link(&self, folder: &Folder) -> String {
        let url = self.url(&folder.delta_path());
        if folder.resource != Resource::Events {
            return url;
        }
        let now: DateTime<Utc> = self.clock.now().into();
        let day = chrono::Duration::days(1);
        let from = now - day * i32::try_from(self.config.calendar_past_days).unwrap_or(i32::MAX);
        let to = now + day * i32::try_from(self.config.calendar_future_days).unwrap_or(i32::MAX);
        let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        format!("{url}?startDateTime={}&endDateTime={}", fmt(from), fmt(to))
    }

    /// A round from `link`; a token the server dropped starts a full one.
    async fn changes(&self, folder: &Folder, since: Option<&SyncToken>) -> Result<ChangeSet, GraphError> {
        // Only a deltaLink of this endpoint is a token; anything else (another
        // connector's token, garbage) gets a complete listing.
        let ours = since.filter(|t| t.as_str().starts_with(self.config.base_url.trim_end_matches('/')));
        if let Some(token) = ours {
            match delta::run(&self.http, token.as_str()).await {
                Ok(round) => return self.change_set(folder, round, false).await,
                Err(e) if e.is_sync_reset() => {
                    tracing::info!(
                        folder = folder.id,
                        "Graph dropped the delta token; listing the folder again"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        let round = delta::run(&self.http, &self.first_delta_link(folder)).await?;
        self.change_set(folder, round, true).await
    }

    /// A round's change set, and what it tells about the folder's UIDs (R-GRAPH-5).
    async fn change_set(&self, folder: &Folder, round: DeltaRound, complete: bool) -> Result<ChangeSet, GraphError> {
        let set = self.read_round(folder, round, complete).await?;
        if complete && folder.resource == Resource::Events {
            self.known.listed_window(&folder.id);
        } else {
            self.known
                .listed(&folder.id, complete, set.changed.iter().map(|m| m.href.as_str()));
        }
        Ok(set)
    }

    async fn read_round(
        &self,
        folder: &Folder,
        mut round: DeltaRound,
        complete: bool,
    ) -> Result<ChangeSet, GraphError> {
        // A series shows up as its occurrences; the item crmsync syncs is the
        // master, whose etag is its own.
        for master in std::mem::take(&mut round.series) {
            match self.etag_of(folder, &master).await {
                Ok(etag) => {
                    round.changed.insert(master, etag);
                }
                Err(e) if e.status() == Some(404) => {
                    round.changed.remove(&master);
                }
                Err(e) => return Err(e),
            }
        }
        let mut deleted = Vec::new();
        if !complete {
            for id in round.removed {
                // calendarView's @removed also covers events that only left
                // the window; those still exist and must not be taken for
                // deleted (R-CAL-1).
                if folder.resource == Resource::Events {
                    match self.etag_of(folder, &id).await {
                        Ok(_) => continue,
                        Err(e) if e.status() == Some(404) => {}
                        Err(e) => return Err(e),
                    }
                }
                deleted.push(Href::new(id));
            }
        }
        Ok(ChangeSet {
            changed: round
                .changed
                .into_iter()
                .map(|(id, etag)| ItemMeta {
                    href: Href::new(id),
                    etag: Etag::new(etag),
                })
                .collect(),
            deleted,
            new_token: SyncToken::new(round.delta_link),
            complete,
        })
    }

    async fn etag_of(&self, folder: &Folder, id: &str) -> Result<String, GraphError> {
        let url = format!("{}?$select=id", self.url(&folder.item_path(&Href::new(id))));
        let item = self.http.json(&Call::get(&url)).await?;
        etag(&item)
    }

    async fn get(&self, folder: &Folder, href: &Href) -> Result<FetchedItem, GraphError> {
        let item_url = self.url(&folder.item_path(href));
        let url = format!("{item_url}?$expand={}", folder.expand());
        let mut body = self.http.send(&Call::get(&url)).await?;
        if folder.resource == Resource::Events {
            body = series::with_occurrences(&self.http, &item_url, body).await?;
        }
        let item: Value = serde_json::from_slice(&body)
            .map_err(|e| GraphError::InvalidResponse(format!("item {href} is not JSON: {e}")))?;
        self.known
            .read(&folder.id, href.as_str(), uid::read(folder.resource, &item).as_deref());
        Ok(FetchedItem {
            href: href.clone(),
            etag: Etag::new(etag(&item)?),
            body,
        })
    }

    /// After a complete listing of a calendar, the first create that needs
    /// it reads crmsync's UID of every event, in or out of the window
    /// (R-GRAPH-5), once; the other creates wait for it.
    async fn scan_if_wanted(&self, folder: &Folder) -> Result<(), GraphError> {
        if !self.known.scan_wanted(&folder.id) {
            return Ok(());
        }
        let _one_scan = self.scans.lock().await;
        if !self.known.scan_wanted(&folder.id) {
            return Ok(());
        }
        // https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get
        let expand = format!("singleValueExtendedProperties($filter=id eq '{}')", uid::UID_PROPERTY);
        let first = reqwest::Url::parse_with_params(
            &self.url(&folder.items_path()),
            [("$select", "id"), ("$expand", expand.as_str()), ("$top", "500")],
        )
        .map_err(|e| GraphError::InvalidResponse(e.to_string()))?;
        let mut url = first.to_string();
        let mut uids = Vec::new();
        for _ in 0..100_000 {
            let page = match self.http.json(&Call::get(&url)).await {
                Ok(page) => page,
                Err(e) => {
                    self.known.scan_failed(&folder.id);
                    return Err(e);
                }
            };
            for item in page["value"].as_array().map(Vec::as_slice).unwrap_or_default() {
                uids.extend(uid::read(folder.resource, item));
            }
            match page["@odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => {
                    self.known.scanned(&folder.id, uids.iter().map(String::as_str));
                    return Ok(());
                }
            }
        }
        Err(GraphError::InvalidResponse(
            "a folder listing of more than 100,000 pages".into(),
        ))
    }

    /// Writes a series' wanted exceptions and cancellations to its
    /// instances (R-GRAPH-20); the master's etag after them (Exchange keeps
    /// exceptions on the master, so writing one moves it).
    async fn apply_occurrences(
        &self,
        folder: &Folder,
        href: &Href,
        wanted: &series::Wanted,
    ) -> Result<String, GraphError> {
        let item_url = self.url(&folder.item_path(href));
        series::apply(&self.http, &self.url(&folder.items_path()), &item_url, wanted).await?;
        self.etag_of(folder, href.as_str()).await
    }

    /// The id of an item of `folder` that already carries `uid`, if any.
    pub(crate) async fn find_by_uid(&self, folder: &Folder, uid: &str) -> Result<Option<String>, GraphError> {
        if folder.resource == Resource::Tasks {
            // Open extensions cannot be filtered on; a task created twice
            // after a lost reply is paired by UID at the next listing instead.
            return Ok(None);
        }
        let url = reqwest::Url::parse_with_params(
            &self.url(&folder.items_path()),
            [("$filter", uid::filter(uid).as_str()), ("$select", "id")],
        )
        .map_err(|e| GraphError::InvalidResponse(e.to_string()))?;
        let found = self.http.json(&Call::get(url.as_str())).await?;
        Ok(found["value"]
            .as_array()
            .and_then(|v| v.first())
            .and_then(|i| i["id"].as_str())
            .map(str::to_string))
    }
}

fn etag(item: &Value) -> Result<String, GraphError> {
    item["@odata.etag"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| GraphError::InvalidResponse("an item without @odata.etag".into()))
}

fn collection(resource: Resource, folder: &Value) -> Result<Collection, GraphError> {
    let id = folder["id"]
        .as_str()
        .ok_or_else(|| GraphError::InvalidResponse("a folder without id".into()))?;
    Ok(Collection {
        id: Folder {
            resource,
            id: id.to_string(),
        }
        .collection_id(),
        display_name: folder[resource.name_key()].as_str().unwrap_or_default().to_string(),
        kind: resource.kind(),
        content_type: ContentType::GraphJson,
        vcard_version: None,
    })
}

fn json_body(body: &[u8]) -> Result<Value, ConnectorError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(ConnectorError::Unsupported {
            what: "an item body that is not a Graph JSON object".into(),
        }),
    }
}

#[async_trait]
impl Connector for GraphConnector {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        let mut all = Vec::new();
        for resource in Resource::ALL {
            all.extend(self.inner.folders(resource).await?);
        }
        Ok(all)
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        let resource = Resource::for_kind(kind).ok_or_else(|| ConnectorError::Unsupported {
            what: "a Graph folder holding both events and tasks".into(),
        })?;
        let existing = self.inner.folders(resource).await?;
        if let Some(found) = existing.into_iter().find(|c| c.display_name == name) {
            return Ok(found);
        }
        let body = json!({ resource.name_key(): name }).to_string();
        let created = self.inner.post(resource.folders_path(), &body).await?;
        Ok(collection(resource, &created)?)
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        let folder = Folder::parse(collection)?;
        Ok(self.inner.changes(&folder, since).await?)
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        let folder = Folder::parse(collection)?;
        let mut tasks = tokio::task::JoinSet::new();
        for (i, href) in hrefs.iter().enumerate() {
            let (inner, folder, href) = (self.inner.clone(), folder.clone(), href.clone());
            // The connector's own slots (at most `concurrency` requests) pace these.
            tasks.spawn(async move {
                let result = inner.get(&folder, &href).await;
                (i, href, result)
            });
        }
        let mut results = Vec::with_capacity(hrefs.len());
        while let Some(joined) = tasks.join_next().await {
            results.push(joined.map_err(|e| ConnectorError::InvalidResponse {
                detail: format!("a fetch task failed: {e}"),
            })?);
        }
        results.sort_by_key(|(i, _, _)| *i);
        let mut fetched = Fetched::default();
        for (_, href, result) in results {
            match result {
                Ok(item) => fetched.found.push(item),
                Err(e) if e.status() == Some(404) => {
                    // Gone: it holds no UID any more (R-GRAPH-5).
                    self.inner.known.read(&folder.id, href.as_str(), None);
                    fetched.missing.push(href);
                }
                Err(e) => fetched.failed.push(ItemFailure { href, error: e.into() }),
            }
        }
        Ok(fetched)
    }

    async fn create(
        &self,
        collection: &CollectionId,
        suggested_name: &str,
        body: &[u8],
    ) -> Result<ItemMeta, ConnectorError> {
        let folder = Folder::parse(collection)?;
        let mut item = json_body(body)?;
        // R-GRAPH-5, R-SAFE-2: no second item with this UID. Where this
        // pass's complete listing (and this connector's own creates since)
        // proves the UID absent, nothing is asked; else Graph is asked with
        // `$filter` (known_uids.rs says why that is safe).
        self.inner.scan_if_wanted(&folder).await?;
        if !self.inner.known.surely_absent(&folder.id, suggested_name)
            && let Some(id) = self.inner.find_by_uid(&folder, suggested_name).await?
        {
            return Err(ConnectorError::AlreadyExists { href: Href::new(id) });
        }
        uid::inject(folder.resource, &mut item, suggested_name);
        let occurrences = series::take(&mut item);
        // R-GRAPH-17: the POST rides in a `$batch` with other creates.
        let created = batch::create(&self.inner, folder.clone(), suggested_name.to_string(), item).await?;
        let id = created["id"].as_str().ok_or_else(|| ConnectorError::InvalidResponse {
            detail: "a created item without id".into(),
        })?;
        let href = Href::new(id);
        let etag = match occurrences {
            Some(wanted) if !wanted.is_plain() => self.inner.apply_occurrences(&folder, &href, &wanted).await?,
            _ => etag(&created)?,
        };
        Ok(ItemMeta {
            href,
            etag: Etag::new(etag),
        })
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        let folder = Folder::parse(collection)?;
        let mut item = json_body(body)?;
        let occurrences = series::take(&mut item);
        let body = match occurrences {
            Some(_) => item.to_string().into_bytes(),
            None => body.to_vec(),
        };
        let url = self.inner.url(&folder.item_path(href));
        let updated = self
            .inner
            .http
            .json(&Call {
                method: Method::PATCH,
                url: &url,
                if_match: Some(expected),
                body: Some(&body),
            })
            .await
            .map_err(|e| e.for_item(href))?;
        match occurrences {
            // A 412 of an instance is the series' conflict (R-GRAPH-40).
            Some(wanted) => Ok(Etag::new(
                self.inner
                    .apply_occurrences(&folder, href, &wanted)
                    .await
                    .map_err(|e| match e.status() {
                        Some(412) => ConnectorError::PreconditionFailed { href: href.clone() },
                        _ => e.into(),
                    })?,
            )),
            None => Ok(Etag::new(etag(&updated)?)),
        }
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        let folder = Folder::parse(collection)?;
        let url = self.inner.url(&folder.item_path(href));
        self.inner
            .http
            .send(&Call {
                method: Method::DELETE,
                url: &url,
                if_match: Some(expected),
                body: None,
            })
            .await
            .map_err(|e| e.for_item(href))?;
        Ok(())
    }
}
