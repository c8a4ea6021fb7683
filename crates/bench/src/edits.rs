//! The "1 % changed on each side" step of the incremental benchmarks.

use crmsync_model::ContactFields;
use crmsync_store::{ListQuery, Store};
use crmsync_sync::RunReport;

use crate::error::BenchError;

/// How many items make 1 % of `n` (at least one).
pub fn one_percent(n: usize) -> usize {
    (n / 100).max(1)
}

/// Edits the job title of the first `k` contacts `owner_id` owns, as a CRM
/// user would. Returns how many were edited.
pub async fn edit_crm_contacts(store: &Store, owner_id: &str, k: usize) -> Result<usize, BenchError> {
    let page = store
        .records()
        .list::<ContactFields>(&ListQuery {
            owner_id: Some(owner_id.to_owned()),
            limit: k.min(crmsync_store::MAX_PAGE as usize) as u32,
            ..ListQuery::default()
        })
        .await?;
    let mut edited = 0;
    for record in page.items.into_iter().take(k) {
        let mut fields = record.fields.clone();
        fields.job_title = Some("Chief Benchmark Officer".into());
        store
            .records()
            .update(&record.meta.id, record.meta.version, fields)
            .await?;
        edited += 1;
    }
    Ok(edited)
}

/// A groupware-side edit of a vCard body: the street moves (a field the CRM
/// edit above does not touch, so overlapping edits merge, R-FIELD-1).
pub fn edit_card(body: &str) -> Option<String> {
    body.contains("Market Street")
        .then(|| body.replacen("Market Street", "Market Square", 1))
}

/// Actions applied in a run whose "target kind" label is `key`
/// (e.g. "groupware create"), over all collections.
pub fn applied(report: &RunReport, key: &str) -> usize {
    report
        .collections
        .iter()
        .map(|c| c.applied.get(key).copied().unwrap_or(0))
        .sum()
}

/// Every write the run applied, on either side.
pub fn writes(report: &RunReport) -> usize {
    report.writes()
}
