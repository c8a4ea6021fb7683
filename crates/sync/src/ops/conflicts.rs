use std::str::FromStr;

use crmsync_engine::{FieldConflict, RuleId};
use crmsync_model::FieldMap;
use crmsync_store::SyncState;
use crmsync_store::status::{ConflictResolution, HistoryEntry};
use serde::{Deserialize, Serialize};

use crate::error::SyncError;
use crate::ops::field_values::{Side, resolution_detail};

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

/// Resolves a held conflict by moving the pair's base so that the next sync
/// sees only the chosen side as changed: for `crm`, the base takes the
/// groupware's values (so the CRM's differ and win); for `groupware`, the
/// CRM's; for `merged`, the base keeps the old value and the merged values are
/// recorded as the CRM's wish via the base of the other side. Nothing is
/// written to either side here: the next sync (which reads the pair again)
/// does that, with preconditions, and records it in the history.
pub async fn resolve_conflict(state: &SyncState, conflict_id: &str, choice: &ConflictChoice) -> Result<(), SyncError> {
    let Some(conflict) = state.conflict(conflict_id).await? else {
        return Err(SyncError::Profile {
            profile: String::new(),
            message: format!("no conflict {conflict_id}"),
        });
    };
    if conflict.resolved_at.is_some() {
        return Err(SyncError::Profile {
            profile: conflict.profile,
            message: format!("conflict {conflict_id} is already resolved"),
        });
    }
    let fields: Vec<FieldConflict> = serde_json::from_str(&conflict.fields).map_err(|e| SyncError::Profile {
        profile: conflict.profile.clone(),
        message: format!("conflict {conflict_id} is unreadable ({e}); reset the record"),
    })?;
    let pairs = state.pairs_of_record(&conflict.profile, &conflict.crm_id).await?;
    let Some(mut pair) = pairs.into_iter().find(|p| p.id == conflict.pair_id) else {
        // The pair is gone (reset or deleted): nothing is held any more.
        state
            .resolve_conflict(conflict_id, ConflictResolution::Obsolete)
            .await?;
        return Ok(());
    };
    let label = match choice {
        ConflictChoice::Crm => {
            for f in &fields {
                pair.base.set_opt(f.key.clone(), f.groupware.clone());
            }
            ConflictResolution::Crm
        }
        ConflictChoice::Groupware => {
            for f in &fields {
                pair.base.set_opt(f.key.clone(), f.crm.clone());
            }
            ConflictResolution::Groupware
        }
        ConflictChoice::Merged(values) => {
            // The merged value must reach both sides: make the base equal to
            // neither, so the engine sees both changed; with the conflict
            // resolved, the profile's policy would pick one side again, so
            // merged values are only accepted when they equal one side.
            for f in &fields {
                let wanted = values.get(&f.key).map(str::to_string);
                if wanted == f.crm {
                    pair.base.set_opt(f.key.clone(), f.groupware.clone());
                } else if wanted == f.groupware {
                    pair.base.set_opt(f.key.clone(), f.crm.clone());
                } else {
                    return Err(SyncError::Profile {
                        profile: conflict.profile.clone(),
                        message: format!(
                            "field {}: a merged value must be the CRM's or the groupware's; edit the CRM record \
                             to a new value and resolve with --take crm",
                            f.key
                        ),
                    });
                }
            }
            ConflictResolution::Merged
        }
    };
    // Neither side may change again before the next sync, yet that sync must
    // look at this pair: an unknown ETag makes it re-read the item, and a
    // forgotten cursor makes the pass read both sides in full.
    pair.etag = String::new();
    state.save_pair(&pair).await?;
    state.forget_cursor(&pair.profile, &pair.collection).await?;
    state.resolve_conflict(conflict_id, label).await?;
    // R-EDIT-3: the choice and the values it overwrites go into the history,
    // so `explain` shows what was lost even before the next sync writes it.
    let kept_from = |f: &FieldConflict| match choice {
        ConflictChoice::Crm => Side::Crm,
        ConflictChoice::Groupware => Side::Groupware,
        ConflictChoice::Merged(values) if values.get(&f.key) == f.crm.as_deref() => Side::Crm,
        ConflictChoice::Merged(_) => Side::Groupware,
    };
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
            detail: Some(resolution_detail(&fields, kept_from)),
        })
        .await?;
    Ok(())
}
