use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use crmsync_engine::{FieldConflict, RuleId};
use crmsync_mapping::CardVersion;
use crmsync_model::{Access, Actor, FieldMap};
use crmsync_store::status::{ConflictResolution, ConflictRow, HistoryEntry, PairRow};
use crmsync_store::{StoreError, SyncState};
use serde::{Deserialize, Serialize};

use crate::codec::{Codec, CrmRecord};
use crate::crm_write::CrmWriter;
use crate::directory::BatchDirectory;
use crate::error::SyncError;
use crate::ops::explain::class_of_collection;
use crate::ops::field_values::{Kept, Side, resolution_detail};
use crate::profile::SyncProfile;
use crate::stores::RunStores;

/// Which value a held conflict (R-EDIT-3 `manual`) takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictChoice {
    /// The CRM's values go to the groupware.
    Crm,
    /// The groupware's values go to the CRM.
    Groupware,
    /// Values chosen by the person resolving, per field, written to both sides.
    Merged(FieldMap),
}

impl FromStr for ConflictChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "crm" => Ok(ConflictChoice::Crm),
            "groupware" => Ok(ConflictChoice::Groupware),
            other => Err(format!("`{other}`: take crm, groupware or merged (with values)")),
        }
    }
}

/// Whether resolving `conflict` with `choice` writes a value of the
/// resolver's own into the CRM, so it needs [`resolve_conflict_editing`]
/// (and the profile it maps with); any other choice only moves the pair's
/// base ([`resolve_conflict`]). An unreadable conflict is left to
/// `resolve_conflict`, which reports it.
pub fn holds_own_value(conflict: &ConflictRow, choice: &ConflictChoice) -> bool {
    let ConflictChoice::Merged(values) = choice else {
        return false;
    };
    let Ok(fields) = fields_of(conflict) else {
        return false;
    };
    fields.iter().any(|f| is_own_value(values, f))
}

/// R-EDIT-3-MERGED-ALL: what is wrong with the fields a `merged` choice names
/// for `conflict`, in words; `None` when it names each conflicting field once
/// and nothing else. A field left out would otherwise keep no value, a
/// silent clear a typo could cause; "no value" must be asked for (`null`).
/// An unreadable conflict is left to [`resolve_conflict`], which reports it.
pub fn merged_fields_mismatch<'a>(conflict: &ConflictRow, named: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let fields = fields_of(conflict).ok()?;
    let wanted: BTreeSet<&str> = fields.iter().map(|f| f.key.as_str()).collect();
    let named: BTreeSet<&str> = named.into_iter().collect();
    let missing: Vec<&str> = wanted.difference(&named).copied().collect();
    let unknown: Vec<&str> = named.difference(&wanted).copied().collect();
    let all = wanted.iter().copied().collect::<Vec<_>>().join(", ");
    match (missing.is_empty(), unknown.is_empty()) {
        (true, true) => None,
        (false, _) => Some(format!(
            "`merged` needs a value for every conflicting field ({all}); missing: {}; give `null` for no value",
            missing.join(", ")
        )),
        (true, false) => Some(format!(
            "not a field of this conflict: {} (its fields: {all})",
            unknown.join(", ")
        )),
    }
}

/// The conflicting fields `conflict` recorded (base, CRM and groupware value).
fn fields_of(conflict: &ConflictRow) -> Result<Vec<FieldConflict>, serde_json::Error> {
    serde_json::from_str(&conflict.fields)
}

/// A merged value of `f` that is neither the CRM's nor the groupware's.
fn is_own_value(values: &FieldMap, f: &FieldConflict) -> bool {
    let wanted = values.get(&f.key);
    wanted != f.crm.as_deref() && wanted != f.groupware.as_deref()
}

/// Resolves a held conflict by moving the pair's base so that the next sync
/// sees only the chosen side as changed: for `crm`, the base takes the
/// groupware's values (so the CRM's differ and win); for `groupware`, the
/// CRM's; for `merged`, per field as for the side whose value was chosen.
/// Nothing is written to either side here: the next sync (which reads the
/// pair again) does that, with preconditions, and records it in the history.
/// A merged value that is neither side's needs [`resolve_conflict_editing`].
pub async fn resolve_conflict(state: &SyncState, conflict_id: &str, choice: &ConflictChoice) -> Result<(), SyncError> {
    let Some(open) = OpenConflict::load(state, conflict_id).await? else {
        return Ok(());
    };
    let kept = open.kept(choice, &BTreeSet::new())?;
    open.settle(state, choice, &kept).await
}

/// [`resolve_conflict`] that also takes a value of the resolver's own per
/// field (R-EDIT-3-THIRD): such a value is written into the CRM record now,
/// through the runner's own mapping, on the precondition that the record
/// still holds what the conflict recorded; the pair's base then takes the
/// groupware's value, so the next sync carries it to the groupware as any
/// CRM edit. `editor` must be allowed to change the record, as for a CRM
/// edit through the API; the value is validated as one.
pub async fn resolve_conflict_editing(
    stores: impl Into<RunStores>,
    profile: &SyncProfile,
    editor: &Actor,
    conflict_id: &str,
    choice: &ConflictChoice,
) -> Result<(), SyncError> {
    let stores = &stores.into();
    let state = stores.sync_state();
    let Some(open) = OpenConflict::load(state, conflict_id).await? else {
        return Ok(());
    };
    let own = open.own_values(choice);
    if !own.is_empty() {
        write_own_values(stores, profile, editor, &open, &own).await?;
    }
    let written: BTreeSet<String> = own.into_keys().collect();
    let kept = open.kept(choice, &written)?;
    open.settle(state, choice, &kept).await
}

/// An open conflict with its fields and the pair it holds.
struct OpenConflict {
    row: ConflictRow,
    fields: Vec<FieldConflict>,
    pair: PairRow,
}

impl OpenConflict {
    /// The open conflict `id`; `None` when its pair is gone (reset or
    /// deleted), after closing it as obsolete: nothing is held any more.
    async fn load(state: &SyncState, conflict_id: &str) -> Result<Option<OpenConflict>, SyncError> {
        let Some(row) = state.conflict(conflict_id).await? else {
            return Err(SyncError::Profile {
                profile: String::new(),
                message: format!("no conflict {conflict_id}"),
            });
        };
        if row.resolved_at.is_some() {
            return Err(SyncError::Profile {
                profile: row.profile,
                message: format!("conflict {conflict_id} is already resolved"),
            });
        }
        let fields = fields_of(&row).map_err(|e| SyncError::Profile {
            profile: row.profile.clone(),
            message: format!("conflict {conflict_id} is unreadable ({e}); reset the record"),
        })?;
        let pairs = state.pairs_of_record(&row.profile, &row.crm_id).await?;
        let Some(pair) = pairs.into_iter().find(|p| p.id == row.pair_id) else {
            state
                .resolve_conflict(conflict_id, ConflictResolution::Obsolete)
                .await?;
            return Ok(None);
        };
        Ok(Some(OpenConflict { row, fields, pair }))
    }

    /// The merged values that are neither side's, by field.
    fn own_values(&self, choice: &ConflictChoice) -> BTreeMap<String, Option<String>> {
        let ConflictChoice::Merged(values) = choice else {
            return BTreeMap::new();
        };
        self.fields
            .iter()
            .filter(|f| is_own_value(values, f))
            .map(|f| (f.key.clone(), values.get(&f.key).map(str::to_string)))
            .collect()
    }

    /// What each field keeps. `written`: the fields whose own value is
    /// already in the CRM record; any other own value is refused.
    fn kept(&self, choice: &ConflictChoice, written: &BTreeSet<String>) -> Result<Vec<Kept>, SyncError> {
        self.fields
            .iter()
            .map(|f| match choice {
                ConflictChoice::Crm => Ok(Kept::Side(Side::Crm)),
                ConflictChoice::Groupware => Ok(Kept::Side(Side::Groupware)),
                ConflictChoice::Merged(values) => {
                    let wanted = values.get(&f.key).map(str::to_string);
                    if wanted == f.crm {
                        Ok(Kept::Side(Side::Crm))
                    } else if wanted == f.groupware {
                        Ok(Kept::Side(Side::Groupware))
                    } else if written.contains(&f.key) {
                        Ok(Kept::Own(wanted))
                    } else {
                        Err(SyncError::Profile {
                            profile: self.row.profile.clone(),
                            message: format!(
                                "field {}: a value that is neither the CRM's nor the groupware's is written into \
                                 the CRM record when the conflict is resolved; resolve it from the dashboard or \
                                 POST /api/v1/sync/conflicts/{{id}}/resolve with `merged` values",
                                f.key
                            ),
                        })
                    }
                }
            })
            .collect()
    }

    /// Moves the base, closes the conflict and records the choice: the
    /// next sync writes what each field keeps to the side that lacks it.
    async fn settle(mut self, state: &SyncState, choice: &ConflictChoice, kept: &[Kept]) -> Result<(), SyncError> {
        for (f, k) in self.fields.iter().zip(kept) {
            // The base takes the other side's value, so only the kept side
            // looks changed; an own value is in the CRM now, so it is kept
            // as the CRM's is.
            let base = match k {
                Kept::Side(Side::Crm) | Kept::Own(_) => &f.groupware,
                Kept::Side(Side::Groupware) => &f.crm,
            };
            self.pair.base.set_opt(f.key.clone(), base.clone());
        }
        let label = match choice {
            ConflictChoice::Crm => ConflictResolution::Crm,
            ConflictChoice::Groupware => ConflictResolution::Groupware,
            ConflictChoice::Merged(_) => ConflictResolution::Merged,
        };
        let pair = &mut self.pair;
        let conflict_id = &self.row.id;
        // Neither side may change again before the next sync, yet that sync must
        // look at this pair: an unknown ETag makes it re-read the item, and a
        // forgotten cursor makes the pass read both sides in full.
        pair.etag = String::new();
        state.save_pair(pair).await?;
        state.forget_cursor(&pair.profile, &pair.collection).await?;
        state.resolve_conflict(conflict_id, label).await?;
        // R-EDIT-3: the choice and the values it overwrites go into the history,
        // so `explain` shows what was lost even before the next sync writes it.
        state
            .add_history(&HistoryEntry {
                profile: pair.profile.clone(),
                collection: pair.collection.clone(),
                crm_id: Some(pair.crm_id.clone()),
                href: Some(pair.href.clone()),
                run_id: None,
                at: chrono::Utc::now(),
                action: "status resolve-conflict".into(),
                rule: RuleId::Edit3.as_str().into(),
                message: format!(
                    "conflict {conflict_id} resolved by choice ({label}); the next sync writes the kept values"
                ),
                detail: Some(resolution_detail(&self.fields, kept)),
            })
            .await?;
        Ok(())
    }
}

/// R-EDIT-3-THIRD: writes the resolver's own values into the CRM record,
/// unless the record no longer holds what the conflict recorded (someone
/// edited it since: the next sync sees that edit first). A value already
/// there (a resolution cut short after its write) is not written again.
async fn write_own_values(
    stores: &RunStores,
    profile: &SyncProfile,
    editor: &Actor,
    open: &OpenConflict,
    own: &BTreeMap<String, Option<String>>,
) -> Result<(), SyncError> {
    let id = &open.row.crm_id;
    let stale = || {
        SyncError::Store(StoreError::Conflict(format!(
            "record {id} changed since this conflict was recorded; nothing was changed: run the sync, then \
             resolve the conflict it shows"
        )))
    };
    let class = class_of_collection(&open.row.collection).ok_or_else(stale)?;
    let directory = BatchDirectory::new(stores, &profile.actor);
    let codec = Codec {
        class,
        directory: &directory,
        vcard_version: CardVersion::V3,
        // The CRM side only: the class's own format maps it.
        format: crate::profile::collection_kind(class)
            .map_or(crmsync_connector::ContentType::ICalendar, |k| k.content_type()),
        counts: Default::default(),
    };
    let paired = BTreeSet::from([id.clone()]);
    let mut crm = crate::crm_side::load_one(stores, profile, &codec, id, &paired).await?;
    let Some(current) = crm.present.remove(id) else {
        return Err(stale());
    };
    let writable = match &current.record {
        CrmRecord::Contact(c) => c.writable_by(editor),
        CrmRecord::Activity(a) => a.writable_by(editor),
    };
    if !writable {
        return Err(SyncError::Store(StoreError::Forbidden(format!(
            "only the owner or an admin may change record {id}; take the CRM's or the groupware's value instead"
        ))));
    }
    let mut next = current.fields.clone();
    for f in open.fields.iter().filter(|f| own.contains_key(&f.key)) {
        let now = current.fields.get(&f.key).map(str::to_string);
        let wanted = &own[&f.key];
        if now != f.crm && now != *wanted {
            return Err(stale());
        }
        next.set_opt(f.key.clone(), wanted.clone());
    }
    if next == current.fields {
        return Ok(());
    }
    let writer = CrmWriter {
        store: stores,
        profile,
        codec: &codec,
        collection: &open.row.collection,
        run_id: None,
    };
    match writer.update(id, current.record.version(), &next).await {
        Err(StoreError::VersionConflict { .. }) => Err(stale()),
        other => other.map(|_| ()).map_err(SyncError::Store),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict() -> ConflictRow {
        let fields = vec![FieldConflict {
            key: "job_title".into(),
            base: Some("CTO".into()),
            crm: Some("CEO".into()),
            groupware: Some("CFO".into()),
        }];
        ConflictRow {
            id: "c1".into(),
            profile: "alice".into(),
            collection: "contacts".into(),
            pair_id: "p1".into(),
            crm_id: "r1".into(),
            href: "r1.vcf".into(),
            fields: serde_json::to_string(&fields).unwrap(),
            created_at: chrono::Utc::now(),
            resolved_at: None,
            resolution: None,
        }
    }

    fn merged(value: Option<&str>) -> ConflictChoice {
        let mut values = FieldMap::new();
        values.set_opt("job_title", value);
        ConflictChoice::Merged(values)
    }

    /// R-EDIT-3-THIRD: only a value that is neither side's is written into
    /// the CRM (and needs the profile); choosing a side per field, or a
    /// whole side, only moves the base.
    #[test]
    fn r_edit_3_third_value_is_told_apart_from_choosing_a_side() {
        let c = conflict();
        assert!(!holds_own_value(&c, &ConflictChoice::Crm));
        assert!(!holds_own_value(&c, &ConflictChoice::Groupware));
        assert!(!holds_own_value(&c, &merged(Some("CEO"))));
        assert!(!holds_own_value(&c, &merged(Some("CFO"))));
        assert!(holds_own_value(&c, &merged(Some("Chief Analyst"))));
        assert!(holds_own_value(&c, &merged(None)), "no value is a value of one's own");
    }
}
