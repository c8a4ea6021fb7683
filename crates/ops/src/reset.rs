//! What a reset forgot (R-RESET-1), for people and programs.

use std::fmt;

use serde::Serialize;
use utoipa::ToSchema;

/// The collections a reset may name (the groupware folder names).
pub const COLLECTIONS: [&str; 3] = ["contacts", "calendar", "tasks"];

/// Refuses a collection name sync does not use, with the names it does.
pub fn check_collection(name: &str) -> Result<(), String> {
    if COLLECTIONS.contains(&name) {
        Ok(())
    } else {
        Err(format!("no collection `{name}`: use one of {}", COLLECTIONS.join(", ")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ResetReport {
    pub profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// How many pairs were forgotten.
    pub forgotten: u64,
    /// What happens next, in words.
    pub next: String,
}

impl ResetReport {
    pub fn new(profile: &str, collection: Option<String>, record_id: Option<String>, forgotten: u64) -> Self {
        let next = if forgotten == 0 {
            "nothing was paired in this scope, so nothing changes".to_string()
        } else {
            "no CRM record or groupware item was changed; the next sync pairs them again by UID and by the \
             first-sync keys (R-PAIR-1), without creating duplicates. Nothing counts as agreed then: a field \
             only one side holds is copied to the other, a field both hold differently is a conflict under the \
             profile's policy, recorded in the history (R-ENG-7)"
                .to_string()
        };
        ResetReport {
            profile: profile.to_string(),
            collection,
            record_id,
            forgotten,
            next,
        }
    }
}

impl fmt::Display for ResetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = match (&self.collection, &self.record_id) {
            (Some(c), Some(r)) => format!("record {r} in {c}"),
            (None, Some(r)) => format!("record {r}"),
            (Some(c), None) => format!("collection {c}"),
            (None, None) => "every collection".to_string(),
        };
        writeln!(
            f,
            "profile {}: forgot {} pair(s) ({scope}) and the sync positions they depend on",
            self.profile, self.forgotten
        )?;
        writeln!(f, "  {}", self.next)
    }
}
