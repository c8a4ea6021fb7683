//! A reference connector that keeps everything in memory.
//!
//! It is the groupware model the engine's model-based property test runs
//! against (the SPEC allows that as a specification, not as a stand-in for a
//! real server in integration tests). It behaves like a strict server: every
//! write yields a new ETag, writes are conditional, `changes` answers real deltas
//! from a change log. On top it offers fault injection ([`Op`], [`Fault`]) and an
//! "independent client" that edits items behind the sync's back.

mod fault;
mod store;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

pub use fault::{Fault, Op};

use self::fault::{Decision, FaultPlan, lost_reply};
use self::store::{MemCollection, StoredItem, href_for};
use crate::{
    ChangeSet, Collection, CollectionId, CollectionKind, Connector, ConnectorError, Etag, Fetched, FetchedItem, Href,
    ItemMeta, SyncToken, VCardVersion,
};

/// Makes every instance's sync tokens distinct (see `MemCollection::epoch`).
static NEXT_EPOCH: AtomicU64 = AtomicU64::new(1);

struct State {
    collections: BTreeMap<CollectionId, MemCollection>,
    next_etag: u64,
    faults: FaultPlan,
    allow_collection_creation: bool,
}

impl State {
    fn collection(&mut self, id: &CollectionId) -> Result<&mut MemCollection, ConnectorError> {
        self.collections.get_mut(id).ok_or_else(|| ConnectorError::NotFound {
            what: format!("collection {id}"),
        })
    }

    fn fresh_etag(&mut self) -> Etag {
        self.next_etag += 1;
        Etag::new(format!("\"m{}\"", self.next_etag))
    }
}

/// The in-memory connector. Cheap to create; share it behind an `Arc`.
pub struct MemoryConnector {
    state: Mutex<State>,
}

impl Default for MemoryConnector {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryConnector {
    /// An empty mailbox that allows `ensure_collection` to create collections.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                collections: BTreeMap::new(),
                next_etag: 0,
                faults: FaultPlan::default(),
                allow_collection_creation: true,
            }),
        }
    }

    /// Adds (or replaces) an empty collection of `kind` called `id`.
    pub fn add_collection(&self, kind: CollectionKind, id: &str) -> CollectionId {
        let info = collection_info(kind, id);
        let id = info.id.clone();
        let epoch = NEXT_EPOCH.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .collections
            .insert(id.clone(), MemCollection::new(info, epoch));
        id
    }

    /// Whether `ensure_collection` may create missing collections (servers and
    /// accounts differ); when not, it fails with `Unsupported`.
    pub fn set_allow_collection_creation(&self, allowed: bool) {
        self.lock().allow_collection_creation = allowed;
    }

    // ----- fault injection -----

    /// The next `times` calls of `op` fail with `fault` without doing anything.
    pub fn fail_next(&self, op: Op, times: u32, fault: Fault) {
        self.lock().faults.fail_next(op, times, fault);
    }

    /// The next `times` writes of `op` are applied, then reported as a timeout,
    /// as when a server or the connection dies before the reply arrives.
    pub fn lose_reply_next(&self, op: Op, times: u32) {
        self.lock().faults.lose_reply_next(op, times);
    }

    /// How many times `op` was called (including failed calls).
    pub fn calls(&self, op: Op) -> u64 {
        self.lock().faults.calls(op)
    }

    /// Makes every sync token handed out so far for `collection` expire.
    pub fn expire_tokens(&self, collection: &CollectionId) {
        if let Some(c) = self.lock().collections.get_mut(collection) {
            c.expire_tokens();
        }
    }

    // ----- an independent client editing behind the sync's back -----

    /// Creates or overwrites `href` unconditionally, as another client would.
    pub fn external_put(&self, collection: &CollectionId, href: &Href, body: &[u8]) -> Result<Etag, ConnectorError> {
        let mut state = self.lock();
        let etag = state.fresh_etag();
        let c = state.collection(collection)?;
        store_item(c, href, etag.clone(), body);
        Ok(etag)
    }

    /// Deletes `href` unconditionally; returns whether it existed.
    pub fn external_delete(&self, collection: &CollectionId, href: &Href) -> Result<bool, ConnectorError> {
        let mut state = self.lock();
        let c = state.collection(collection)?;
        let existed = c.items.remove(href).is_some();
        if existed {
            c.touch(href);
        }
        Ok(existed)
    }

    /// The item's current ETag and body, without counting as a connector call.
    pub fn peek(&self, collection: &CollectionId, href: &Href) -> Option<(Etag, Vec<u8>)> {
        let state = self.lock();
        let item = state.collections.get(collection)?.items.get(href)?;
        Some((item.etag.clone(), item.body.clone()))
    }

    /// Every href in the collection, sorted.
    pub fn hrefs(&self, collection: &CollectionId) -> Vec<Href> {
        self.lock()
            .collections
            .get(collection)
            .map(|c| c.items.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another test thread must not hide this connector's state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the call and applies a pending "fail before" fault. Returns whether
    /// the reply of this (write) call must be lost after applying it.
    fn enter(state: &mut State, op: Op) -> Result<bool, ConnectorError> {
        match state.faults.decide(op) {
            Decision::Proceed => Ok(false),
            Decision::FailBefore(e) => Err(e),
            Decision::LoseReply => Ok(true),
        }
    }
}

fn collection_info(kind: CollectionKind, id: &str) -> Collection {
    Collection {
        id: CollectionId::new(id),
        display_name: id.to_owned(),
        kind,
        content_type: kind.content_type(),
        vcard_version: (kind == CollectionKind::Contacts).then_some(VCardVersion::V4),
    }
}

fn store_item(c: &mut MemCollection, href: &Href, etag: Etag, body: &[u8]) {
    c.items.insert(
        href.clone(),
        StoredItem {
            etag,
            body: body.to_vec(),
        },
    );
    c.touch(href);
}

/// Turns a successful write into a lost reply when the fault plan says so.
fn reply<T>(lose: bool, op: Op, value: T) -> Result<T, ConnectorError> {
    if lose { Err(lost_reply(op)) } else { Ok(value) }
}

#[async_trait]
impl Connector for MemoryConnector {
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        let mut state = self.lock();
        Self::enter(&mut state, Op::Discover)?;
        Ok(state.collections.values().map(|c| c.info.clone()).collect())
    }

    async fn ensure_collection(&self, kind: CollectionKind, name: &str) -> Result<Collection, ConnectorError> {
        let mut state = self.lock();
        let lose = Self::enter(&mut state, Op::EnsureCollection)?;
        let id = CollectionId::new(name);
        if let Some(existing) = state.collections.get(&id) {
            let found = existing.info.kind;
            if !found.serves(kind) {
                return Err(ConnectorError::KindMismatch {
                    collection: name.to_owned(),
                    found,
                    wanted: kind,
                });
            }
            return reply(lose, Op::EnsureCollection, existing.info.clone());
        }
        if !state.allow_collection_creation {
            return Err(ConnectorError::Unsupported {
                what: format!("creating collection {name}"),
            });
        }
        let info = collection_info(kind, name);
        let epoch = NEXT_EPOCH.fetch_add(1, Ordering::Relaxed);
        state.collections.insert(id, MemCollection::new(info.clone(), epoch));
        reply(lose, Op::EnsureCollection, info)
    }

    async fn changes(&self, collection: &CollectionId, since: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        let mut state = self.lock();
        Self::enter(&mut state, Op::Changes)?;
        Ok(state.collection(collection)?.changes(since))
    }

    async fn get_many(&self, collection: &CollectionId, hrefs: &[Href]) -> Result<Fetched, ConnectorError> {
        let mut state = self.lock();
        Self::enter(&mut state, Op::GetMany)?;
        let c = state.collection(collection)?;
        let mut fetched = Fetched::default();
        for href in hrefs {
            match c.items.get(href) {
                Some(item) => fetched.found.push(FetchedItem {
                    href: href.clone(),
                    etag: item.etag.clone(),
                    body: item.body.clone(),
                }),
                None => fetched.missing.push(href.clone()),
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
        let mut state = self.lock();
        let lose = Self::enter(&mut state, Op::Create)?;
        let etag = state.fresh_etag();
        let c = state.collection(collection)?;
        let href = href_for(suggested_name, c.info.content_type.file_extension());
        if c.items.contains_key(&href) {
            return Err(ConnectorError::AlreadyExists { href });
        }
        store_item(c, &href, etag.clone(), body);
        reply(lose, Op::Create, ItemMeta { href, etag })
    }

    async fn update(
        &self,
        collection: &CollectionId,
        href: &Href,
        expected: &Etag,
        body: &[u8],
    ) -> Result<Etag, ConnectorError> {
        let mut state = self.lock();
        let lose = Self::enter(&mut state, Op::Update)?;
        let etag = state.fresh_etag();
        let c = state.collection(collection)?;
        let current = c.items.get(href).ok_or_else(|| ConnectorError::NotFound {
            what: format!("{collection}/{href}"),
        })?;
        if &current.etag != expected {
            return Err(ConnectorError::PreconditionFailed { href: href.clone() });
        }
        store_item(c, href, etag.clone(), body);
        reply(lose, Op::Update, etag)
    }

    async fn delete(&self, collection: &CollectionId, href: &Href, expected: &Etag) -> Result<(), ConnectorError> {
        let mut state = self.lock();
        let lose = Self::enter(&mut state, Op::Delete)?;
        let c = state.collection(collection)?;
        let current = c.items.get(href).ok_or_else(|| ConnectorError::NotFound {
            what: format!("{collection}/{href}"),
        })?;
        if &current.etag != expected {
            return Err(ConnectorError::PreconditionFailed { href: href.clone() });
        }
        c.items.remove(href);
        c.touch(href);
        reply(lose, Op::Delete, ())
    }
}
