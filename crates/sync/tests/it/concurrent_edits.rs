//! Concurrent edits on a real server (issue 6): while a sync runs, an
//! independent client (plain HTTP with the current ETag) edits the very card
//! the sync is about to update. The fault proxy holds the sync's PUT until the
//! outside edit has landed, so the race is forced, not hoped for: the PUT's
//! `If-Match` is stale, the server answers 412, the runner re-reads and
//! re-plans (R-SAFE-2, R-DAV-5, R-SYNC-CURSOR-1), and no edit is lost: disjoint
//! edits are merged (R-EDIT-2); the same field edited on both sides goes by the
//! profile's policy, recorded (R-EDIT-3): `crm-wins` overwrites with a history
//! entry, `manual` holds a conflict and overwrites nothing.

use crate::dav_world;
use std::sync::Arc;
use std::time::Duration;

use crmsync_dav::{DavConfig, DavConnector};
use crmsync_engine::{ConflictPolicy, EntityClass};
use crmsync_model::ContactFields;
use crmsync_sync::SyncProfile;
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates};
use dav_world::{DavWorld, Http, Peer, PeerKind, text};

macro_rules! concurrent_edits {
    ($($module:ident => $kind:expr),* $(,)?) => {$(
        mod $module {
            use super::*;

            // R-EDIT-2, R-SAFE-2, R-DAV-5
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_edit_2_outside_edit_racing_the_sync_put_is_merged() {
                disjoint_edits($kind).await;
            }
            // R-EDIT-3 (crm-wins), R-SAFE-2
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_edit_3_same_field_racing_the_sync_put_is_overwritten_with_history() {
                same_field(ConflictPolicy::CrmWins, $kind).await;
            }
            // R-EDIT-3 (manual), R-ENG-11
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn r_edit_3_manual_same_field_racing_the_sync_put_is_held_as_conflict() {
                same_field(ConflictPolicy::Manual, $kind).await;
            }
        }
    )*};
}

concurrent_edits!(radicale => PeerKind::Radicale, xandikos => PeerKind::Xandikos);

/// Generous: only turns a hang into a failure on a loaded machine.
const WAIT: Duration = Duration::from_secs(60);

struct Race {
    peer: Peer,
    proxy: FaultProxy,
    w: Arc<DavWorld>,
    ada: crmsync_model::Contact,
    /// Absolute server path of Ada's card.
    path: String,
}

/// Ada synced to the server through a proxy that injects nothing (it is here
/// to hold a request), then edited in the CRM: her job title.
async fn race(kind: PeerKind, policy: ConflictPolicy) -> Race {
    let peer = Peer::start(kind);
    let proxy = FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::none(), 1))
        .await
        .unwrap();
    let mut w = DavWorld::new(&peer).await;
    let mut rules = crmsync_engine::Profile::new(&w.actor.user_id);
    rules.entity_mut(EntityClass::Contacts).conflict = policy;
    let config = DavConfig {
        url: proxy.url(),
        ..peer.config()
    };
    w.profile = SyncProfile::new(
        "alice",
        w.actor.clone(),
        rules,
        Arc::new(DavConnector::new(&config).unwrap()),
    );
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    w.sync().await;
    let card = w.item_with("contacts", "ada@example.com").await;
    let path = w.path_of("contacts", &card).await;

    let mut fields = ada.fields.clone();
    fields.job_title = Some("Analyst".into());
    let ada = w.store.records().update(ada.id(), ada.version(), fields).await.unwrap();
    Race {
        peer,
        proxy,
        w: Arc::new(w),
        ada,
        path,
    }
}

impl Race {
    /// Runs a sync whose first PUT of Ada's card is held until `outside`
    /// (a vCard line added by another client with the current ETag) is on
    /// the server; returns the number of PUTs of the card the sync sent.
    async fn sync_racing(&self, outside: &str) -> usize {
        // Only this sync's requests count (the first sync created the card).
        let before = self.proxy.counters().requests().len();
        let path = self.path.clone();
        let mut hold = self.proxy.hold(move |method, target| method == "PUT" && target == path);
        let w = Arc::clone(&self.w);
        let sync = tokio::spawn(async move { w.sync().await });
        hold.arrived(WAIT).await;

        // The independent client: reads the card directly from the server
        // and writes it back edited, with the ETag it read.
        let card = self.w.item_with("contacts", "ada@example.com").await;
        let edited = text(&card).replace("END:VCARD", &format!("{outside}\r\nEND:VCARD"));
        let status = Http::new(&self.peer)
            .put_card(&self.path, card.etag.as_str(), &edited)
            .await;
        assert!((200..300).contains(&status), "the outside edit landed: {status}");

        hold.release();
        let report = tokio::time::timeout(WAIT, sync)
            .await
            .expect("the sync finished")
            .expect("the sync did not panic");
        let puts = self
            .proxy
            .counters()
            .requests()
            .iter()
            .skip(before)
            .filter(|r| **r == format!("PUT {}", self.path))
            .count();
        assert!(puts >= 1, "{report}");
        puts
    }

    async fn server_card(&self) -> String {
        text(&self.w.item_with("contacts", "ada@example.com").await)
    }

    async fn crm(&self) -> ContactFields {
        self.w
            .store
            .records()
            .get::<ContactFields>(self.ada.id())
            .await
            .unwrap()
            .fields
    }
}

async fn disjoint_edits(kind: PeerKind) {
    let r = race(kind, ConflictPolicy::CrmWins).await;
    let puts = r.sync_racing("TEL;TYPE=WORK:+49 30 1234567").await;
    assert_eq!(puts, 2, "the stale PUT got 412 and the merged card was written again");

    // R-EDIT-2: both edits survive, on both sides.
    let card = r.server_card().await;
    assert!(card.contains("Analyst"), "the CRM edit reached the server:\n{card}");
    assert!(card.contains("+49 30 1234567"), "the outside edit is kept:\n{card}");
    let crm = r.crm().await;
    assert_eq!(crm.job_title.as_deref(), Some("Analyst"));
    assert_eq!(
        crm.phone_business.as_deref(),
        Some("+49 30 1234567"),
        "the outside edit reached the CRM"
    );
    assert_quiet(&r).await;
}

async fn same_field(policy: ConflictPolicy, kind: PeerKind) {
    let r = race(kind, policy).await;
    let puts = r.sync_racing("TITLE:Countess").await;
    let card = r.server_card().await;
    let crm = r.crm().await;
    match policy {
        ConflictPolicy::Manual => {
            assert_eq!(puts, 1, "after the 412 nothing is forced onto the server");
            assert!(card.contains("TITLE:Countess"), "the outside value stays:\n{card}");
            assert_eq!(crm.job_title.as_deref(), Some("Analyst"), "the CRM value stays");
            let conflicts = r.w.store.sync_state().open_conflicts(Some("alice")).await.unwrap();
            assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
            assert_eq!(conflicts[0].crm_id, r.ada.id());
            assert!(
                conflicts[0].fields.contains("Countess") && conflicts[0].fields.contains("Analyst"),
                "the conflict holds both values: {}",
                conflicts[0].fields
            );
        }
        _ => {
            assert_eq!(puts, 2, "the stale PUT got 412 and was re-planned");
            assert!(card.contains("TITLE:Analyst"), "crm-wins decides the field:\n{card}");
            assert!(!card.contains("Countess"), "{card}");
            assert_eq!(crm.job_title.as_deref(), Some("Analyst"));
            // Never silently: the overwritten outside value is in the history.
            let history =
                r.w.store
                    .sync_state()
                    .history("alice", Some(r.ada.id()), None)
                    .await
                    .unwrap();
            assert!(
                history
                    .iter()
                    .any(|e| e.rule == "R-EDIT-3" && e.detail.as_deref().is_some_and(|d| d.contains("Countess"))),
                "{history:#?}"
            );
        }
    }
    assert_quiet(&r).await;
}

/// A further sync with nobody editing writes nothing.
async fn assert_quiet(r: &Race) {
    let report = r.w.sync().await;
    assert_eq!(dav_world::writes(&report), 0, "{report}");
}
