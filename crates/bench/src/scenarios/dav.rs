//! CRM → fresh Radicale / Xandikos collection against a raw client PUTting the
//! same vCards at the same concurrency into another fresh server of the same
//! kind (both slow down as a collection grows, so like is compared with like);
//! then a no-change sync and a sync after 1 % changed on each side.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_connector::{CollectionId, CollectionKind, Connector, Href};
use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, SyncProfile, run_profile};

use crate::abba::crm_raw_raw_crm;
use crate::counting::CountingConnector;
use crate::edits::{applied, edit_card, edit_crm_contacts, one_percent, writes};
use crate::error::BenchError;
use crate::peers::{PASSWORD, Peer, PeerKind, USER};
use crate::raw_dav::{RawDav, RawItem};
use crate::report::{Report, Standing, secs};
use crate::world::{Template, World};

/// The collection crmsync created (`kind`, named `name`), and its items' bodies.
pub(crate) async fn collection_items(
    dav: &dyn Connector,
    kind: CollectionKind,
    name: &str,
) -> Result<(CollectionId, Vec<RawItem>), BenchError> {
    let collection = dav.ensure_collection(kind, name).await?.id;
    let listing = dav.changes(&collection, None).await?;
    let hrefs: Vec<Href> = listing.changed.iter().map(|m| m.href.clone()).collect();
    let fetched = dav.get_many(&collection, &hrefs).await?;
    let mut items: Vec<RawItem> = fetched
        .found
        .into_iter()
        .map(|i| RawItem {
            name: i.href.as_str().to_owned(),
            body: i.body,
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((collection, items))
}

/// What crmsync's first sync into a fresh server left behind.
struct FirstSynced {
    peer: Peer,
    world: World,
    profile: SyncProfile,
    counting: CountingConnector,
    /// The cards crmsync sent, byte for byte, for the raw client to PUT
    /// (R-BENCH-14).
    items: Arc<Vec<RawItem>>,
}

/// crmsync's first sync of the template's contacts into a freshly started
/// server of `kind`, checked to have created every card.
async fn crm_first_sync(kind: PeerKind, template: &Template) -> Result<(Duration, FirstSynced), BenchError> {
    let section = kind.name();
    let n = template.contacts;
    let peer = Peer::start(kind)?;
    let world = template.world().await?;
    let counting = CountingConnector::keeping_created(Arc::new(peer.connector()?));
    let profile = world.profile(Arc::new(counting.clone()), &[EntityClass::Contacts]);
    let started = Instant::now();
    let first_run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let created = applied(&first_run, "groupware create");
    if created != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: first sync created {created} of {n}"
        )));
    }
    let (_, stored) = collection_items(&peer.connector()?, CollectionKind::Contacts, "contacts").await?;
    let items = counting.created();
    if stored.len() != n || items.len() != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: server holds {} of {n}, crmsync sent {}",
            stored.len(),
            items.len()
        )));
    }
    Ok((
        took,
        FirstSynced {
            peer,
            world,
            profile,
            counting,
            items: Arc::new(items),
        },
    ))
}

/// `rounds` rounds of the first-sync figure (R-BENCH-14), then the
/// incremental figures.
pub async fn run(kind: PeerKind, template: &Template, rounds: usize, report: &mut Report) -> Result<(), BenchError> {
    let section = kind.name();
    let n = template.contacts;

    // crmsync, raw, raw, crmsync, each into its own fresh server (R-BENCH-13).
    let concurrency = Cell::new(0);
    let (times, first) = crm_raw_raw_crm(
        rounds,
        || async move { crm_first_sync(kind, template).await },
        |first: &FirstSynced| {
            let items = Vec::clone(&first.items);
            let concurrency = &concurrency;
            async move {
                let (took, used) = raw_first_sync(kind, CollectionKind::Contacts, "contacts", items).await?;
                concurrency.set(used);
                Ok(took)
            }
        },
    )
    .await?;
    let r = times.ratio();
    report.add(
        section,
        format!("first sync {n} contacts: crmsync / raw PUTs x{}", concurrency.get()),
        times.describe(),
        "<= 1.02x raw",
        Standing::of(r <= 1.02),
    );

    let target = Target {
        peer: &first.peer,
        world: &first.world,
        profile: &first.profile,
        counting: &first.counting,
    };
    incremental(section, &target, template, report).await
}

/// The baseline: a raw client PUTs `items` into a fresh collection of a fresh
/// server of `kind`, at crmsync's configured concurrency (R-BENCH-1). Returns
/// the time taken and that concurrency.
pub(crate) async fn raw_first_sync(
    kind: PeerKind,
    collection_kind: CollectionKind,
    name: &str,
    items: Vec<RawItem>,
) -> Result<(Duration, usize), BenchError> {
    let raw_peer = Peer::start(kind)?;
    let concurrency = raw_peer.config().concurrency;
    let raw_collection = raw_peer.connector()?.ensure_collection(collection_kind, name).await?.id;
    let content_type = match collection_kind {
        CollectionKind::Contacts => "text/vcard; charset=utf-8",
        _ => "text/calendar; charset=utf-8",
    };
    let raw = Arc::new(RawDav::new(&raw_peer.url(), USER, PASSWORD));
    let started = Instant::now();
    raw.put_all(raw_collection.as_str(), Arc::new(items), content_type, concurrency)
        .await?;
    Ok((started.elapsed(), concurrency))
}

/// The server and CRM a first sync left behind, for the incremental runs.
struct Target<'a> {
    peer: &'a Peer,
    world: &'a World,
    profile: &'a SyncProfile,
    counting: &'a CountingConnector,
}

async fn incremental(
    section: &str,
    t: &Target<'_>,
    template: &Template,
    report: &mut Report,
) -> Result<(), BenchError> {
    let n = template.contacts;
    t.counting.reset();
    let started = Instant::now();
    let run = run_profile(&t.world.store, t.profile, &RunOptions::default()).await?;
    let no_change = started.elapsed();
    let calls = t.counting.counts();
    if writes(&run) != 0 {
        return Err(BenchError::Unexpected(format!("{section}: a no-change sync wrote")));
    }
    report.add(
        section,
        format!("no-change sync of {n}: connector calls"),
        calls.total().to_string(),
        "1 per collection",
        Standing::of(calls.total() <= 1),
    );
    report.note(format!("{section} no-change calls: {calls}"));
    report.add(
        section,
        format!("no-change sync of {n}: time"),
        secs(no_change),
        "(context)",
        Standing::Info,
    );

    let k = one_percent(n);
    let edited_crm = edit_crm_contacts(&t.world.store, &template.user_id, k).await?;
    let edited_server = edit_on_server(t.peer, k).await?;
    t.counting.reset();
    let started = Instant::now();
    let run = run_profile(&t.world.store, t.profile, &RunOptions::default()).await?;
    let one_pct = started.elapsed();
    let (to_gw, to_crm) = (applied(&run, "groupware update"), applied(&run, "crm update"));
    if to_gw < edited_crm || to_crm < edited_server {
        return Err(BenchError::Unexpected(format!(
            "{section}: 1% sync applied {to_gw} + {to_crm} updates for {edited_crm} + {edited_server} edits"
        )));
    }
    report.add(
        section,
        format!("1% change sync ({edited_crm} CRM + {edited_server} server edits)"),
        format!("{} ({} calls)", secs(one_pct), t.counting.counts().total()),
        "(context)",
        Standing::Info,
    );
    Ok(())
}

/// Edits `k` cards on the server behind crmsync's back (an independent client).
pub async fn edit_on_server(peer: &Peer, k: usize) -> Result<usize, BenchError> {
    let dav = peer.connector()?;
    let collection = dav.ensure_collection(CollectionKind::Contacts, "contacts").await?.id;
    let mut listing = dav.changes(&collection, None).await?.changed;
    listing.sort_by(|a, b| b.href.as_str().cmp(a.href.as_str()));
    let hrefs: Vec<Href> = listing.iter().take(k).map(|m| m.href.clone()).collect();
    let fetched = dav.get_many(&collection, &hrefs).await?;
    let mut edited = 0;
    for item in fetched.found {
        if let Some(body) = edit_card(&String::from_utf8_lossy(&item.body)) {
            dav.update(&collection, &item.href, &item.etag, body.as_bytes()).await?;
            edited += 1;
        }
    }
    Ok(edited)
}
