//! The CRM side of one collection: what changed since the cursor (or, on a
//! first or reset run, every record the profile may take), as engine inputs.

use std::collections::{BTreeSet, HashMap};

use crmsync_engine::{CrmFacts, EntityClass};
use crmsync_model::{ActivityFields, ContactFields, EntityKind, FieldMap};
use crmsync_store::{ListQuery, MAX_PAGE, StoreError};

use crate::codec::{Codec, CrmRecord};
use crate::compact_ids::CompactIds;
use crate::directory::Needs;
use crate::error::SyncError;
use crate::pass_keys::PassKeys;
use crate::pass_reads::CrmReads;
use crate::profile::SyncProfile;
use crate::stores::RunStores;

/// A CRM record as the engine will see it.
#[derive(Debug, Clone)]
pub(crate) struct CrmRecordState {
    pub record: CrmRecord,
    pub fields: FieldMap,
    pub facts: CrmFacts,
}

#[derive(Debug, Default)]
pub(crate) struct CrmState {
    pub present: HashMap<String, CrmRecordState>,
    /// Records deleted since the cursor.
    pub deleted: BTreeSet<String>,
    /// The change-log position read before anything was loaded: the next
    /// cursor. A change committed while the run loads is seen next time.
    pub high_seq: i64,
    /// Unpaired candidates of a streamed full pass, by id only: loaded,
    /// mapped, planned and applied a batch at a time (`stream.rs`,
    /// R-SYNC-STREAM-1), so the pass holds ids, not records, for them;
    /// compact ids at that (R-SCALE-10).
    pub deferred: CompactIds,
}

/// What a full CRM pass does with the candidates no pair knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unpaired {
    /// Load and map them now, for identity and first-sync pairing.
    Load,
    /// Keep only their ids: nothing on the groupware side can pair with them.
    Defer,
}

/// How many change-log entries are read per query.
const CHANGE_PAGE: u32 = 1000;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn load(
    store: &RunStores,
    profile: &SyncProfile,
    codec: &Codec<'_>,
    since: Option<i64>,
    paired: &PassKeys,
    reread: &BTreeSet<String>,
    identities: &BTreeSet<String>,
    unpaired: Unpaired,
    ahead: Option<CrmReads>,
) -> Result<CrmState, SyncError> {
    // Read ahead while the listings were in flight (R-SYNC-PERF-9), or now.
    let CrmReads {
        high_seq,
        sync_flags: flags,
    } = match ahead {
        Some(reads) => reads,
        None => {
            let high_seq = store.records().latest_seq().await?;
            let sync_flags = if codec.class == EntityClass::Contacts {
                store.records().sync_flags(&profile.actor.user_id).await?
            } else {
                BTreeSet::new()
            };
            CrmReads { high_seq, sync_flags }
        }
    };
    let mut state = CrmState {
        high_seq,
        ..CrmState::default()
    };
    let mut touched: BTreeSet<String> = BTreeSet::new();
    // Records are mapped a batch at a time: the directory looks up what one
    // batch needs (R-SCALE-8).
    let mut batch: Vec<CrmRecord> = Vec::new();
    match since {
        None => {
            // Full pass: every candidate the profile may take, plus every
            // paired record (it may have left the candidates: R-DEL-5, R-PERM-1).
            // Page by page, so a deferring pass never holds every record.
            let mut at = None;
            loop {
                let (page, next) = candidate_page(store, profile, codec.class, at).await?;
                for record in page {
                    let id = record.id();
                    // A record named by identity (R-SYNC-ID-2, R-SYNC-CRASH-3)
                    // is read with the pass below; deferred as well, it was
                    // planned twice and created twice (found by the Graph
                    // model-based test: a create a crash stopped, then streamed).
                    if unpaired == Unpaired::Defer
                        && !paired.has_record(id)
                        && !reread.contains(id)
                        && !identities.contains(id)
                    {
                        state.deferred.push(id);
                        continue;
                    }
                    touched.insert(id.to_string());
                    batch.push(record);
                }
                add_all(store, profile, codec, &flags, std::mem::take(&mut batch), &mut state).await?;
                match next {
                    Some(next) => at = Some(next),
                    None => break,
                }
            }
            // Batches in id order, as the engine would have planned them; a
            // record edited while the pages were read is listed twice.
            state.deferred.seal();
            // Read back as strings only here: a full pass with pairs (a
            // reset, an open duplicate group) reads every paired record.
            touched.extend(paired.crm_ids(store).await?);
        }
        Some(seq) => {
            let kind = if codec.class == EntityClass::Contacts {
                EntityKind::Contact
            } else {
                EntityKind::Activity
            };
            let mut from = seq;
            while from < state.high_seq {
                let page = store.records().changes_since(from, CHANGE_PAGE).await?;
                let Some(last) = page.last() else { break };
                from = last.seq;
                touched.extend(
                    page.iter()
                        .filter(|c| c.seq <= state.high_seq && c.entity == kind)
                        .map(|c| c.record_id.clone()),
                );
            }
            // Paired records read even when unchanged (an open conflict).
            touched.extend(reread.iter().cloned());
        }
    }
    for id in touched {
        if state.present.contains_key(&id) {
            continue;
        }
        match fetch(store, codec.class, &id).await? {
            Some(record) if record.class() == codec.class => {
                batch.push(record);
                if batch.len() >= MAX_PAGE as usize {
                    add_all(store, profile, codec, &flags, std::mem::take(&mut batch), &mut state).await?;
                }
            }
            // An activity whose kind moved it to another class: for this
            // collection it is gone (the other collection picks it up).
            Some(_) if paired.has_record(&id) => {
                state.deleted.insert(id);
            }
            Some(_) => {}
            None => {
                state.deleted.insert(id);
            }
        }
    }
    add_all(store, profile, codec, &flags, std::mem::take(&mut batch), &mut state).await?;
    // Records an unpaired item names by identity (identity.rs), read even
    // when unchanged since the cursor: a run that crashed after forgetting a
    // pair and re-creating its item leaves the record unpaired and quiet, and
    // the item must find it instead of becoming a second record. A name
    // nothing has is no deletion.
    for id in identities {
        if state.present.contains_key(id) || state.deleted.contains(id) {
            continue;
        }
        if let Some(record) = fetch(store, codec.class, id).await?
            && record.class() == codec.class
        {
            batch.push(record);
        }
    }
    add_all(store, profile, codec, &flags, batch, &mut state).await?;
    Ok(state)
}

/// Records by id, as a full pass would have loaded them (a batch of a
/// streamed pass): gone or moved to another class since the listing, a
/// record is left out (it is unpaired, so that is no deletion).
pub(crate) async fn load_batch(
    store: &RunStores,
    profile: &SyncProfile,
    codec: &Codec<'_>,
    ids: &[String],
) -> Result<CrmState, SyncError> {
    let mut state = CrmState::default();
    let flags = if codec.class == EntityClass::Contacts {
        store.records().sync_flags(&profile.actor.user_id).await?
    } else {
        BTreeSet::new()
    };
    let records: Vec<CrmRecord> = if codec.class == EntityClass::Contacts {
        let found = store.records().get_many::<ContactFields>(ids).await?;
        found.into_iter().map(CrmRecord::Contact).collect()
    } else {
        let found = store.records().get_many::<ActivityFields>(ids).await?;
        found.into_iter().map(CrmRecord::Activity).collect()
    };
    let records = records.into_iter().filter(|r| r.class() == codec.class).collect();
    add_all(store, profile, codec, &flags, records, &mut state).await?;
    Ok(state)
}

/// The CRM side of a single record, as a full pass would see it (explain).
pub(crate) async fn load_one(
    store: &RunStores,
    profile: &SyncProfile,
    codec: &Codec<'_>,
    id: &str,
    paired_ids: &BTreeSet<String>,
) -> Result<CrmState, SyncError> {
    let mut state = CrmState::default();
    let flags = if codec.class == EntityClass::Contacts {
        store.records().sync_flags(&profile.actor.user_id).await?
    } else {
        BTreeSet::new()
    };
    match fetch(store, codec.class, id).await? {
        Some(record) if record.class() == codec.class => {
            add_all(store, profile, codec, &flags, vec![record], &mut state).await?
        }
        Some(_) if !paired_ids.contains(id) => {}
        _ => {
            state.deleted.insert(id.to_string());
        }
    }
    Ok(state)
}

/// One page of the records the profile may take, and where the next starts.
async fn candidate_page(
    store: &RunStores,
    profile: &SyncProfile,
    class: EntityClass,
    at: Option<String>,
) -> Result<(Vec<CrmRecord>, Option<String>), SyncError> {
    if class == EntityClass::Contacts {
        let q = ListQuery {
            visible_to: Some(profile.actor.clone()),
            owner_id: None,
            modified_since: None,
            cursor: at,
            limit: MAX_PAGE,
        };
        let page = store.records().list::<ContactFields>(&q).await?;
        return Ok((
            page.items.into_iter().map(CrmRecord::Contact).collect(),
            page.next_cursor,
        ));
    }
    let page = store
        .records()
        .activities_for_user_page(&profile.actor.user_id, at.as_deref(), MAX_PAGE)
        .await?;
    let next = (page.len() == MAX_PAGE as usize)
        .then(|| page.last().map(|a| a.id().to_string()))
        .flatten();
    let records = page
        .into_iter()
        .filter(|a| EntityClass::for_activity(a.fields.kind) == class)
        .map(CrmRecord::Activity)
        .collect();
    Ok((records, next))
}

async fn fetch(store: &RunStores, class: EntityClass, id: &str) -> Result<Option<CrmRecord>, SyncError> {
    let result = if class == EntityClass::Contacts {
        store.records().get::<ContactFields>(id).await.map(CrmRecord::Contact)
    } else {
        store.records().get::<ActivityFields>(id).await.map(CrmRecord::Activity)
    };
    match result {
        Ok(r) => Ok(Some(r)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Maps `records` into `state`, after looking up in the directory what
/// they name (R-SCALE-8) and reading their journals: one batch, one set of
/// lookups, one journal query (R-VDIR-12).
async fn add_all(
    store: &RunStores,
    profile: &SyncProfile,
    codec: &Codec<'_>,
    flags: &BTreeSet<String>,
    records: Vec<CrmRecord>,
    state: &mut CrmState,
) -> Result<(), SyncError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut needs = Needs::default();
    for record in &records {
        needs.of_record(record);
    }
    codec.prepare(needs).await?;
    // A batch comes from one entity's listing; its journals are read by
    // that entity, taken from the records themselves.
    let entity = entity_of(&records[0]);
    debug_assert!(
        records.iter().all(|r| entity_of(r) == entity),
        "a batch mixes contacts and activities"
    );
    let with_facts: Vec<(CrmRecord, CrmFacts)> = records
        .into_iter()
        .map(|record| {
            let facts = match &record {
                CrmRecord::Contact(c) => CrmFacts::of_contact(c, &profile.actor, flags.contains(c.id())),
                CrmRecord::Activity(a) => crate::codec::activity_facts(a, &profile.actor),
            };
            (record, facts)
        })
        .collect();
    // R-PERM-1: what the user may not read is never mapped, so its fields
    // cannot reach the groupware by any path; its journal is not read.
    let readable: Vec<String> = with_facts
        .iter()
        .filter(|(_, facts)| facts.readable)
        .map(|(record, _)| record.id().to_string())
        .collect();
    let journals = store.records().journals_of(entity, &readable).await?;
    for (record, facts) in with_facts {
        let fields = if facts.readable {
            // Cloned, not removed: a record listed twice in a batch gets its
            // journal both times.
            let journal = journals.get(record.id()).cloned().unwrap_or_default();
            codec.record_fields(&record, &journal)
        } else {
            FieldMap::new()
        };
        state
            .present
            .insert(record.id().to_string(), CrmRecordState { record, fields, facts });
    }
    Ok(())
}

/// The CRM entity a record of a batch is.
fn entity_of(record: &CrmRecord) -> EntityKind {
    match record {
        CrmRecord::Contact(_) => EntityKind::Contact,
        CrmRecord::Activity(_) => EntityKind::Activity,
    }
}
