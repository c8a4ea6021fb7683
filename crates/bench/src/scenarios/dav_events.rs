//! CRM → fresh Radicale / Xandikos calendar: the first sync of N meetings
//! (every tenth a weekly series) against a raw client PUTting the same
//! iCalendar objects at the same concurrency into a fresh calendar of another
//! fresh server of the same kind (R-BENCH-5; R-BENCH-1 as for contacts), in
//! the order crmsync, raw, raw, crmsync (R-BENCH-13).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_connector::CollectionKind;
use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, run_profile};

use crate::abba::crm_raw_raw_crm;
use crate::counting::CountingConnector;
use crate::data::recurring_count;
use crate::edits::applied;
use crate::error::BenchError;
use crate::peers::{Peer, PeerKind};
use crate::raw_dav::RawItem;
use crate::report::{Report, Standing};
use crate::scenarios::dav::{collection_items, raw_first_sync};
use crate::world::Template;

/// The calendar the runner creates for events (`crmsync_sync::collection_name`).
const CALENDAR: &str = "calendar";

/// crmsync's first sync of the template's meetings into the calendar of a
/// freshly started server of `kind`; returns its time and the objects it
/// sent, byte for byte (R-BENCH-14; the server is stopped).
async fn crm_first_sync(kind: PeerKind, template: &Template) -> Result<(Duration, Vec<RawItem>), BenchError> {
    let section = kind.name();
    let n = template.meetings;
    let peer = Peer::start(kind)?;
    let world = template.world().await?;
    let kept = CountingConnector::keeping_created(Arc::new(peer.connector()?));
    let profile = world.profile(Arc::new(kept.clone()), &[EntityClass::Events]);
    let started = Instant::now();
    let run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let created = applied(&run, "groupware create");
    if created != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: first sync created {created} of {n} events"
        )));
    }
    let (_, stored) = collection_items(&peer.connector()?, CollectionKind::Events, CALENDAR).await?;
    let items = kept.created();
    if stored.len() != n || items.len() != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: the calendar holds {} of {n} events, crmsync sent {}",
            stored.len(),
            items.len()
        )));
    }
    Ok((took, items))
}

/// `rounds` rounds of the first-sync figure (R-BENCH-14).
pub async fn run(kind: PeerKind, template: &Template, rounds: usize, report: &mut Report) -> Result<(), BenchError> {
    let section = kind.name();
    let n = template.meetings;

    // crmsync, raw, raw, crmsync, each into its own fresh server (R-BENCH-13).
    let concurrency = Cell::new(0);
    let (times, _) = crm_raw_raw_crm(
        rounds,
        || async move { crm_first_sync(kind, template).await },
        |items: &Vec<RawItem>| {
            let items = items.clone();
            let concurrency = &concurrency;
            async move {
                let (took, used) = raw_first_sync(kind, CollectionKind::Events, CALENDAR, items).await?;
                concurrency.set(used);
                Ok(took)
            }
        },
    )
    .await?;
    report.add(
        section,
        format!(
            "first sync {n} events ({} series): crmsync / raw PUTs x{}",
            recurring_count(n),
            concurrency.get()
        ),
        times.describe(),
        "<= 1.05x raw",
        Standing::of(times.ratio() <= 1.05),
    );
    Ok(())
}
