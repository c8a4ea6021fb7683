//! Shared set-up for the runner's proofs against the in-memory groupware
//! (`MemoryConnector`, the engine's specification model) or the testkit's
//! Graph test server (`graph_side`): an in-memory SQLite CRM, one user, a
//! profile, an "independent client" that edits the mailbox behind the sync's
//! back, and the end-state checks every proof shares (both sides agree, no
//! duplicates).
#![allow(dead_code)]

mod graph_side;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::common::crm_with_alice;
pub use crate::common::{applied, writes};
use chrono::{DateTime, Duration, TimeZone, Utc};
use crmsync_connector::memory::MemoryConnector;
use crmsync_connector::{CollectionId, CollectionKind, Connector, Href};
use crmsync_engine::ConflictPolicy;
use crmsync_mapping::{
    CardVersion, EmailOnlyDirectory, IcalContext, activity_to_fields, contact_to_fields, fields_to_activity,
    fields_to_contact, graph_comparable, parse_ical, parse_vcard, render_ical, render_vcard,
};
use crmsync_model::fields::keys;
use crmsync_model::{ActivityFields, ActivityKind, Actor, ContactFields, FieldMap};
use crmsync_store::status::PairRow;
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::{CrashPoint, Faults, RunOptions, RunReport, SyncError, SyncProfile, run_profile};
use crmsync_testkit::GraphServer;
use graph_side::GraphSide;

pub const PROFILE: &str = "alice";

/// A fixed "now": planned/completed and the calendar window must not depend
/// on when the test runs.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

/// The three kinds of record the proofs move between the sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Contact,
    Task,
    Event,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Contact, Kind::Task, Kind::Event];

    /// The groupware collection (and status-store collection) of the kind.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::Contact => "contacts",
            Kind::Task => "tasks",
            Kind::Event => "calendar",
        }
    }

    pub fn collection_id(self) -> CollectionId {
        CollectionId::new(self.collection())
    }

    pub(crate) fn collection_kind(self) -> CollectionKind {
        match self {
            Kind::Contact => CollectionKind::Contacts,
            Kind::Task => CollectionKind::Tasks,
            Kind::Event => CollectionKind::Events,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Kind::Contact => "vcf",
            _ => "ics",
        }
    }
}

/// A CRM record as both proofs compare it: its kind and canonical fields.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmView {
    pub kind: Kind,
    pub fields: FieldMap,
}

/// A groupware item as read back by an independent client.
#[derive(Debug, Clone, PartialEq)]
pub struct GwView {
    pub kind: Kind,
    pub uid: String,
    pub fields: FieldMap,
    pub body: String,
}

/// Everything both sides and the status store hold, read once.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// CRM id → record.
    pub crm: BTreeMap<String, CrmView>,
    /// href → item (hrefs are unique across the three collections here,
    /// since contacts end in .vcf and the calendars use distinct UIDs).
    pub gw: BTreeMap<(Kind, String), GwView>,
    pub pairs: BTreeMap<Kind, Vec<PairRow>>,
    /// (crm id, href) → conflicting field keys still open.
    pub conflict_keys: BTreeMap<(String, String), BTreeSet<String>>,
    /// The duplicates reports' text, per collection (R-PAIR-2).
    pub duplicates: String,
    /// The mailbox is Graph: a CRM record is compared with its item only on
    /// what a Graph item can hold (R-GRAPH-7).
    pub graph: bool,
}

impl Snapshot {
    pub fn live_pairs(&self) -> impl Iterator<Item = (Kind, &PairRow)> {
        self.pairs
            .iter()
            .flat_map(|(k, ps)| ps.iter().map(move |p| (*k, p)))
            .filter(|(_, p)| p.state == crmsync_engine::PairState::Live)
    }

    pub fn pair_of_crm(&self, kind: Kind, crm_id: &str) -> Option<&PairRow> {
        self.pairs.get(&kind)?.iter().find(|p| p.crm_id == crm_id)
    }

    pub fn pair_of_href(&self, kind: Kind, href: &str) -> Option<&PairRow> {
        self.pairs.get(&kind)?.iter().find(|p| p.href == href)
    }

    pub fn items_of(&self, kind: Kind) -> impl Iterator<Item = (&String, &GwView)> {
        self.gw
            .iter()
            .filter(move |((k, _), _)| *k == kind)
            .map(|((_, h), v)| (h, v))
    }
}

pub struct MemWorld {
    pub store: Store,
    pub actor: Actor,
    /// The mailbox, for the independent client and fault injection (unused
    /// when `graph` is set).
    pub mailbox: Arc<MemoryConnector>,
    /// The Graph test server the profile syncs with instead, if any.
    graph: Option<GraphSide>,
    pub profile: SyncProfile,
    /// Counts items the independent client created, for unique UIDs.
    next_external: u32,
}

impl MemWorld {
    /// A world whose profile syncs straight into the in-memory mailbox.
    pub async fn new(policy: ConflictPolicy) -> MemWorld {
        let mailbox = Arc::new(MemoryConnector::new());
        let connector: Arc<dyn Connector> = mailbox.clone();
        MemWorld::with_connector(policy, mailbox, connector).await
    }

    /// A world whose profile reaches `mailbox` through `connector` (a wrapper
    /// that injects behaviour); the independent client edits `mailbox`.
    pub async fn with_connector(
        policy: ConflictPolicy,
        mailbox: Arc<MemoryConnector>,
        connector: Arc<dyn Connector>,
    ) -> MemWorld {
        let (store, actor) = crm_with_alice("sqlite::memory:").await;
        // The collections exist before the first sync so the independent
        // client can create items in them from the start.
        for kind in Kind::ALL {
            mailbox.add_collection(kind.collection_kind(), kind.collection());
        }
        let mut rules = crmsync_engine::Profile::new(&actor.user_id);
        for kind in Kind::ALL {
            rules.entity_mut(class_of(kind)).conflict = policy;
        }
        let profile = SyncProfile::new(PROFILE, actor.clone(), rules, connector);
        MemWorld {
            store,
            actor,
            mailbox,
            graph: None,
            profile,
            next_external: 0,
        }
    }

    /// A world whose profile reaches the Graph test server `server` through
    /// `connector` (a Graph connector, possibly wrapped); the independent
    /// client edits the server's mailbox as Outlook would.
    pub async fn with_graph(
        policy: ConflictPolicy,
        server: Arc<GraphServer>,
        connector: Arc<dyn Connector>,
    ) -> MemWorld {
        let mut world = MemWorld::with_connector(policy, Arc::new(MemoryConnector::new()), connector).await;
        world.graph = Some(GraphSide::new(server));
        world
    }

    pub fn is_graph(&self) -> bool {
        self.graph.is_some()
    }

    pub fn options(&self) -> RunOptions<'static> {
        RunOptions {
            now: Some(now()),
            ..RunOptions::default()
        }
    }

    pub async fn try_sync(&self, opts: &RunOptions<'_>) -> Result<RunReport, SyncError> {
        run_profile(&self.store, &self.profile, opts).await
    }

    pub async fn sync(&self) -> RunReport {
        self.try_sync(&self.options()).await.expect("a clean sync succeeds")
    }

    /// A sync that dies at its `write`-th write, before or after it.
    pub async fn crashing_sync(&self, write: usize, point: CrashPoint) {
        let faults = Faults::crash_at(write, point);
        let crashed = self
            .try_sync(&RunOptions {
                faults: Some(&faults),
                ..self.options()
            })
            .await;
        assert!(matches!(crashed, Err(SyncError::InjectedCrash { .. })), "{crashed:?}");
    }

    // ----- the CRM user -----

    pub async fn crm_create(&self, kind: Kind, fields: &FieldMap) -> String {
        let owner = &self.actor.user_id;
        match kind {
            Kind::Contact => {
                let contact = fields_to_contact(
                    fields,
                    &ContactFields {
                        active: true,
                        ..ContactFields::default()
                    },
                );
                self.store.records().create(owner, contact).await.unwrap().meta.id
            }
            Kind::Task | Kind::Event => {
                let blank = blank_activity(kind);
                let activity = fields_to_activity(&new_item_fields(kind, fields), &blank, &EmailOnlyDirectory);
                self.store.records().create(owner, activity).await.unwrap().meta.id
            }
        }
    }

    /// Sets `changes` on the CRM record `id` as a CRM user would.
    pub async fn crm_edit(&self, kind: Kind, id: &str, changes: &[(String, String)]) {
        match kind {
            Kind::Contact => {
                let current = self.store.records().get::<ContactFields>(id).await.unwrap();
                let mut map = contact_to_fields(&current.fields);
                for (k, v) in changes {
                    map.set(k.clone(), v.clone());
                }
                let next = fields_to_contact(&map, &current.fields);
                self.store.records().update(id, current.version(), next).await.unwrap();
            }
            Kind::Task | Kind::Event => {
                let current = self.store.records().get::<ActivityFields>(id).await.unwrap();
                let mut map = activity_to_fields(&current.fields, &EmailOnlyDirectory);
                for (k, v) in changes {
                    map.set(k.clone(), v.clone());
                }
                let next = fields_to_activity(&map, &current.fields, &EmailOnlyDirectory);
                self.store.records().update(id, current.version(), next).await.unwrap();
            }
        }
    }

    pub async fn crm_delete(&self, kind: Kind, id: &str) {
        match kind {
            Kind::Contact => self.store.records().delete::<ContactFields>(id, None).await.unwrap(),
            _ => self.store.records().delete::<ActivityFields>(id, None).await.unwrap(),
        }
    }

    /// Every CRM record of the three kinds, by id.
    pub async fn crm_records(&self) -> BTreeMap<String, CrmView> {
        let mut out = BTreeMap::new();
        let q = ListQuery {
            visible_to: None,
            owner_id: None,
            modified_since: None,
            cursor: None,
            limit: MAX_PAGE,
        };
        for c in self.store.records().list::<ContactFields>(&q).await.unwrap().items {
            out.insert(
                c.meta.id.clone(),
                CrmView {
                    kind: Kind::Contact,
                    fields: contact_to_fields(&c.fields),
                },
            );
        }
        for a in self.store.records().list::<ActivityFields>(&q).await.unwrap().items {
            let kind = if a.fields.kind == ActivityKind::Appointment {
                Kind::Event
            } else {
                Kind::Task
            };
            let mut fields = activity_to_fields(&a.fields, &EmailOnlyDirectory);
            // An activity without a UID of its own travels under its CRM id
            // (docs/RULES.md R-SYNC-UID-1): that is the UID it has.
            if fields.get(keys::UID).is_none() {
                fields.set(keys::UID, a.meta.id.clone());
            }
            out.insert(a.meta.id.clone(), CrmView { kind, fields });
        }
        out
    }

    // ----- the independent groupware client -----

    /// Creates an item the way another client would: a fresh UID, a body
    /// rendered by the mapping. Returns its href.
    pub fn gw_create(&mut self, kind: Kind, fields: &FieldMap) -> Href {
        self.next_external += 1;
        let uid = format!("ext-{}@client.example", self.next_external);
        if let Some(graph) = &self.graph {
            return graph.create(kind, fields, &uid);
        }
        let body = render(kind, fields, &uid, None);
        let href = Href::new(format!("ext-{}.{}", self.next_external, kind.extension()));
        self.mailbox
            .external_put(&kind.collection_id(), &href, body.as_bytes())
            .unwrap();
        href
    }

    /// Changes one or two fields of the item's current body, keeping the rest.
    pub fn gw_edit(&self, kind: Kind, href: &Href, changes: &[(String, String)]) {
        if let Some(graph) = &self.graph {
            return graph.edit(kind, href, changes);
        }
        let (_, body) = self.mailbox.peek(&kind.collection_id(), href).expect("item exists");
        let body = String::from_utf8(body).unwrap();
        let edited = edited_body(kind, &body, changes);
        self.mailbox
            .external_put(&kind.collection_id(), href, edited.as_bytes())
            .unwrap();
    }

    pub fn gw_delete(&self, kind: Kind, href: &Href) {
        if let Some(graph) = &self.graph {
            return graph.delete(kind, href);
        }
        self.mailbox.external_delete(&kind.collection_id(), href).unwrap();
    }

    pub fn gw_hrefs(&self, kind: Kind) -> Vec<Href> {
        if let Some(graph) = &self.graph {
            return graph.hrefs(kind);
        }
        self.mailbox.hrefs(&kind.collection_id())
    }

    pub fn gw_item(&self, kind: Kind, href: &Href) -> Option<GwView> {
        if let Some(graph) = &self.graph {
            return graph.item(kind, href);
        }
        let (_, body) = self.mailbox.peek(&kind.collection_id(), href)?;
        let body = String::from_utf8(body).unwrap();
        Some(parse(kind, &body))
    }

    // ----- reading everything -----

    pub async fn snapshot(&self) -> Snapshot {
        let mut snap = Snapshot {
            crm: self.crm_records().await,
            graph: self.is_graph(),
            ..Snapshot::default()
        };
        for kind in Kind::ALL {
            for href in self.gw_hrefs(kind) {
                let view = self.gw_item(kind, &href).unwrap();
                snap.gw.insert((kind, href.as_str().to_string()), view);
            }
            snap.pairs.insert(
                kind,
                self.store.sync_state().pairs(PROFILE, kind.collection()).await.unwrap(),
            );
        }
        for c in self.store.sync_state().open_conflicts(Some(PROFILE)).await.unwrap() {
            let fields: Vec<serde_json::Value> = serde_json::from_str(&c.fields).unwrap();
            let keys = fields
                .iter()
                .filter_map(|f| f.get("key").and_then(|k| k.as_str()).map(str::to_string));
            snap.conflict_keys
                .entry((c.crm_id.clone(), c.href.clone()))
                .or_default()
                .extend(keys);
        }
        snap.duplicates = self
            .store
            .sync_state()
            .duplicates(PROFILE)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, r)| r)
            .collect::<Vec<_>>()
            .join("\n");
        snap
    }
}

pub fn class_of(kind: Kind) -> crmsync_engine::EntityClass {
    match kind {
        Kind::Contact => crmsync_engine::EntityClass::Contacts,
        Kind::Task => crmsync_engine::EntityClass::Tasks,
        Kind::Event => crmsync_engine::EntityClass::Events,
    }
}

/// A new activity of `kind` before its fields apply: tasks are due and
/// events happen after the fixed "now", so every rule treats them as planned.
pub fn blank_activity(kind: Kind) -> ActivityFields {
    match kind {
        Kind::Event => {
            let mut a = ActivityFields::new(ActivityKind::Appointment, "");
            a.start = Some(now() + Duration::days(10));
            a.end = Some(now() + Duration::days(10) + Duration::hours(1));
            a
        }
        _ => {
            let mut a = ActivityFields::new(ActivityKind::Task, "");
            a.due = Some(now() + Duration::days(3));
            a
        }
    }
}

/// The fields a new groupware item of `kind` carries besides `fields`.
pub fn new_item_fields(kind: Kind, fields: &FieldMap) -> FieldMap {
    let mut all = match kind {
        Kind::Contact => FieldMap::new(),
        Kind::Task | Kind::Event => activity_to_fields(&blank_activity(kind), &EmailOnlyDirectory),
    };
    for (k, v) in fields.iter() {
        all.set(k, v);
    }
    all
}

pub fn render(kind: Kind, fields: &FieldMap, uid: &str, previous: Option<&str>) -> String {
    match kind {
        Kind::Contact => render_vcard(fields, uid, CardVersion::V4, previous).unwrap(),
        Kind::Task | Kind::Event => {
            let ctx = IcalContext {
                now: now(),
                time_zone: None,
                directory: &EmailOnlyDirectory,
                keep_schedule: false,
            };
            render_ical(&new_item_fields(kind, fields), uid, previous, &ctx).unwrap()
        }
    }
}

pub fn parse(kind: Kind, body: &str) -> GwView {
    let (uid, fields) = match kind {
        Kind::Contact => {
            let card = parse_vcard(body).unwrap();
            (card.uid, card.fields)
        }
        Kind::Task | Kind::Event => {
            let item = parse_ical(body).unwrap();
            (item.uid, item.fields)
        }
    };
    GwView {
        kind,
        uid,
        fields,
        body: body.to_string(),
    }
}

/// `body` with `changes` applied, everything else kept (R-MAP-6).
pub fn edited_body(kind: Kind, body: &str, changes: &[(String, String)]) -> String {
    let view = parse(kind, body);
    let mut fields = view.fields.clone();
    for (k, v) in changes {
        fields.set(k.clone(), v.clone());
    }
    match kind {
        Kind::Contact => render_vcard(&fields, &view.uid, CardVersion::V4, Some(body)).unwrap(),
        Kind::Task | Kind::Event => {
            let ctx = IcalContext {
                now: now(),
                time_zone: None,
                directory: &EmailOnlyDirectory,
                keep_schedule: false,
            };
            render_ical(&fields, &view.uid, Some(body), &ctx).unwrap()
        }
    }
}

/// A map without the outbound-only journal (R-FIELD-5), without the UID
/// (identity, not content: an item paired by start and subject keeps its own
/// UID, R-SYNC-UID-1) and without `skip`.
pub fn comparable(fields: &FieldMap, skip: &BTreeSet<String>) -> FieldMap {
    fields
        .iter()
        .filter(|(k, _)| *k != keys::JOURNAL && *k != keys::UID && !skip.contains(*k))
        .collect()
}

/// (a): every live pair joins an existing record and an existing item whose
/// fields agree, journal and open manual conflicts aside.
pub fn check_agreement(snap: &Snapshot) -> Result<(), String> {
    for (kind, pair) in snap.live_pairs() {
        let Some(crm) = snap.crm.get(&pair.crm_id) else {
            return Err(format!(
                "live pair {} points at missing CRM record {}",
                pair.id, pair.crm_id
            ));
        };
        let Some(gw) = snap.gw.get(&(kind, pair.href.clone())) else {
            return Err(format!("live pair {} points at missing item {}", pair.id, pair.href));
        };
        let skip = snap
            .conflict_keys
            .get(&(pair.crm_id.clone(), pair.href.clone()))
            .cloned()
            .unwrap_or_default();
        let crm_fields = if snap.graph {
            graph_comparable(graph_side::resource(kind), &crm.fields)
        } else {
            crm.fields.clone()
        };
        let (c, g) = (comparable(&crm_fields, &skip), comparable(&gw.fields, &skip));
        if c != g {
            let diff: Vec<String> = c
                .changed_keys(&g)
                .into_iter()
                .map(|k| format!("{k}: crm {:?} / groupware {:?}", c.get(k), g.get(k)))
                .collect();
            return Err(format!(
                "live pair {} <-> {} disagrees: {}",
                pair.crm_id,
                pair.href,
                diff.join("; ")
            ));
        }
    }
    Ok(())
}

/// (b): no record or item twice, none left out of the sync.
pub fn check_no_duplicates(snap: &Snapshot) -> Result<(), String> {
    for kind in Kind::ALL {
        let pairs = snap.pairs.get(&kind).map(Vec::as_slice).unwrap_or_default();
        let mut crm_ids = BTreeSet::new();
        let mut hrefs = BTreeSet::new();
        for p in pairs {
            if !crm_ids.insert(&p.crm_id) {
                return Err(format!(
                    "CRM record {} is in two pairs of {}",
                    p.crm_id,
                    kind.collection()
                ));
            }
            if !hrefs.insert(&p.href) {
                return Err(format!("item {} is in two pairs", p.href));
            }
        }
        let mut uids = BTreeMap::new();
        for (href, item) in snap.items_of(kind) {
            if let Some(other) = uids.insert(item.uid.clone(), href.clone()) {
                return Err(format!(
                    "UID {} is in the groupware twice: {other} and {href}",
                    item.uid
                ));
            }
            let in_report = snap.duplicates.contains(href.as_str());
            if snap.pair_of_href(kind, href).is_none() && !in_report {
                return Err(format!("item {href} is in no pair: {:?}", item.fields));
            }
        }
        for (id, rec) in snap.crm.iter().filter(|(_, r)| r.kind == kind) {
            if snap.pair_of_crm(kind, id).is_none() && !snap.duplicates.contains(id.as_str()) {
                return Err(format!("CRM record {id} is in no pair: {:?}", rec.fields));
            }
        }
        if kind != Kind::Contact {
            let mut by_uid = BTreeMap::new();
            for (id, rec) in snap.crm.iter().filter(|(_, r)| r.kind == kind) {
                if let Some(uid) = rec.fields.get(keys::UID)
                    && let Some(other) = by_uid.insert(uid.to_string(), id.clone())
                {
                    return Err(format!("two CRM records {other} and {id} for one item UID {uid}"));
                }
            }
        }
    }
    Ok(())
}
