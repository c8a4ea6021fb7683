//! CRM → fresh Radicale / Xandikos calendar: the first sync of N meetings
//! (every tenth a weekly series) against a raw client PUTting the same
//! iCalendar objects at the same concurrency into a fresh calendar of another
//! fresh server of the same kind (R-BENCH-5; R-BENCH-1 as for contacts).

use std::sync::Arc;
use std::time::Instant;

use crmsync_connector::CollectionKind;
use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, run_profile};

use crate::data::recurring_count;
use crate::edits::applied;
use crate::error::BenchError;
use crate::peers::{Peer, PeerKind};
use crate::report::{Report, Standing, ratio, secs};
use crate::scenarios::dav::{collection_items, raw_first_sync};
use crate::world::Template;

/// The calendar the runner creates for events (`crmsync_sync::collection_name`).
const CALENDAR: &str = "calendar";

pub async fn run(kind: PeerKind, template: &Template, report: &mut Report) -> Result<(), BenchError> {
    let section = kind.name();
    let n = template.meetings;

    let peer = Peer::start(kind)?;
    let world = template.world().await?;
    let profile = world.profile(Arc::new(peer.connector()?), &[EntityClass::Events]);
    let started = Instant::now();
    let run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let first = started.elapsed();
    let created = applied(&run, "groupware create");
    if created != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: first sync created {created} of {n} events"
        )));
    }
    let (_, items) = collection_items(&peer.connector()?, CollectionKind::Events, CALENDAR).await?;
    if items.len() != n {
        return Err(BenchError::Unexpected(format!(
            "{section}: the calendar holds {} of {n} events",
            items.len()
        )));
    }
    drop(peer);

    let (raw, concurrency) = raw_first_sync(kind, CollectionKind::Events, CALENDAR, items).await?;
    let r = ratio(first, raw);
    report.add(
        section,
        format!(
            "first sync {n} events ({} series): crmsync / raw PUTs x{concurrency}",
            recurring_count(n)
        ),
        format!("{r:.2}x ({} vs {})", secs(first), secs(raw)),
        "<= 1.05x raw",
        Standing::of(r <= 1.05),
    );
    Ok(())
}
