//! R-SYNC-PERF-5: a run that remembers its collections asks for every
//! collection's changes at once, before the first collection's pass, and
//! hands each answer to its collection's first pass. The passes and their
//! writes still run one collection after another, as before; only the
//! waiting for the server overlaps. A no-change run of a profile with three
//! DAV collections then waits for one round trip's worth of server time,
//! not three in a row.
//!
//! A listing taken a little earlier is just as good as one taken when the
//! pass starts: another client may change the server at any moment after a
//! listing anyway, and every write is conditional (R-SAFE-2). A collection
//! that shares its server collection with another class of the profile
//! (events and tasks in one calendar) is not listed early: the earlier
//! class's writes land there, and its pass must see them as it does today.
//! Nor is any collection of a connector that opts out
//! (`Connector::lists_early`, R-SYNC-PERF-6: vdir, whose listings are local
//! and any of whose changes is a complete listing).
//!
//! R-SYNC-PERF-7: the listings are sent before anything else of the run
//! (its start row, the recovery of interrupted runs, the check of the
//! profile's named collections, every first pass's reads), and all of that
//! runs while they are in flight. Nothing of it needs the answers, and
//! sending a read-only request earlier changes nothing on the server.

use std::collections::HashMap;

use crmsync_connector::{ChangeSet, Collection, ItemMeta, SyncToken};
use crmsync_engine::EntityClass;
use crmsync_store::status::Cursor;

use crate::error::SyncError;
use crate::pass_reads::{PassReads, ReadAhead};
use crate::profile::{SyncProfile, collection_kind, collection_name};
use crate::stores::RunStores;

/// The most items of a complete listing kept for a pass (a token the server
/// no longer knows is answered with everything). Beyond it the early answer
/// is dropped and the pass lists again, paging as it goes, so memory stays
/// bounded whatever the collection holds (R-SCALE-10).
const MAX_KEPT_ITEMS: usize = 1_000;

/// What a collection's pass would read first, read for it before the run's
/// first pass starts.
#[derive(Default)]
pub(crate) struct Early {
    /// The remembered collection, if it is still the one the profile names.
    pub remembered: Option<Collection>,
    /// The collection's cursor as stored when the run started, until the
    /// first pass takes it (later passes read it again).
    cursor: Option<Option<Cursor>>,
    /// The changes since the cursor's token, when they were asked for early
    /// and came back whole.
    listing: Option<EarlyListing>,
    /// The first pass's other reads, read while the listings were in
    /// flight (R-SYNC-PERF-7).
    ahead: Option<ReadAhead>,
}

/// One early answer: the token it was asked with and the server's answer
/// (for a complete listing, its items in `changed`, as `changes` gives them).
struct EarlyListing {
    token: SyncToken,
    changes: ChangeSet,
}

impl Early {
    /// The stored cursor read for the first pass, once; `None` when it was
    /// not read early or was taken already.
    pub fn take_cursor(&mut self) -> Option<Option<Cursor>> {
        self.cursor.take()
    }

    /// The early answer, if it was asked with `token` (the token the pass
    /// lists from; a pass that must read in full asks without one).
    pub fn listing_for(&mut self, token: Option<&SyncToken>) -> Option<ChangeSet> {
        match (self.listing.take(), token) {
            (Some(early), Some(token)) if &early.token == token => Some(early.changes),
            _ => None,
        }
    }

    /// The first pass's reads taken ahead, once, if nothing was written
    /// through `store` since (R-SYNC-PERF-7); `None` and the pass reads.
    pub fn take_reads(&mut self, store: &RunStores) -> Option<PassReads> {
        self.ahead.take()?.if_current(store)
    }
}

/// Every class's early reads, and the listings to ask for at once.
pub(crate) struct Prelist {
    pub early: HashMap<EntityClass, Early>,
    asks: Vec<(EntityClass, Collection, SyncToken)>,
}

/// The early listings' answers, for [`Prelist::keep`].
pub(crate) struct Answers(Vec<(EntityClass, SyncToken, Option<ChangeSet>)>);

/// Reads each syncable class's remembered collection and cursor (two
/// statements for all classes, R-SYNC-PERF-7) and picks the collections to
/// list early.
pub(crate) async fn read(store: &RunStores, profile: &SyncProfile) -> Result<Prelist, SyncError> {
    let mut remembered = store.sync_state().remembered_collections_by_name(&profile.name).await?;
    let mut cursors = store.sync_state().cursors(&profile.name).await?;
    let mut early = HashMap::new();
    for &class in &profile.classes {
        if collection_kind(class).is_none() {
            continue;
        }
        let name = collection_name(class);
        // Unreadable JSON (written by another version) only costs a discovery.
        let remembered = remembered
            .remove(name)
            .and_then(|json| serde_json::from_str::<Collection>(&json).ok())
            .filter(|c| {
                profile
                    .collections
                    .get(name)
                    .is_none_or(|w| crate::choice::still_chosen(c, w))
            });
        early.insert(
            class,
            Early {
                remembered,
                cursor: Some(cursors.remove(name)),
                ..Early::default()
            },
        );
    }
    let mut asks: Vec<(EntityClass, Collection, SyncToken)> = early
        .iter()
        .filter_map(|(class, e)| {
            let collection = e.remembered.clone()?;
            let token = e.cursor.as_ref()?.as_ref()?.token.clone()?;
            Some((*class, collection, SyncToken::new(token)))
        })
        .filter(|(class, collection, _)| !shared_with_another_class(&early, *class, collection))
        .collect();
    // One at a time gains nothing: the pass lists it itself. Nor does a
    // connector that opted out (R-SYNC-PERF-6): its passes list for themselves.
    if asks.len() < 2 || !profile.connector.lists_early() {
        asks.clear();
    }
    Ok(Prelist { early, asks })
}

impl Prelist {
    /// Asks for the changes of every collection picked at once. A failed
    /// early listing is dropped: the pass lists again and meets the error
    /// where it is handled today (a gone collection is discovered again).
    /// Reads and writes nothing of the store, so the run's own statements
    /// can go on while it waits (R-SYNC-PERF-7).
    pub async fn list(&self, profile: &SyncProfile) -> Answers {
        Answers(
            futures_util::future::join_all(self.asks.iter().map(|(class, collection, token)| async move {
                profile.connector.remember_collection(collection);
                let answer = list_bounded(profile, collection, token).await;
                (*class, token.clone(), answer)
            }))
            .await,
        )
    }

    /// Hands each answer to its collection's first pass.
    pub fn keep(&mut self, answers: Answers) {
        for (class, token, answer) in answers.0 {
            if let (Some(changes), Some(e)) = (answer, self.early.get_mut(&class)) {
                e.listing = Some(EarlyListing { token, changes });
            }
        }
    }

    /// Hands each collection's first-pass reads to its pass.
    pub fn keep_reads(&mut self, mut ahead: HashMap<EntityClass, ReadAhead>) {
        for (class, e) in &mut self.early {
            e.ahead = ahead.remove(class);
        }
    }
}

/// Whether another class of the profile remembers the same server collection.
fn shared_with_another_class(early: &HashMap<EntityClass, Early>, class: EntityClass, collection: &Collection) -> bool {
    early
        .iter()
        .any(|(other, e)| *other != class && e.remembered.as_ref().is_some_and(|c| c.id == collection.id))
}

/// The changes since `token`, a complete listing's pages kept up to
/// [`MAX_KEPT_ITEMS`]; `None` when it failed or was larger.
async fn list_bounded(profile: &SyncProfile, collection: &Collection, token: &SyncToken) -> Option<ChangeSet> {
    let mut kept: Vec<ItemMeta> = Vec::new();
    let mut too_many = false;
    let mut changes = profile
        .connector
        .changes_paged(&collection.id, Some(token), &mut |page| {
            if too_many || kept.len() + page.len() > MAX_KEPT_ITEMS {
                too_many = true;
                kept = Vec::new();
            } else {
                kept.extend(page);
            }
        })
        .await
        .ok()?;
    if changes.complete {
        if too_many {
            return None;
        }
        changes.changed = kept;
    }
    Some(changes)
}
