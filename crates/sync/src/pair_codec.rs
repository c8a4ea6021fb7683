//! Pairs between the status store's text form and the engine's types. The
//! store keeps engine enums as their serde names, so the two never drift.

use crmsync_engine::{CrmFacts, Origin, PairState, PairStatus};
use crmsync_store::status::PairRow;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::SyncError;

pub(crate) fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("engine enums serialise as strings, got {other:?}"),
    }
}

fn parse_name<T: DeserializeOwned>(what: &str, s: &str, pair: &str) -> Result<T, SyncError> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| SyncError::Profile {
        profile: String::new(),
        message: format!("pair {pair} has an unknown {what} `{s}` in the status store; reset it"),
    })
}

pub(crate) fn to_status(row: &PairRow) -> Result<PairStatus, SyncError> {
    let origin: Origin = parse_name("origin", &row.origin, &row.id)?;
    let state: PairState = parse_name("state", &row.state, &row.id)?;
    let last_facts: Option<CrmFacts> = row.facts.as_deref().and_then(|f| serde_json::from_str(f).ok());
    Ok(PairStatus {
        id: row.id.clone(),
        crm_id: row.crm_id.clone(),
        href: row.href.clone(),
        origin,
        state,
        base: row.base.clone(),
        crm_version: row.crm_version,
        etag: row.etag.clone(),
        last_facts,
    })
}

pub(crate) fn facts_json(facts: &CrmFacts) -> String {
    serde_json::to_string(facts).expect("facts serialise")
}
