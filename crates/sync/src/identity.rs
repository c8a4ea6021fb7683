//! Pairing by identity (R-SYNC-ID-2, R-SYNC-ID-3): an item whose UID crmsync
//! itself gave (the CRM id) or derived from (a groupware-born record's id) is
//! the same thing as that record, whatever their fields say. Exact, so it runs
//! before the engine's first-sync matching (R-PAIR-1), and survives crashes
//! and resets.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use crmsync_engine::{CollectionInput, CrmSide, EntityClass, GroupwareSide, Origin, PairState, PairedItem};
use crmsync_store::status::PairRow;

use crate::collect::{Lookups, derived_crm_id, engine_record};
use crate::crm_side::{CrmRecordState, CrmState};
use crate::error::SyncError;
use crate::groupware_side::{FetchedState, GroupwareState};
use crate::pair_codec::to_status;
use crate::pass_keys::PassKeys;
use crate::recover::InterruptedCreates;

/// The CRM ids the unpaired items of `groupware` name by identity, for the
/// CRM side to read even when unchanged since the cursor.
pub(crate) fn named_ids(
    profile: &str,
    class: EntityClass,
    groupware: &GroupwareState,
    pairs: &PassKeys,
) -> BTreeSet<String> {
    groupware
        .items
        .values()
        .filter(|g| !pairs.has_href(g.item.href.as_str()))
        .flat_map(|g| [g.uid.clone(), derived_crm_id(profile, class, &g.uid)])
        .filter(|id| !pairs.has_record(id))
        .collect()
}

/// What identity pairing needs to know about the collection.
pub(crate) struct Identity<'a> {
    pub profile: &'a str,
    pub class: EntityClass,
    pub collection: &'a str,
    pub creates: &'a InterruptedCreates,
    pub limits: &'a BTreeMap<String, usize>,
}

/// What identity pairing took: the rest goes to the engine as unpaired.
#[derive(Default)]
pub(crate) struct Taken {
    pub crm: BTreeSet<String>,
    pub groupware: BTreeSet<String>,
}

impl Identity<'_> {
    /// Pairs each unpaired item with the record its UID names: an unpaired
    /// record, or the record of a live pair whose item is gone this run (the
    /// item came back under another name: re-created by a run that crashed
    /// before it saved the pair, or renamed by the user). Adds the pairs to
    /// `input` and `lookups`.
    pub(crate) fn pair(
        &self,
        unpaired_crm: &[&CrmRecordState],
        unpaired_gw: &[&FetchedState],
        crm: &CrmState,
        groupware: &GroupwareState,
        input: &mut CollectionInput,
        lookups: &mut Lookups,
    ) -> Result<Taken, SyncError> {
        // Live pairs whose item was deleted while their record still exists, by CRM id.
        let mut moved: BTreeMap<String, String> = lookups
            .pairs
            .values()
            .filter(|p| {
                p.state == PairState::Live && groupware.deleted.contains(&p.href) && !crm.deleted.contains(&p.crm_id)
            })
            .map(|p| (p.crm_id.clone(), p.id.clone()))
            .collect();
        let mut taken = Taken::default();
        for gw in unpaired_gw {
            let derived = derived_crm_id(self.profile, self.class, &gw.uid);
            let names = |id: &str| id == gw.uid || id == derived;
            let record = unpaired_crm
                .iter()
                .find(|r| !taken.crm.contains(r.record.id()) && names(r.record.id()));
            if let Some(rec) = record {
                let row = self.new_pair(rec, gw);
                input.pairs.push(PairedItem {
                    pair: to_status(&row)?,
                    crm: CrmSide::Present(engine_record(rec)),
                    groupware: GroupwareSide::Present(gw.item.clone()),
                });
                taken.crm.insert(row.crm_id.clone());
                taken.groupware.insert(row.href.clone());
                lookups.pairs.insert(row.id.clone(), row);
            } else if let Some(crm_id) = moved.keys().find(|id| names(id)).cloned() {
                let pair_id = moved.remove(&crm_id).expect("just found");
                self.move_pair(&pair_id, gw, input, lookups);
                taken.groupware.insert(gw.item.href.clone());
            }
        }
        Ok(taken)
    }

    /// A new pair of a record and the item its UID names. Its base is what
    /// crmsync last wrote to both, when an interrupted run's journal knows it
    /// (a create that landed before the crash). Otherwise nothing is known to
    /// be agreed (after a reset, or a crash whose journal a later crash
    /// closed): the base is what both sides hold alike, so a field only one
    /// side holds is copied and a field they hold differently is a conflict
    /// under the profile's policy (R-ENG-7), never taken for an edit of one.
    fn new_pair(&self, rec: &CrmRecordState, gw: &FetchedState) -> PairRow {
        let crm_id = rec.record.id();
        let (origin, written) = if crm_id == gw.uid {
            (Origin::Crm, self.creates.groupware_create(self.collection, crm_id))
        } else {
            (
                Origin::Groupware,
                self.creates.crm_create(self.collection, &gw.item.href),
            )
        };
        let base = match written {
            Some(base) => base.clone(),
            None => crmsync_engine::merge::agreed_base(&rec.fields, &gw.item.fields, self.limits),
        };
        PairRow {
            id: uuid::Uuid::new_v4().to_string(),
            profile: self.profile.to_string(),
            collection: self.collection.to_string(),
            crm_id: crm_id.to_string(),
            href: gw.item.href.clone(),
            // Unknown on purpose: the pair is not in the store yet, and an
            // empty ETag and version 0 make the engine compare both sides.
            etag: String::new(),
            uid: Some(gw.uid.clone()),
            crm_version: 0,
            origin,
            state: PairState::Live,
            base,
            facts: None,
            raw: Some(gw.raw.clone()),
            updated_at: Utc::now(),
        }
    }

    /// Points pair `pair_id`, whose item is gone, at `gw`, which carries its
    /// record's identity under another href. The base stays what both sides
    /// last agreed on, so the item merges as an edit of the old one; the pair
    /// is saved with the new href because its ETag is unknown.
    fn move_pair(&self, pair_id: &str, gw: &FetchedState, input: &mut CollectionInput, lookups: &mut Lookups) {
        let Some(row) = lookups.pairs.get_mut(pair_id) else {
            return;
        };
        row.href = gw.item.href.clone();
        row.etag = String::new();
        row.uid = Some(gw.uid.clone());
        row.raw = Some(gw.raw.clone());
        if let Some(paired) = input.pairs.iter_mut().find(|p| p.pair.id == pair_id) {
            paired.pair.href = gw.item.href.clone();
            paired.pair.etag = String::new();
            paired.groupware = GroupwareSide::Present(gw.item.clone());
        }
    }
}
