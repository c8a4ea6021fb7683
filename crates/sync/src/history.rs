//! What the runner tells the record history about each action (R-EXPLAIN-1).

use chrono::{DateTime, Utc};
use crmsync_engine::Action;
use crmsync_store::status::HistoryEntry;

pub(crate) struct HistoryScope<'a> {
    pub profile: &'a str,
    pub collection: &'a str,
    pub run_id: Option<&'a str>,
}

impl HistoryScope<'_> {
    /// Records `action` as it was applied (`outcome` says how it ended), with
    /// the action's JSON as detail: both versions, every overwritten value and
    /// the rule (R-EDIT-3: nothing is overwritten silently).
    pub(crate) fn entry(
        &self,
        action: &Action,
        crm_id: Option<&str>,
        href: Option<&str>,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> HistoryEntry {
        let message = if outcome == "done" {
            format!("{action}: {}", action.reason)
        } else {
            format!("{action}: {outcome}")
        };
        HistoryEntry {
            profile: self.profile.to_string(),
            collection: self.collection.to_string(),
            crm_id: crm_id.map(str::to_string),
            href: href.map(str::to_string),
            run_id: self.run_id.map(str::to_string),
            at,
            action: format!("{} {}", action.target, action.kind.as_str()),
            rule: action.rule.as_str().to_string(),
            message,
            detail: Some(serde_json::to_string(action).expect("actions serialise")),
        }
    }
}
