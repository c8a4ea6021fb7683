//! Every profile's status at a glance in one statement (R-WEB-3-ONE-QUERY):
//! the dashboard's home page lists up to thousands of profiles, and reading
//! each one's runs, conflicts, quarantine, duplicates and removed items
//! separately cost six round trips per profile. Each figure here is an
//! indexed lookup per profile inside one query.

use sqlx::Row;

use super::columns::TextColumn;
use super::runs::{RunRow, RunState, run_from_row};
use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, get_i64, get_opt_text, get_text};

/// How many profile names one statement binds: far below both backends'
/// parameter limits (SQLite 32766, PostgreSQL 65535).
const NAMES_PER_QUERY: usize = 5000;

/// One profile's figures, as the home page shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileOverviewRow {
    pub profile: String,
    /// The newest run, finished or not.
    pub last_run: Option<RunRow>,
    /// The newest run that is not `running`: its outcome and error say
    /// whether the profile is failing.
    pub last_finished: Option<(RunState, Option<String>)>,
    pub open_conflicts: u64,
    pub quarantined: u64,
    /// Groups in the latest duplicates reports (R-PAIR-2).
    pub duplicate_groups: u64,
    /// Pairs in state `removed_by_user` (R-DEL-1).
    pub removed_by_user: u64,
}

impl SyncState {
    /// The figures of each named profile, in the order of `profiles` (a
    /// profile that never ran has empty figures). One statement per 5,000
    /// names.
    pub async fn overview(&self, profiles: &[String]) -> Result<Vec<ProfileOverviewRow>> {
        let mut out = Vec::with_capacity(profiles.len());
        for chunk in profiles.chunks(NAMES_PER_QUERY) {
            out.extend(self.overview_of(chunk).await?);
        }
        Ok(out)
    }

    async fn overview_of(&self, profiles: &[String]) -> Result<Vec<ProfileOverviewRow>> {
        if profiles.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new("WITH p(ord, profile) AS (VALUES ");
        for (i, name) in profiles.iter().enumerate() {
            let ord = sql.arg(Arg::Int(i as i64));
            let name = sql.arg(Arg::Text(name.clone()));
            let sep = if i == 0 { "" } else { ", " };
            sql.push(&format!("{sep}({ord}, {name})"));
        }
        let removed = crmsync_engine::PairState::RemovedByUser.as_text();
        let running = RunState::Running.as_text();
        // COUNT is BIGINT on PostgreSQL and SUM of BIGINT is NUMERIC there,
        // which the `Any` driver cannot read: every figure is cast.
        sql.push(&format!(
            ") SELECT p.profile AS profile, lr.id AS id, lr.started_at AS started_at, \
             lr.finished_at AS finished_at, lr.outcome AS outcome, lr.summary AS summary, lr.error AS error, \
             lf.outcome AS finished_outcome, lf.error AS finished_error, \
             CAST((SELECT COUNT(*) FROM sync_conflicts c WHERE c.profile = p.profile AND c.resolved_at IS NULL) \
               AS BIGINT) AS open_conflicts, \
             CAST((SELECT COUNT(*) FROM sync_quarantine q WHERE q.profile = p.profile) AS BIGINT) AS quarantined, \
             CAST((SELECT COALESCE(SUM(d.group_count), 0) FROM sync_duplicates d WHERE d.profile = p.profile) \
               AS BIGINT) AS duplicate_groups, \
             CAST((SELECT COUNT(*) FROM sync_pairs s WHERE s.profile = p.profile AND s.state = '{removed}') \
               AS BIGINT) AS removed_by_user \
             FROM p \
             LEFT JOIN sync_runs lr ON lr.id = (SELECT r.id FROM sync_runs r WHERE r.profile = p.profile \
               ORDER BY r.started_at DESC, r.id DESC LIMIT 1) \
             LEFT JOIN sync_runs lf ON lf.id = (SELECT r.id FROM sync_runs r WHERE r.profile = p.profile \
               AND r.outcome <> '{running}' ORDER BY r.started_at DESC, r.id DESC LIMIT 1) \
             ORDER BY p.ord"
        ));
        let rows = sql
            .query(self.db.backend())
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading the profiles' overview"))?;
        rows.iter()
            .map(|r| {
                let has_run: Option<String> = r.try_get("id").map_err(StoreError::db("reading a row"))?;
                let finished: Option<String> = get_opt_text(r, "finished_outcome")?;
                let count = |col: &str| get_i64(r, col).map(|n| u64::try_from(n).unwrap_or(0));
                Ok(ProfileOverviewRow {
                    profile: get_text(r, "profile")?,
                    last_run: has_run.map(|_| run_from_row(r)).transpose()?,
                    last_finished: match finished {
                        Some(text) => Some((RunState::from_text(&text)?, get_opt_text(r, "finished_error")?)),
                        None => None,
                    },
                    open_conflicts: count("open_conflicts")?,
                    quarantined: count("quarantined")?,
                    duplicate_groups: count("duplicate_groups")?,
                    removed_by_user: count("removed_by_user")?,
                })
            })
            .collect()
    }
}
