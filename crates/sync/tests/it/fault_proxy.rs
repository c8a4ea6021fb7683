//! First sync through a misbehaving network (issue 6): a few hundred contacts
//! and some events go from the CRM to a real Radicale and Xandikos through the
//! fault proxy, which resets connections mid-request and mid-response, stalls
//! past the connector's time-out, answers 500, 503 (with and without
//! Retry-After) and 429, and trickles bodies. Runs are repeated until one
//! succeeds; then nothing is lost, nothing is doubled on either side, and the
//! status store agrees with the server item for item (R-SAFE-1, R-SAFE-2,
//! R-CONN-4, R-CONN-5, R-DAV-7, R-SYNC-CURSOR-1).

use crate::dav_world;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crmsync_dav::{DavConfig, DavConnector, RetryConfig};
use crmsync_model::{Activity, Contact};
use crmsync_store::ListQuery;
use crmsync_sync::{RunOutcome, SyncProfile, run_profile};
use crmsync_testkit::{Fault, FaultPlan, FaultProxy, FaultRates};
use dav_world::{DavWorld, Peer, PeerKind, text, writes};

const CONTACTS: usize = 240;
const EVENTS: i64 = 16;
/// Enough for the runs a seeded fault sequence needs, with a wide margin;
/// only a sync that stopped making progress reaches it.
const MAX_RUNS: usize = 150;

/// Every fault kind at a rate that interrupts most runs, with stalls rarer
/// because each costs the client's whole time-out.
fn rates() -> FaultRates {
    FaultRates::each(0.02).with(Fault::Stall, 0.01)
}

/// The profile's connector, pointed at the proxy, with the connector's own
/// retry machinery (R-DAV-7) at short delays and a time-out a stall outlives.
fn proxied_config(peer: &Peer, proxy: &FaultProxy) -> DavConfig {
    DavConfig {
        url: proxy.url(),
        timeout_secs: 5,
        retry: RetryConfig {
            max_retries: 2,
            base_delay_ms: 10,
            max_delay_ms: 100,
            max_retry_after_secs: 2,
        },
        ..peer.config()
    }
}

async fn crm_contacts(w: &DavWorld) -> Vec<Contact> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = w
            .store
            .records()
            .list::<crmsync_model::ContactFields>(&ListQuery {
                cursor,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

/// The value of the first line of `body` starting with `prefix`.
fn line<'a>(body: &'a str, prefix: &str) -> Option<&'a str> {
    body.lines().find_map(|l| l.strip_prefix(prefix)).map(str::trim)
}

async fn first_sync_through_faults(kind: PeerKind, seed: u64) {
    let peer = Peer::start(kind);
    let mut plan = FaultPlan::new(rates(), seed);
    plan.retry_after_secs = 1;
    let proxy = FaultProxy::start(peer.addr(), plan).await.unwrap();
    let mut w = DavWorld::new(&peer).await;
    w.profile = SyncProfile::new(
        "alice",
        w.actor.clone(),
        crmsync_engine::Profile::new(&w.actor.user_id),
        Arc::new(DavConnector::new(&proxied_config(&peer, &proxy)).unwrap()),
    );

    let mut contacts = Vec::new();
    for i in 0..CONTACTS {
        contacts.push(
            w.contact("Ada", &format!("Lovelace{i:03}"), &format!("ada{i:03}@example.com"))
                .await,
        );
    }
    let mut events: Vec<Activity> = Vec::new();
    for i in 0..EVENTS {
        events.push(w.meeting(&format!("Review {i:02}"), 1 + i).await);
    }

    // Repeated runs until one gets through. A failed run must be transient:
    // the faults are all of the passing kind.
    let mut failures = Vec::new();
    let mut done = false;
    for _ in 0..MAX_RUNS {
        match run_profile(&w.store, &w.profile, &w.options()).await {
            Ok(report) if report.outcome == RunOutcome::Ok => {
                done = true;
                break;
            }
            Ok(report) => failures.push(format!("outcome {:?}", report.outcome)),
            Err(e) => {
                assert!(e.is_transient(), "only transient failures may stop a run: {e}");
                failures.push(e.to_string());
            }
        }
    }
    let counts = proxy.counters().snapshot();
    assert!(
        done,
        "no run got through in {MAX_RUNS}; faults {counts:?}; last errors {:?}",
        &failures[failures.len().saturating_sub(5)..]
    );
    for fault in Fault::ALL {
        assert!(counts[&fault] > 0, "{fault:?} was never injected: {counts:?}");
    }
    assert!(!failures.is_empty(), "the faults interrupted runs");
    // One line for whoever tunes the rates (shown with --nocapture or on failure).
    eprintln!(
        "{kind:?}: {} failed runs before success; injected {counts:?}",
        failures.len()
    );

    // Converged: with the network healthy again a run writes nothing.
    proxy.set_rates(FaultRates::none());
    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "the faulty runs left work behind: {quiet}");

    // Server: every contact and event exactly once.
    let cards = w.items("contacts").await;
    let emails: Vec<&str> = cards.iter().filter_map(|c| line_of(c, "EMAIL")).collect();
    let unique: BTreeSet<&str> = emails.iter().copied().collect();
    assert_eq!(cards.len(), CONTACTS, "no card lost or doubled on the server");
    assert_eq!(unique.len(), CONTACTS, "each contact once on the server");
    let uids: BTreeSet<String> = cards
        .iter()
        .filter_map(|c| line(&text(c), "UID:").map(String::from))
        .collect();
    assert_eq!(uids.len(), CONTACTS, "no two cards share a UID");
    let ics = w.items("calendar").await;
    let subjects: BTreeSet<String> = ics
        .iter()
        .filter_map(|i| line(&text(i), "SUMMARY:").map(String::from))
        .collect();
    assert_eq!(
        (ics.len(), subjects.len()),
        (EVENTS as usize, EVENTS as usize),
        "{subjects:?}"
    );

    // CRM: nothing came back as a duplicate record.
    assert_eq!(crm_contacts(&w).await.len(), CONTACTS);
    assert_eq!(w.activities().await.len(), EVENTS as usize);

    // Status store: one pair per record, naming a server item with its current ETag.
    for (collection, items, ids) in [
        (
            "contacts",
            &cards,
            contacts.iter().map(|c| c.id().to_owned()).collect::<BTreeSet<_>>(),
        ),
        ("calendar", &ics, events.iter().map(|e| e.id().to_owned()).collect()),
    ] {
        let pairs = w.store.sync_state().pairs("alice", collection).await.unwrap();
        let paired: BTreeSet<String> = pairs.iter().map(|p| p.crm_id.clone()).collect();
        assert_eq!(paired, ids, "{collection}: every record paired, once");
        assert_eq!(pairs.len(), ids.len(), "{collection}: no record paired twice");
        let server: BTreeMap<&str, &str> = items.iter().map(|i| (i.href.as_str(), i.etag.as_str())).collect();
        for p in &pairs {
            assert_eq!(
                server.get(p.href.as_str()).copied(),
                Some(p.etag.as_str()),
                "{collection}: pair of {} names {} with the server's ETag",
                p.crm_id,
                p.href
            );
        }
    }
    // The proxy really stood in the way of the runs that mattered.
    assert!(proxy.counters().passed_through() > CONTACTS as u64);
}

/// The e-mail address of a card (the value after the last colon of its EMAIL line).
fn line_of<'a>(item: &'a crmsync_connector::FetchedItem, property: &str) -> Option<&'a str> {
    std::str::from_utf8(&item.body)
        .ok()?
        .lines()
        .find(|l| l.to_ascii_uppercase().starts_with(property))
        .and_then(|l| l.rsplit(':').next())
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_2_first_sync_through_faults_to_radicale_loses_and_doubles_nothing() {
    first_sync_through_faults(PeerKind::Radicale, 0x5eed_0001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_2_first_sync_through_faults_to_xandikos_loses_and_doubles_nothing() {
    first_sync_through_faults(PeerKind::Xandikos, 0x5eed_0002).await;
}
