//! Row leases on `sync_profiles` (R-SCHED-3): a worker runs a profile only
//! while it holds the profile's lease, so one profile never runs twice at
//! once, on one process or many.
//!
//! PostgreSQL is the coordinator: claiming is `SELECT … FOR UPDATE SKIP
//! LOCKED` and an UPDATE in one transaction, so workers claiming at the same
//! moment take disjoint rows without waiting on each other. A lease ends at
//! `lease_until`; the holder renews it while it runs, and a worker that died
//! stops renewing, so its profiles are claimable again after the expiry. On
//! SQLite the write transaction (`BEGIN IMMEDIATE`) already serializes
//! claims, and the same rows and SQL apply.
//!
//! Every claim bumps the profile's `lease_token`, and the run writes through
//! [`crate::Store::fenced`] with the token its claim returned: once another worker
//! has claimed the profile, the old holder's writes fail (R-SCHED-4), even
//! if it paused (GC, suspend, a stalled disk) past its lease and never saw
//! a renewal fail.
//!
//! Times come from the caller (the scheduler's clock), so tests control them.

use chrono::{DateTime, Utc};

use crate::Catalog;
use crate::connect::Backend;
use crate::error::{Result, StoreError};
use crate::profiles::{PROFILE_COLUMNS, ProfileRow, ScheduleState, profile_from_row};
use crate::sql::{flag, to_ms};

/// R-SCHED-4: a claim by another worker moves the fencing token on; a
/// worker that re-claims its own lapsed lease keeps it, since its run goes
/// on (the assignment sees the row's old `lease_owner`).
const NEXT_TOKEN: &str = "lease_token = CASE WHEN lease_owner = $2 THEN lease_token ELSE lease_token + 1 END";

/// Names per lease-renewal statement: well below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const RENEW_BATCH: usize = 500;

/// What [`Catalog::take_lease`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseTake {
    /// The caller holds the lease now, with this fencing token (R-SCHED-4).
    Taken { token: i64 },
    /// The profile is not stored in `sync_profiles`: no scheduler runs it,
    /// so there is no lease to take.
    NoRow,
    /// Another worker holds the lease until `until`.
    Held { owner: String, until: DateTime<Utc> },
}

/// How a leased run ended, written when the lease is given back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRelease {
    pub finished_at: DateTime<Utc>,
    pub succeeded: bool,
    /// When the next run is due if no trigger arrived during this one.
    pub next_run_at: DateTime<Utc>,
    pub state: ScheduleState,
    pub state_reason: Option<String>,
    pub failures: i64,
}

/// The claim of [`Catalog::claim_due_profiles`]: $1 now, $2 the worker,
/// $3 the lease's end, $4 how many at most. The trigger flag is consumed
/// here: a trigger that arrives from now on sets it again and is honoured
/// when this run ends. So is the push notice (R-WEB-20): the run serves it,
/// a later one wakes the next run.
///
/// R-SCALE-14: the inner SELECT's `enabled = 1 … ORDER BY next_run_at, name`
/// is exactly the order of the index `sync_profiles_claim` (migration 0024),
/// so the database reads the due rows in claim order and stops after
/// `$4` free ones instead of sorting every due row for every claim.
pub(crate) fn claim_sql(backend: Backend) -> String {
    let lock = match backend {
        // Rows another worker is claiming right now are skipped, not waited for.
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        // BEGIN IMMEDIATE holds the database's write lock already.
        Backend::Sqlite => "",
    };
    format!(
        "UPDATE sync_profiles SET {NEXT_TOKEN}, lease_owner = $2, lease_until = $3, pending_trigger = 0, \
         run_woken_at = woken_at, woken_at = NULL \
         WHERE name IN (SELECT name FROM sync_profiles WHERE enabled = 1 AND next_run_at <= $1 \
         AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_run_at, name LIMIT $4{lock}) \
         RETURNING {PROFILE_COLUMNS}"
    )
}

impl Catalog {
    /// Leases up to `limit` enabled profiles that are due at `now` and not
    /// leased by anyone (or whose lease expired) to `worker` until
    /// `lease_until`, and returns them, most overdue first.
    pub async fn claim_due_profiles(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ProfileRow>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // One statement however many are claimed (R-SCHED-5): a worker with
        // many free slots must not pay a round trip per profile.
        let mut tx = self.db.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(claim_sql(self.db.backend())))
            .bind(to_ms(now))
            .bind(worker)
            .bind(to_ms(lease_until))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::db("claiming due profiles"))?;
        tx.commit().await.map_err(StoreError::db("claiming due profiles"))?;
        let mut claimed = rows.iter().map(profile_from_row).collect::<Result<Vec<_>>>()?;
        // RETURNING has no order: most overdue first, as selected.
        claimed.sort_by(|a, b| {
            (a.status.next_run_at, &a.definition.name).cmp(&(b.status.next_run_at, &b.definition.name))
        });
        Ok(claimed)
    }

    /// Extends `worker`'s leases on `names` to `lease_until`. Returns the
    /// names it still holds: a lease that expired and went to another worker
    /// is lost, and its run must stop.
    pub async fn renew_leases(
        &self,
        worker: &str,
        names: &[String],
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        // One statement per few hundred runs, not one per run (R-SCHED-5):
        // a worker running many profiles renews them all every third of the lease.
        let mut held = Vec::new();
        for batch in names.chunks(RENEW_BATCH) {
            let list = (0..batch.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE sync_profiles SET lease_until = $2 WHERE lease_owner = $1 AND name IN ({list}) RETURNING name"
            );
            let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
                .bind(worker)
                .bind(to_ms(lease_until));
            for name in batch {
                query = query.bind(name);
            }
            held.extend(
                query
                    .fetch_all(self.db.pool())
                    .await
                    .map_err(StoreError::db("renewing profile leases"))?,
            );
        }
        Ok(held)
    }

    /// Gives the lease back with the run's result. A trigger that arrived
    /// during a successful run makes the next run due at once. False when
    /// `worker` no longer held the lease (nothing is written then).
    pub async fn release_profile(&self, name: &str, worker: &str, result: &RunRelease) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sync_profiles SET lease_owner = NULL, lease_until = NULL, last_run_at = $3, \
             next_run_at = CASE WHEN pending_trigger = 1 AND $4 = 1 THEN $3 ELSE $5 END, \
             pending_trigger = 0, state = $6, state_reason = $7, failures = $8 \
             WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(worker)
        .bind(to_ms(result.finished_at))
        .bind(flag(result.succeeded))
        .bind(to_ms(result.next_run_at))
        .bind(result.state.as_str())
        .bind(result.state_reason.clone())
        .bind(result.failures)
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("releasing a profile lease"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives a lease back without a result (a run abandoned at shutdown):
    /// the profile is due at `now`, so another worker takes it over at once
    /// and finishes what the journal shows half done.
    pub async fn abandon_lease(&self, name: &str, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sync_profiles SET lease_owner = NULL, lease_until = NULL, next_run_at = $3 \
             WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(worker)
        .bind(to_ms(now))
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("releasing a profile lease"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Takes the lease of profile `name` for `worker` until `lease_until`
    /// whatever its schedule, for a run started by hand (R-SVC-13): free or
    /// expired it is taken, held by anyone else it is not. Schedule and
    /// trigger are left alone; the scheduler's next run comes as planned.
    pub async fn take_lease(
        &self,
        name: &str,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<LeaseTake> {
        let lock = match self.db.backend() {
            // Waits for a claim of this one row in flight, then sees its result.
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM sync_profiles WHERE name = $1{lock}"
        )))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("taking a profile lease"))?;
        let Some(row) = row else {
            return Ok(LeaseTake::NoRow);
        };
        let status = profile_from_row(&row)?.status;
        if let (Some(owner), Some(until)) = (status.lease_owner, status.lease_until)
            && until > now
            && owner != worker
        {
            return Ok(LeaseTake::Held { owner, until });
        }
        let token: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "UPDATE sync_profiles SET {NEXT_TOKEN}, lease_owner = $2, lease_until = $3 \
             WHERE name = $1 RETURNING lease_token"
        )))
        .bind(name)
        .bind(worker)
        .bind(to_ms(lease_until))
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::db("taking a profile lease"))?;
        tx.commit().await.map_err(StoreError::db("taking a profile lease"))?;
        Ok(LeaseTake::Taken { token })
    }

    /// Gives back a lease taken with [`Catalog::take_lease`], leaving the
    /// schedule as it was. False when `worker` no longer held it.
    pub async fn return_lease(&self, name: &str, worker: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sync_profiles SET lease_owner = NULL, lease_until = NULL WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(worker)
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("releasing a profile lease"))?;
        Ok(done.rows_affected() > 0)
    }
}
