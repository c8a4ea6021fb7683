//! R-SCHED-2 on the CRM side: watch the change log and name the profiles each
//! change concerns, so they run at once instead of at their next interval.
//!
//! Polling `changes_since` is the one mechanism that works the same on SQLite
//! and PostgreSQL and across processes (every worker sees every commit, in
//! order: R-STORE-1); a poll every few hundred milliseconds is one indexed
//! query when nothing changed.

use std::collections::BTreeSet;

use crmsync_store::{MAX_CHANGES_PAGE, Store};

use crate::error::ServiceError;

#[derive(Debug)]
pub struct ChangeWatcher {
    seen: i64,
}

impl ChangeWatcher {
    /// Starts after everything committed so far: profiles run once at start
    /// anyway, and their cursors cover older changes.
    pub async fn from_now(store: &Store) -> Result<ChangeWatcher, ServiceError> {
        Ok(ChangeWatcher {
            seen: store.records().latest_seq().await?,
        })
    }

    pub fn seen(&self) -> i64 {
        self.seen
    }

    /// The profiles touched by changes committed since the last poll. The
    /// position moves only past changes that were mapped, so a failed poll
    /// is repeated, not skipped.
    pub async fn poll(&mut self, store: &Store) -> Result<BTreeSet<String>, ServiceError> {
        let mut touched = BTreeSet::new();
        loop {
            let page = store.records().changes_since(self.seen, MAX_CHANGES_PAGE).await?;
            let Some(last) = page.last().map(|c| c.seq) else { break };
            for change in &page {
                touched.extend(
                    store
                        .catalog()
                        .profiles_touched_by(change.entity, &change.record_id, &change.owner_id)
                        .await?,
                );
            }
            self.seen = last;
            if page.len() < MAX_CHANGES_PAGE as usize {
                break;
            }
        }
        Ok(touched)
    }
}
