//! What a pass reads of the status store before it looks at the listing:
//! its pair keys, its quarantined items, its open conflicts, whether its
//! duplicates report lists a group, the pairs kept apart.
//!
//! R-SYNC-PERF-7: for each collection's first pass these are read ahead,
//! for every collection of the run, while the run's early listings
//! (R-SYNC-PERF-5) are in flight, instead of one collection after another
//! once they are answered; the three profile-wide reads among them
//! (quarantine, conflicts, duplicates) are read once for all collections.
//!
//! Why a read taken this early is the read the pass would take: the rows
//! read are each keyed by their collection, and during a run only that
//! collection's own passes write them. Still, a pass uses what was read
//! ahead only when nothing was written through the run's store since
//! ([`crmsync_store::SyncState::writes_started`]; a fenced store, one
//! leased run, counts its own writes): a run whose earlier collection wrote
//! anything reads again, exactly as before. So a no-change run uses them
//! all, and a run with work behaves as it did. Other processes (an operator
//! resolving a conflict, asking for a retry) may write between this read
//! and the pass as they may between any two reads of a pass: the next run
//! sees what they wrote.
//!
//! R-SYNC-PERF-9: the first reads of the CRM side are taken ahead too: the
//! change log's position once for all collections (the pass's next cursor,
//! `crm_side::CrmState::high_seq`) and the user's *synchronize* flags once
//! (contacts). The position was always read before anything of the CRM was
//! loaded, so that a change committed while the pass loads is seen by the
//! next run; read earlier it is still read before, and a change committed
//! after it (a flag toggled, a record edited) has a later number, which the
//! next run reads from this run's cursor. The flags are read after the
//! position, as the pass read them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crmsync_engine::EntityClass;
use crmsync_store::status::{KeptApart, QuarantineRow};

use crate::error::SyncError;
use crate::pass_keys::PassKeys;
use crate::profile::{SyncProfile, collection_kind, collection_name};
use crate::stores::RunStores;

/// The most pairs a collection's keys are read ahead for (about 1 MB of
/// keys): they are held beside the passes of the collections before it,
/// where a pass otherwise holds only its own collection's keys
/// (R-SCALE-10). A larger collection's first pass reads its keys itself.
const MAX_KEYS_AHEAD: usize = 20_000;

/// One pass's reads.
#[derive(Debug)]
pub(crate) struct PassReads {
    pub keys: PassKeys,
    /// The collection's quarantine rows.
    pub quarantined: Vec<QuarantineRow>,
    /// The pair ids of the collection's open (manual) conflicts.
    pub conflict_pairs: Vec<String>,
    /// Whether the collection's last duplicates report lists a group.
    pub had_duplicates: bool,
    pub kept_apart: KeptApart,
    /// The CRM side's first reads, when taken ahead (R-SYNC-PERF-9); a
    /// pass that reads for itself reads them in `crm_side::load`.
    pub crm: Option<CrmReads>,
}

/// The CRM side's first reads of a pass.
#[derive(Debug, Clone)]
pub(crate) struct CrmReads {
    /// The change log's position, read before anything of the CRM.
    pub high_seq: i64,
    /// The contacts the profile's user flagged *synchronize* (empty for
    /// the other classes, which do not use them).
    pub sync_flags: BTreeSet<String>,
}

/// A first pass's reads, taken ahead.
#[derive(Debug)]
pub(crate) struct ReadAhead {
    /// [`writes_started`] before they were read: they stand while it has
    /// not moved.
    writes_at: u64,
    reads: PassReads,
}

impl ReadAhead {
    /// The reads, if nothing was written through `store` since.
    pub fn if_current(self, store: &RunStores) -> Option<PassReads> {
        (writes_started(store) == self.writes_at).then_some(self.reads)
    }
}

/// Writes started through the run's two handles (one count when both come
/// from one store; equal twice means nothing was written in between).
fn writes_started(store: &RunStores) -> u64 {
    store.records().writes_started() + store.sync_state().writes_started()
}

/// A pass's reads, by the pass itself: five statements.
pub(crate) async fn read(store: &RunStores, profile: &str, collection: &str) -> Result<PassReads, SyncError> {
    let state = store.sync_state();
    let keys = PassKeys::read(store, profile, collection).await?;
    let quarantined = state
        .quarantined(profile)
        .await?
        .into_iter()
        .filter(|q| q.collection == collection)
        .collect();
    let conflict_pairs = state
        .open_conflicts(Some(profile))
        .await?
        .into_iter()
        .filter(|c| c.collection == collection)
        .map(|c| c.pair_id)
        .collect();
    let had_duplicates = lists_a_group(&state.duplicates(profile).await?, collection);
    let kept_apart = state.kept_apart(profile, collection).await?;
    Ok(PassReads {
        keys,
        quarantined,
        conflict_pairs,
        had_duplicates,
        kept_apart,
        crm: None,
    })
}

/// Every syncable class's first-pass reads (R-SYNC-PERF-7): three
/// profile-wide statements, then per collection its pair keys and its
/// kept-apart pairs, then the change log's position and, with contacts
/// among them, the user's sync flags (R-SYNC-PERF-9). A collection with
/// more than [`MAX_KEYS_AHEAD`] pairs is left to its pass.
pub(crate) async fn read_ahead(
    store: &RunStores,
    profile: &SyncProfile,
) -> Result<HashMap<EntityClass, ReadAhead>, SyncError> {
    let writes_at = writes_started(store);
    let state = store.sync_state();
    let mut quarantined: BTreeMap<String, Vec<QuarantineRow>> = BTreeMap::new();
    for row in state.quarantined(&profile.name).await? {
        quarantined.entry(row.collection.clone()).or_default().push(row);
    }
    let mut conflicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in state.open_conflicts(Some(&profile.name)).await? {
        conflicts.entry(c.collection).or_default().push(c.pair_id);
    }
    let duplicates = state.duplicates(&profile.name).await?;
    let mut ahead = HashMap::new();
    for &class in &profile.classes {
        if collection_kind(class).is_none() {
            continue;
        }
        let name = collection_name(class);
        let Some(keys) = PassKeys::read_at_most(store, &profile.name, name, MAX_KEYS_AHEAD).await? else {
            continue;
        };
        let reads = PassReads {
            keys,
            quarantined: quarantined.remove(name).unwrap_or_default(),
            conflict_pairs: conflicts.remove(name).unwrap_or_default(),
            had_duplicates: lists_a_group(&duplicates, name),
            kept_apart: state.kept_apart(&profile.name, name).await?,
            crm: None,
        };
        ahead.insert(class, ReadAhead { writes_at, reads });
    }
    if ahead.is_empty() {
        return Ok(ahead);
    }
    // After the pair keys, as in a pass that reads for itself.
    let high_seq = store.records().latest_seq().await?;
    let sync_flags = if ahead.contains_key(&EntityClass::Contacts) {
        store.records().sync_flags(&profile.actor.user_id).await?
    } else {
        BTreeSet::new()
    };
    for (class, a) in &mut ahead {
        a.reads.crm = Some(CrmReads {
            high_seq,
            sync_flags: if *class == EntityClass::Contacts {
                sync_flags.clone()
            } else {
                BTreeSet::new()
            },
        });
    }
    Ok(ahead)
}

/// Whether `collection`'s report among a profile's duplicates reports
/// lists any group.
fn lists_a_group(reports: &[(String, String)], collection: &str) -> bool {
    reports
        .iter()
        .any(|(c, report)| c == collection && report.trim() != "[]")
}
