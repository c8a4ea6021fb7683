//! A CRM (SQLite store in a temp folder, one user) with a sync profile onto a
//! real DAV server, plus the independent clients that edit the server behind
//! crmsync's back: plain HTTP, the `caldav` Python package and vdirsyncer.
#![allow(dead_code)]

pub mod peer;
pub mod python;

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use crmsync_connector::{Collection, Connector, FetchedItem};
use crmsync_dav::DavConnector;
use crmsync_model::{Activity, ActivityFields, ActivityKind, Actor, Contact};
use crmsync_store::Store;
use crmsync_sync::{RunOptions, RunReport, SyncProfile, run_profile};
use tempfile::TempDir;

pub use crate::common::{applied, writes};
use crate::common::{contact_fields, crm_with_alice, meeting_fields};
pub use crmsync_testkit::Raw;
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates};
pub use peer::{PASSWORD, Peer, PeerKind, USER};

/// One CRM and its profile onto a peer's account.
pub struct DavWorld {
    pub dir: TempDir,
    pub store: Store,
    pub actor: Actor,
    pub profile: SyncProfile,
    /// The same account as the profile's, for looking at the server.
    pub dav: DavConnector,
    /// The clock runs use. Fixed at creation (whole seconds, as iCalendar
    /// keeps them), so "planned" and the calendar window do not move while a
    /// test runs; tests move it on purpose.
    pub now: DateTime<Utc>,
}

/// A world on a fresh `kind` server whose profile reaches it through a
/// fault proxy that injects nothing (there to count or hold requests).
pub async fn behind_proxy(kind: PeerKind) -> (Peer, FaultProxy, DavWorld) {
    let peer = Peer::start(kind);
    let proxy = FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::none(), 1))
        .await
        .unwrap();
    let mut w = DavWorld::new(&peer).await;
    w.profile = w.profile_via(&peer, &proxy);
    (peer, proxy, w)
}

impl DavWorld {
    /// A profile with a new connector (as a new process gets) onto `peer`
    /// through `proxy`.
    pub fn profile_via(&self, peer: &Peer, proxy: &FaultProxy) -> SyncProfile {
        let config = crmsync_dav::DavConfig {
            url: proxy.url(),
            ..peer.config()
        };
        SyncProfile::new(
            "alice",
            self.actor.clone(),
            crmsync_engine::Profile::new(&self.actor.user_id),
            Arc::new(DavConnector::new(&config).unwrap()),
        )
    }

    pub async fn new(peer: &Peer) -> DavWorld {
        let dir = tempfile::tempdir().unwrap();
        let (store, actor) = crm_with_alice(&format!("sqlite://{}", dir.path().join("crm.db").display())).await;
        let connector = DavConnector::new(&peer.config()).expect("connector");
        let profile = SyncProfile::new(
            "alice",
            actor.clone(),
            crmsync_engine::Profile::new(&actor.user_id),
            Arc::new(connector),
        );
        DavWorld {
            dir,
            store,
            actor,
            profile,
            dav: DavConnector::new(&peer.config()).unwrap(),
            now: Utc::now().trunc_subsecs(0),
        }
    }

    pub fn options(&self) -> RunOptions<'static> {
        RunOptions {
            now: Some(self.now),
            ..RunOptions::default()
        }
    }

    pub async fn sync(&self) -> RunReport {
        run_profile(&self.store, &self.profile, &self.options())
            .await
            .unwrap_or_else(|e| panic!("sync failed: {e}"))
    }

    pub async fn contact(&self, first: &str, last: &str, email: &str) -> Contact {
        let fields = contact_fields(first, last, email);
        self.store.records().create(&self.actor.user_id, fields).await.unwrap()
    }

    /// An appointment the user organises, `start_in_days` from `now`, one hour long.
    pub fn meeting_fields(&self, subject: &str, start_in_days: i64) -> ActivityFields {
        meeting_fields(&self.actor.user_id, subject, self.now + Duration::days(start_in_days))
    }

    pub async fn meeting(&self, subject: &str, start_in_days: i64) -> Activity {
        let a = self.meeting_fields(subject, start_in_days);
        self.store.records().create(&self.actor.user_id, a).await.unwrap()
    }

    pub async fn task(&self, kind: ActivityKind, subject: &str) -> Activity {
        let mut a = ActivityFields::new(kind, subject);
        a.due = Some(self.now + Duration::days(3));
        self.store.records().create(&self.actor.user_id, a).await.unwrap()
    }

    /// The server collection the runner uses for `name` (`contacts`, `calendar`, `tasks`).
    pub async fn collection(&self, name: &str) -> Collection {
        self.dav
            .discover()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.id.as_str().trim_end_matches('/').ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("no collection {name} on the server"))
    }

    /// Every item of a server collection, as stored there.
    pub async fn items(&self, name: &str) -> Vec<FetchedItem> {
        let c = self.collection(name).await;
        let listing = self.dav.changes(&c.id, None).await.unwrap();
        let hrefs: Vec<_> = listing.changed.into_iter().map(|m| m.href).collect();
        let mut found = self.dav.get_many(&c.id, &hrefs).await.unwrap().found;
        found.sort_by(|a, b| a.href.cmp(&b.href));
        found
    }

    /// The item of a collection whose body contains `needle`.
    pub async fn item_with(&self, name: &str, needle: &str) -> FetchedItem {
        let items = self.items(name).await;
        items
            .into_iter()
            .find(|i| text(i).contains(needle))
            .unwrap_or_else(|| panic!("no item with {needle:?} in {name}"))
    }

    /// Absolute server path of an item.
    pub async fn path_of(&self, name: &str, item: &FetchedItem) -> String {
        format!("{}{}", self.collection(name).await.id.as_str(), item.href.as_str())
    }

    pub async fn activities(&self) -> Vec<Activity> {
        self.store
            .records()
            .activities_for_user(&self.actor.user_id)
            .await
            .unwrap()
    }

    pub async fn activity_named(&self, subject: &str) -> Option<Activity> {
        self.activities()
            .await
            .into_iter()
            .find(|a| a.fields.subject == subject)
    }
}

pub fn text(item: &FetchedItem) -> String {
    String::from_utf8_lossy(&item.body).into_owned()
}

/// Plain HTTP against the peer: an independent client with no crmsync code.
pub struct Http(Raw);

impl Http {
    pub fn new(peer: &Peer) -> Http {
        Http(peer.raw())
    }

    /// Sends a request to an absolute server path; returns status and ETag.
    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Option<String>) {
        let reply = self.0.send(method, path, headers, body).await;
        (reply.status, reply.header("etag"))
    }

    /// Writes a card back as a CardDAV client does: a PUT conditional on the
    /// ETag it read. Returns the status.
    pub async fn put_card(&self, path: &str, etag: &str, body: &str) -> u16 {
        let headers = [("Content-Type", "text/vcard"), ("If-Match", etag)];
        self.send("PUT", path, &headers, body.as_bytes()).await.0
    }
}
