//! The latest duplicates report per collection (R-PAIR-2): records and items
//! that matched ambiguously at first sync and were not merged.

use std::fmt;

use crmsync_engine::DuplicateGroup;
use crmsync_store::{StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CollectionDuplicates {
    pub collection: String,
    /// Each group: the CRM ids and groupware hrefs that matched on one key.
    #[schema(value_type = Vec<Object>)]
    pub groups: Vec<DuplicateGroup>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicatesReport {
    pub profile: String,
    pub collections: Vec<CollectionDuplicates>,
}

/// Reads a profile's latest reports. A report that cannot be read (written by
/// another version) is an error: showing it as empty would hide duplicates.
pub async fn read(state: &SyncState, profile: &str) -> Result<DuplicatesReport, StoreError> {
    let mut collections = Vec::new();
    for (collection, json) in state.duplicates(profile).await? {
        let groups: Vec<DuplicateGroup> = serde_json::from_str(&json).map_err(|e| StoreError::CorruptStatus {
            what: format!("the duplicates report of {profile}/{collection}"),
            reason: format!("{e}; the next sync rewrites it"),
        })?;
        collections.push(CollectionDuplicates { collection, groups });
    }
    Ok(DuplicatesReport {
        profile: profile.to_string(),
        collections,
    })
}

impl fmt::Display for DuplicatesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: usize = self.collections.iter().map(|c| c.groups.len()).sum();
        if total == 0 {
            return writeln!(f, "profile {}: no possible duplicates", self.profile);
        }
        writeln!(
            f,
            "profile {}: {total} group(s) of possible duplicates, not merged (R-PAIR-2)",
            self.profile
        )?;
        for c in &self.collections {
            for g in &c.groups {
                writeln!(
                    f,
                    "  {}: matched by {}: CRM {} / groupware {}",
                    c.collection,
                    g.matched_by,
                    g.crm_ids.join(", "),
                    g.hrefs.join(", ")
                )?;
            }
        }
        writeln!(
            f,
            "  the same person or thing: `crmsync duplicates link --profile {p} --collection C --record ID --href H`; \
             different ones: `crmsync duplicates keep-apart --profile {p} --collection C --member ID-or-href`; \
             or merge or delete the extra records or items by hand: the next sync pairs what is then unambiguous",
            p = self.profile
        )
    }
}
