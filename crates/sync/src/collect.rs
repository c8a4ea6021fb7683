//! Builds the engine's input for one collection from the pairs and what each
//! side loaded, and keeps the lookups the apply step needs afterwards.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crmsync_engine::{
    CollectionInput, CrmRecord as EngineRecord, CrmSide, EntityClass, GroupwareSide, Hidden, PairStatus, PairedItem,
};
use crmsync_store::status::{PairKey, PairRow};

use crate::crm_side::{CrmRecordState, CrmState};
use crate::error::SyncError;
use crate::groupware_side::{FetchedState, GroupwareState};
use crate::identity::Identity;
use crate::pair_codec::to_status;
use crate::pass_keys::PassKeys;
use crate::recover::InterruptedCreates;
use crate::stores::RunStores;

/// The CRM id a groupware-born record gets: derived from the profile, class
/// and UID, so that re-running a create that crashed after the CRM write
/// finds the record instead of making a second one (R-SAFE-2).
pub(crate) fn derived_crm_id(profile: &str, class: EntityClass, uid: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6b1d_5a3e_0c2f_4e7a_9d41_c3a8_52f0_7e19);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{profile}\n{class}\n{uid}").as_bytes()).to_string()
}

/// Everything one collection's apply step looks up by pair, record or href.
#[derive(Debug, Default)]
pub(crate) struct Lookups {
    /// Stored pairs plus pairs found by identity this run, by pair id.
    pub pairs: HashMap<String, PairRow>,
    pub crm: HashMap<String, CrmRecordState>,
    pub groupware: HashMap<String, FetchedState>,
}

pub(crate) struct Collected {
    pub input: CollectionInput,
    pub lookups: Lookups,
}

pub(crate) struct Sources<'a> {
    pub profile: &'a str,
    pub class: EntityClass,
    pub collection: &'a str,
    /// Every pair of the collection, keys only, as digests.
    pub keys: &'a PassKeys,
    /// The full rows of the pairs either side changed (the others are
    /// unchanged on both sides, so the engine has nothing to do for them).
    pub pairs: Vec<PairRow>,
    pub crm: CrmState,
    pub groupware: GroupwareState,
    /// What interrupted runs' creates wrote (the base of identity pairs).
    pub creates: &'a InterruptedCreates,
    /// The class's field limits (R-FIELD-6), for what both sides agree on.
    pub limits: &'a BTreeMap<String, usize>,
}

/// The keys of the pairs [`quarantine_duplicate_uids`] asks about: those
/// holding the UID of an item read, the record an item's UID derives, or
/// an item's href. Streamed from the store and only when items were read,
/// so a pass holds no UID of every pair (R-SCALE-10). What the function
/// then finds is what it found among all pairs: it looks up nothing else.
pub(crate) async fn pairs_sharing_with_items(
    store: &RunStores,
    keys: &PassKeys,
    groupware: &GroupwareState,
    profile: &str,
    class: EntityClass,
) -> Result<Vec<PairKey>, SyncError> {
    if groupware.items.is_empty() || keys.is_empty() {
        return Ok(Vec::new());
    }
    let uids: BTreeSet<&str> = groupware.items.values().map(|g| g.uid.as_str()).collect();
    let derived: BTreeSet<String> = uids.iter().map(|uid| derived_crm_id(profile, class, uid)).collect();
    keys.matching(store, |k| {
        k.uid.as_deref().is_some_and(|uid| uids.contains(uid))
            || derived.contains(&k.crm_id)
            || groupware.items.contains_key(&k.href)
    })
    .await
}

/// Two items of one collection with one UID (a copied file, an import run
/// twice) would both become, or pair with, the one CRM record that UID names;
/// the second pair would then fail to save and with it the whole run. The item
/// a pair holds keeps the UID, else the first by href; every other is
/// quarantined (R-SAFE-4, R-SYNC-UID-2), so it is never written or deleted and
/// is read again once it changes.
pub(crate) fn quarantine_duplicate_uids(
    groupware: &mut GroupwareState,
    pairs: &[PairKey],
    profile: &str,
    class: EntityClass,
) {
    // No item read, no copy to find: skip the indexes of every pair (a
    // confirming pass of a first sync reads none, R-SCALE-10).
    if groupware.items.is_empty() {
        return;
    }
    let mut holder: HashMap<&str, &str> = HashMap::new();
    for p in pairs {
        if let Some(uid) = p.uid.as_deref()
            && !groupware.deleted.contains(&p.href)
        {
            holder.insert(uid, &p.href);
        }
    }
    // A UID names the CRM record derived from it (`derived_crm_id`) even
    // after the item that made the record took another UID: an unpaired item
    // with the old UID would become, or pair with, that record while its
    // pair still holds it, and the second pair would fail the whole run.
    let held_records: HashMap<&str, &str> = pairs
        .iter()
        .filter(|p| !groupware.deleted.contains(&p.href))
        .map(|p| (p.crm_id.as_str(), p.href.as_str()))
        .collect();
    let paired: BTreeSet<&str> = pairs.iter().map(|p| p.href.as_str()).collect();
    let mut hrefs: Vec<&String> = groupware.items.keys().collect();
    // Paired items first, so a new copy never displaces the one in sync.
    hrefs.sort_by_key(|h| (!paired.contains(h.as_str()), *h));
    let mut copies: Vec<(String, String)> = Vec::new();
    for href in hrefs {
        let uid = groupware.items[href].uid.as_str();
        match holder.get(uid) {
            Some(first) if first != href => {
                let why = format!(
                    "another item ({first}) has the same UID {uid:?} and is the one that syncs; \
                     give this copy a new UID or delete it"
                );
                copies.push((href.clone(), why));
            }
            Some(_) => {}
            None => {
                let derived = derived_crm_id(profile, class, uid);
                let record_holder = held_records
                    .get(derived.as_str())
                    .filter(|first| **first != href.as_str() && !paired.contains(href.as_str()));
                if let Some(first) = record_holder {
                    let why = format!(
                        "the CRM record the UID {uid:?} names ({derived}) syncs with another item ({first}), \
                         which had this UID before; give this copy a new UID or delete it"
                    );
                    copies.push((href.clone(), why));
                } else {
                    holder.insert(uid, href);
                }
            }
        }
    }
    for (href, why) in copies {
        if let Some(copy) = groupware.items.remove(&href) {
            groupware.quarantined.insert(href, (copy.item.etag, why));
        }
    }
}

pub(crate) fn collect(src: Sources<'_>) -> Result<Collected, SyncError> {
    let Sources {
        profile,
        class,
        collection,
        keys,
        pairs,
        crm,
        groupware,
        creates,
        limits,
    } = src;
    let mut input = CollectionInput::new(class, collection);
    let pair_count = keys.len();

    for row in &pairs {
        let mut status = to_status(row)?;
        let crm_side = crm_side_of(&status, &crm);
        let gw_side = if let Some(f) = groupware.items.get(&row.href) {
            GroupwareSide::Present(f.item.clone())
        } else if groupware.deleted.contains(&row.href) {
            GroupwareSide::Deleted
        } else {
            GroupwareSide::Unchanged
        };
        if let (CrmSide::Present(rec), GroupwareSide::Present(item)) = (&crm_side, &gw_side) {
            creates.settle_base(collection, &mut status, rec, item);
        }
        if crm_side != CrmSide::Unchanged || gw_side != GroupwareSide::Unchanged {
            input.pairs.push(PairedItem {
                pair: status,
                crm: crm_side,
                groupware: gw_side,
            });
        }
    }

    let mut lookups = Lookups {
        pairs: pairs.into_iter().map(|p| (p.id.clone(), p)).collect(),
        ..Lookups::default()
    };

    // Unpaired records the user may read, and unpaired items; first match
    // them by identity (identity.rs); the engine pairs the rest (R-PAIR-1).
    let mut unpaired_crm: Vec<&CrmRecordState> = crm
        .present
        .values()
        .filter(|r| r.facts.readable && !keys.has_record(r.record.id()))
        .collect();
    unpaired_crm.sort_by(|a, b| a.record.id().cmp(b.record.id()));
    let mut unpaired_gw: Vec<&FetchedState> = groupware
        .items
        .values()
        .filter(|g| !keys.has_href(g.item.href.as_str()))
        .collect();
    unpaired_gw.sort_by(|a, b| a.item.href.cmp(&b.item.href));

    let identity = Identity {
        profile,
        class,
        collection,
        creates,
        limits,
    };
    let taken = identity.pair(&unpaired_crm, &unpaired_gw, &crm, &groupware, &mut input, &mut lookups)?;
    input.unpaired_crm = unpaired_crm
        .iter()
        .filter(|r| !taken.crm.contains(r.record.id()))
        .map(|r| engine_record(r))
        .collect();
    input.unpaired_groupware = unpaired_gw
        .iter()
        .filter(|g| !taken.groupware.contains(&g.item.href))
        .map(|g| g.item.clone())
        .collect();
    input.crm_total = Some(pair_count + input.unpaired_crm.len());
    input.groupware_total = Some(groupware.listed.unwrap_or(pair_count + input.unpaired_groupware.len()));

    lookups.crm = crm.present;
    lookups.groupware = groupware.items;
    Ok(Collected { input, lookups })
}

pub(crate) fn engine_record(r: &CrmRecordState) -> EngineRecord {
    EngineRecord {
        id: r.record.id().to_string(),
        fields: r.fields.clone(),
        version: r.record.version(),
        modified_at: r.record.modified_at(),
        facts: r.facts.clone(),
    }
}

pub(crate) fn crm_side_of(pair: &PairStatus, crm: &CrmState) -> CrmSide {
    if let Some(rec) = crm.present.get(&pair.crm_id) {
        if !rec.facts.readable {
            return CrmSide::NotVisible {
                reason: Hidden::Unreadable,
            };
        }
        return CrmSide::Present(engine_record(rec));
    }
    if crm.deleted.contains(&pair.crm_id) {
        // The tombstone has no facts of its own for sync; the pair's last
        // facts are what the record was when both sides last agreed.
        let facts = pair.last_facts.clone().unwrap_or_else(conservative_facts);
        return CrmSide::Deleted { facts };
    }
    CrmSide::Unchanged
}

/// Facts for a deleted record nothing is known about: owned by the user, so
/// every deletion rule errs toward keeping the groupware copy (R-DEL-3).
fn conservative_facts() -> crmsync_engine::CrmFacts {
    crmsync_engine::CrmFacts {
        owner_is_user: true,
        readable: true,
        writable: true,
        active: true,
        sync_flagged: false,
        activity: None,
    }
}
