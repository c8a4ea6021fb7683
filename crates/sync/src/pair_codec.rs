//! Pairs between the status store's rows and the engine's types. The store
//! hands out the engine's enums already typed (R-STORE-10).

use crmsync_engine::{CrmFacts, PairStatus};
use crmsync_store::status::PairRow;

use crate::error::SyncError;

pub(crate) fn to_status(row: &PairRow) -> Result<PairStatus, SyncError> {
    let last_facts: Option<CrmFacts> = row.facts.as_deref().and_then(|f| serde_json::from_str(f).ok());
    Ok(PairStatus {
        id: row.id.clone(),
        crm_id: row.crm_id.clone(),
        href: row.href.clone(),
        origin: row.origin,
        state: row.state,
        base: row.base.clone(),
        crm_version: row.crm_version,
        etag: row.etag.clone(),
        last_facts,
    })
}

pub(crate) fn facts_json(facts: &CrmFacts) -> String {
    serde_json::to_string(facts).expect("facts serialise")
}
