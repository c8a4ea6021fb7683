//! The database's own plans of the statements every scheduled run sends
//! (R-SCALE-14, R-SCALE-15): their cost must not grow with the profiles or
//! the run history stored, which only the planner can tell (an index that
//! fits, or a sort / scan of every row). For the checks that hold that, and
//! for an operator chasing slow runs.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::connect::{Backend, Store};
use crate::error::{Result, StoreError};
use crate::leases::claim_sql;
use crate::sql::to_ms;
use crate::status::CLOSE_DEAD_RUNS;

/// A statement of every scheduled run, with the values to plan it for.
#[derive(Debug, Clone)]
pub enum PerRunStatement {
    /// The scheduler's claim of up to `limit` profiles due at `now`
    /// ([`crate::Catalog::claim_due_profiles`]).
    Claim { now: DateTime<Utc>, limit: u32 },
    /// A run's check for earlier runs of `profile` left `running`
    /// ([`crate::SyncState::close_dead_runs`]).
    CloseDeadRuns { profile: String },
}

impl Store {
    /// How the database would run `statement`, one line per step:
    /// PostgreSQL's `EXPLAIN` text, SQLite's `EXPLAIN QUERY PLAN` details.
    /// Plans only; nothing is written.
    pub async fn plan_of(&self, statement: &PerRunStatement) -> Result<Vec<String>> {
        let backend = self.backend();
        let explain = match backend {
            Backend::Postgres => "EXPLAIN",
            Backend::Sqlite => "EXPLAIN QUERY PLAN",
        };
        let rows = match statement {
            PerRunStatement::Claim { now, limit } => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {}", claim_sql(backend))))
                    .bind(to_ms(*now))
                    .bind("planning-worker")
                    .bind(to_ms(*now))
                    .bind(i64::from(*limit))
                    .fetch_all(self.pool())
                    .await
            }
            PerRunStatement::CloseDeadRuns { profile } => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {CLOSE_DEAD_RUNS}")))
                    .bind(profile.clone())
                    .bind("planning-run")
                    .bind(0_i64)
                    .bind("planning")
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(StoreError::db("planning a statement"))?;
        let column = match backend {
            Backend::Postgres => "QUERY PLAN",
            Backend::Sqlite => "detail",
        };
        rows.iter()
            .map(|row| row.try_get::<String, _>(column))
            .collect::<std::result::Result<_, _>>()
            .map_err(StoreError::db("planning a statement"))
    }
}
