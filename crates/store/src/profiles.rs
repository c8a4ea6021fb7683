//! Sync profiles kept in the database for server mode (table `sync_profiles`):
//! what a profile is (its definition) and where its schedule stands.
//!
//! The store keeps the connector's secret part exactly as it is handed over:
//! already sealed by the service with the `[security]` key. Nothing here can
//! read it, and `Debug` never prints it. Row leases are in `leases.rs`.

use std::fmt;

use chrono::{DateTime, Utc};
use crmsync_model::EntityKind;
use sqlx::any::AnyRow;

use crate::Catalog;
use crate::error::{Result, StoreError};
use crate::sql::{flag, from_ms, get_i64, get_opt_text, get_text, to_ms};

/// What a profile is: who it acts for, its connector and rules, how often it
/// runs. Written by the config import and the profiles API.
#[derive(Clone, PartialEq, Eq)]
pub struct ProfileDefinitionRow {
    pub name: String,
    pub user_id: String,
    /// `config` or `api`.
    pub source: String,
    pub connector_kind: String,
    /// JSON without secrets.
    pub connector_settings: String,
    /// The sealed secret settings (never plain text), if any.
    pub connector_secret: Option<String>,
    /// JSON of the engine rules.
    pub rules: String,
    pub pull_interval_secs: i64,
    pub push: bool,
    pub enabled: bool,
}

impl fmt::Debug for ProfileDefinitionRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sealed or not, the secret column has no business in a log line.
        f.debug_struct("ProfileDefinitionRow")
            .field("name", &self.name)
            .field("user_id", &self.user_id)
            .field("source", &self.source)
            .field("connector_kind", &self.connector_kind)
            .field("connector_settings", &self.connector_settings)
            .field("connector_secret", &self.connector_secret.as_ref().map(|_| "<sealed>"))
            .field("rules", &self.rules)
            .field("pull_interval_secs", &self.pull_interval_secs)
            .field("push", &self.push)
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// Whether a profile's scheduled runs work: `Failing` from the
/// `failing_after`-th failure in a row until a success (R-SVC-2). Stored as
/// its `as_str` text; readers get the enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    Ok,
    Failing,
}

impl ScheduleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleState::Ok => "ok",
            ScheduleState::Failing => "failing",
        }
    }

    /// The stored text back as the enum; `None` for a text no version wrote.
    pub fn parse(s: &str) -> Option<ScheduleState> {
        [ScheduleState::Ok, ScheduleState::Failing]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

impl fmt::Display for ScheduleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a profile's schedule stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileStatusRow {
    pub state: ScheduleState,
    /// Why the last run failed (kept while failing).
    pub state_reason: Option<String>,
    /// Failed runs in a row (0 after a success).
    pub failures: i64,
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// A trigger arrived while the profile ran: run again at once.
    pub pending_trigger: bool,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    /// Bumped by every claim: the fencing token of the current (or last)
    /// lease (R-SCHED-4, [`crate::Store::fenced`]).
    pub lease_token: i64,
    /// The earliest push notice (a CRM change the scheduler read, a
    /// groupware notification, on the scheduler's clock) that the claimed
    /// run serves; `None` when no push woke it (R-WEB-20).
    pub run_woken_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRow {
    pub definition: ProfileDefinitionRow,
    pub status: ProfileStatusRow,
    /// Bumped whenever the definition changes: the profile's ETag.
    pub version: i64,
}

pub(crate) const PROFILE_COLUMNS: &str = "name, user_id, source, connector_kind, connector_settings, \
    connector_secret, rules, pull_interval_secs, push, enabled, state, state_reason, failures, next_run_at, \
    last_run_at, pending_trigger, lease_owner, lease_until, lease_token, run_woken_at, version";

pub(crate) fn profile_from_row(r: &AnyRow) -> Result<ProfileRow> {
    Ok(ProfileRow {
        definition: ProfileDefinitionRow {
            name: get_text(r, "name")?,
            user_id: get_text(r, "user_id")?,
            source: get_text(r, "source")?,
            connector_kind: get_text(r, "connector_kind")?,
            connector_settings: get_text(r, "connector_settings")?,
            connector_secret: get_opt_text(r, "connector_secret")?,
            rules: get_text(r, "rules")?,
            pull_interval_secs: get_i64(r, "pull_interval_secs")?,
            push: get_i64(r, "push")? != 0,
            enabled: get_i64(r, "enabled")? != 0,
        },
        status: status_from_row(r)?,
        version: get_i64(r, "version")?,
    })
}

/// The schedule columns of a profile row (present in [`PROFILE_COLUMNS`]
/// and [`SCHEDULE_COLUMNS`] alike).
fn status_from_row(r: &AnyRow) -> Result<ProfileStatusRow> {
    use sqlx::Row;
    let opt_i64 = |col: &str| -> Result<Option<i64>> { r.try_get(col).map_err(StoreError::db("reading a profile")) };
    Ok(ProfileStatusRow {
        state: {
            let text = get_text(r, "state")?;
            ScheduleState::parse(&text).ok_or_else(|| StoreError::CorruptStatus {
                what: "a profile's schedule state".into(),
                reason: format!("`{text}` is not a state this version knows"),
            })?
        },
        state_reason: get_opt_text(r, "state_reason")?,
        failures: get_i64(r, "failures")?,
        next_run_at: from_ms(get_i64(r, "next_run_at")?),
        last_run_at: opt_i64("last_run_at")?.map(from_ms),
        pending_trigger: get_i64(r, "pending_trigger")? != 0,
        lease_owner: get_opt_text(r, "lease_owner")?,
        lease_until: opt_i64("lease_until")?.map(from_ms),
        lease_token: get_i64(r, "lease_token")?,
        run_woken_at: opt_i64("run_woken_at")?.map(from_ms),
    })
}

/// A profile's owner and schedule without its settings, secret or rules:
/// what list pages need for many profiles at once, read without the
/// settings' text (R-WEB-3-ONE-QUERY).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileScheduleRow {
    pub name: String,
    pub user_id: String,
    pub push: bool,
    pub enabled: bool,
    pub status: ProfileStatusRow,
}

fn schedule_from_row(r: &AnyRow) -> Result<ProfileScheduleRow> {
    Ok(ProfileScheduleRow {
        name: get_text(r, "name")?,
        user_id: get_text(r, "user_id")?,
        push: get_i64(r, "push")? != 0,
        enabled: get_i64(r, "enabled")? != 0,
        status: status_from_row(r)?,
    })
}

const SCHEDULE_COLUMNS: &str = "name, user_id, push, enabled, state, state_reason, failures, next_run_at, \
    last_run_at, pending_trigger, lease_owner, lease_until, lease_token, run_woken_at";

/// What [`Catalog::upsert_profile`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileUpsert {
    Created,
    /// The definition changed: the schedule starts afresh (run now, failures cleared).
    Changed,
    Unchanged,
}

/// What a save expects to find, checked in the same transaction as the write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileExpect {
    /// Create or replace (the config import).
    Any,
    /// Create only: the name must be free.
    Absent,
    /// Replace only, and only this version (If-Match).
    Version(i64),
}

/// What [`Catalog::save_profile`] did, or why it did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSave {
    Done(ProfileUpsert),
    /// `Absent` was expected, the name is taken.
    Exists,
    /// A version was expected, there is no such profile.
    Missing,
    /// A version was expected, the profile has another.
    Stale {
        current: i64,
    },
}

impl Catalog {
    /// Creates the profile or replaces its definition. A new or changed
    /// profile is due at `now` with a clean state, so a fixed configuration
    /// gets its chance at once; an unchanged one keeps its schedule.
    pub async fn upsert_profile(&self, def: &ProfileDefinitionRow, now: DateTime<Utc>) -> Result<ProfileUpsert> {
        match self.save_profile(def, now, ProfileExpect::Any).await? {
            ProfileSave::Done(outcome) => Ok(outcome),
            other => unreachable!("`Any` expects nothing, got {other:?}"),
        }
    }

    /// As [`Catalog::upsert_profile`], when the profile is as `expect` says.
    /// A change bumps the version; an unchanged definition keeps it.
    pub async fn save_profile(
        &self,
        def: &ProfileDefinitionRow,
        now: DateTime<Utc>,
        expect: ProfileExpect,
    ) -> Result<ProfileSave> {
        let mut tx = self.db.begin_write().await?;
        let lock = match self.db.backend() {
            // Two saves of one name must not both read the old version.
            crate::Backend::Postgres => " FOR UPDATE",
            crate::Backend::Sqlite => "",
        };
        let existing = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM sync_profiles WHERE name = $1{lock}"
        )))
        .bind(&def.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::db("reading a profile"))?;
        let existing = existing.as_ref().map(profile_from_row).transpose()?;
        match (&existing, expect) {
            (Some(_), ProfileExpect::Absent) => return Ok(ProfileSave::Exists),
            (None, ProfileExpect::Version(_)) => return Ok(ProfileSave::Missing),
            (Some(row), ProfileExpect::Version(v)) if row.version != v => {
                return Ok(ProfileSave::Stale { current: row.version });
            }
            _ => {}
        }
        let outcome = match existing {
            Some(row) if row.definition == *def => ProfileUpsert::Unchanged,
            Some(_) => {
                sqlx::query(
                    "UPDATE sync_profiles SET user_id = $2, source = $3, connector_kind = $4, connector_settings = $5, \
                     connector_secret = $6, rules = $7, pull_interval_secs = $8, push = $9, enabled = $10, \
                     state = 'ok', state_reason = NULL, failures = 0, next_run_at = $11, updated_at = $11, \
                     version = version + 1 WHERE name = $1",
                )
                .bind(&def.name)
                .bind(&def.user_id)
                .bind(&def.source)
                .bind(&def.connector_kind)
                .bind(&def.connector_settings)
                .bind(def.connector_secret.clone())
                .bind(&def.rules)
                .bind(def.pull_interval_secs)
                .bind(flag(def.push))
                .bind(flag(def.enabled))
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("saving a profile"))?;
                ProfileUpsert::Changed
            }
            None => {
                sqlx::query(
                    "INSERT INTO sync_profiles (name, user_id, source, connector_kind, connector_settings, \
                     connector_secret, rules, pull_interval_secs, push, enabled, state, failures, next_run_at, \
                     pending_trigger, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'ok', 0, $11, 0, $11, $11)",
                )
                .bind(&def.name)
                .bind(&def.user_id)
                .bind(&def.source)
                .bind(&def.connector_kind)
                .bind(&def.connector_settings)
                .bind(def.connector_secret.clone())
                .bind(&def.rules)
                .bind(def.pull_interval_secs)
                .bind(flag(def.push))
                .bind(flag(def.enabled))
                .bind(to_ms(now))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("saving a profile"))?;
                ProfileUpsert::Created
            }
        };
        tx.commit().await.map_err(StoreError::db("saving a profile"))?;
        Ok(ProfileSave::Done(outcome))
    }

    /// Stores the hash of a new push token for the profile (the old one
    /// stops working). False when there is no such profile.
    pub async fn set_push_token_hash(&self, name: &str, token_hash: &str) -> Result<bool> {
        let done = sqlx::query("UPDATE sync_profiles SET push_token_hash = $2 WHERE name = $1")
            .bind(name)
            .bind(token_hash)
            .execute(self.db.pool())
            .await
            .map_err(StoreError::db("storing a push token"))?;
        Ok(done.rows_affected() > 0)
    }

    /// The profile whose push token hashes to `token_hash`.
    pub async fn profile_by_push_token_hash(&self, token_hash: &str) -> Result<Option<ProfileRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM sync_profiles WHERE push_token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a profile"))?;
        row.as_ref().map(profile_from_row).transpose()
    }

    pub async fn profile_row(&self, name: &str) -> Result<Option<ProfileRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM sync_profiles WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a profile"))?;
        row.as_ref().map(profile_from_row).transpose()
    }

    /// Every stored profile by name, or only `user_id`'s.
    pub async fn profile_rows(&self, user_id: Option<&str>) -> Result<Vec<ProfileRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROFILE_COLUMNS} FROM sync_profiles WHERE $1 = '' OR user_id = $1 ORDER BY name"
        )))
        .bind(user_id.unwrap_or_default())
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("listing profiles"))?;
        rows.iter().map(profile_from_row).collect()
    }

    /// [`Self::profile_rows`] without settings, secrets and rules: the
    /// owners and schedules of every profile (of one user's, with
    /// `user_id`), by name.
    pub async fn profile_schedules(&self, user_id: Option<&str>) -> Result<Vec<ProfileScheduleRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM sync_profiles WHERE $1 = '' OR user_id = $1 ORDER BY name"
        )))
        .bind(user_id.unwrap_or_default())
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("listing profiles"))?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// One profile's owner and schedule ([`Self::profile_schedules`] by name).
    pub async fn profile_schedule(&self, name: &str) -> Result<Option<ProfileScheduleRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCHEDULE_COLUMNS} FROM sync_profiles WHERE name = $1"
        )))
        .bind(name)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a profile"))?
        .as_ref()
        .map(schedule_from_row)
        .transpose()
    }

    /// Removes the profile's definition and schedule (its sync status rows
    /// stay, for explain and a later re-creation) and its delegated sign-in
    /// (R-GRAPH-32: a profile made later under the same name must sign in
    /// itself), in one transaction. True when it existed.
    pub async fn delete_profile(&self, name: &str) -> Result<bool> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query("DELETE FROM sync_profiles WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting a profile"))?;
        sqlx::query("DELETE FROM graph_sign_ins WHERE profile = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("deleting a profile's sign-in"))?;
        tx.commit().await.map_err(StoreError::db("deleting a profile"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Asks for a run of each named profile at `now` (R-SCHED-2); profiles
    /// with push off or disabled are left to their interval. A profile
    /// that is running gets `pending_trigger`, so its run's end schedules the
    /// next at once; one backing off after failures keeps its delay (a busy
    /// CRM must not turn back-off into a retry storm). `now` is kept as the
    /// profile's push notice unless an earlier one waits (R-WEB-20). Returns
    /// how many profiles were triggered.
    pub async fn trigger_profiles(&self, names: &[String], now: DateTime<Utc>) -> Result<u64> {
        let mut found = 0;
        for name in names {
            let done = sqlx::query(
                "UPDATE sync_profiles SET pending_trigger = 1, \
                 next_run_at = CASE WHEN failures = 0 AND next_run_at > $2 THEN $2 ELSE next_run_at END, \
                 woken_at = CASE WHEN woken_at IS NULL OR woken_at > $2 THEN $2 ELSE woken_at END \
                 WHERE name = $1 AND enabled = 1 AND push = 1",
            )
            .bind(name)
            .bind(to_ms(now))
            .execute(self.db.pool())
            .await
            .map_err(StoreError::db("triggering a profile"))?;
            found += done.rows_affected();
        }
        Ok(found)
    }

    /// The profiles a change of this record concerns (R-SCHED-2): those of
    /// its owner (`owner_id`, taken from the change so deletes count too), of
    /// the users invited to it or who flagged it *synchronize*, and every
    /// profile that holds a pair of it (covers a participant just removed).
    /// None for a tracked e-mail (R-TRACK-MAIL-13): e-mails never travel to
    /// a groupware collection and no CRM change of one is written to a
    /// mailbox, so a run it started would find nothing to do, and every
    /// e-mail a mail pass stores would start one.
    pub async fn profiles_touched_by(
        &self,
        entity: EntityKind,
        record_id: &str,
        owner_id: &str,
    ) -> Result<Vec<String>> {
        if entity == EntityKind::Activity {
            let tracked = sqlx::query("SELECT 1 FROM email_messages WHERE activity_id = $1")
                .bind(record_id)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StoreError::db("finding the profiles of a record"))?;
            if tracked.is_some() {
                return Ok(Vec::new());
            }
        }
        let users = match entity {
            EntityKind::Contact => "SELECT user_id FROM contact_sync_flags WHERE contact_id = $1",
            EntityKind::Activity => {
                "SELECT party_id FROM activity_participants WHERE activity_id = $1 AND kind = 'user' \
                 AND party_id IS NOT NULL"
            }
            // Users, accounts and leads are not synced as items of their own.
            _ => return Ok(Vec::new()),
        };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM sync_profiles WHERE enabled = 1 AND (user_id = $2 OR user_id IN ({users}) \
             OR name IN (SELECT profile FROM sync_pairs WHERE crm_id = $1)) ORDER BY name"
        )))
        .bind(record_id)
        .bind(owner_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("finding the profiles of a record"))?;
        rows.iter().map(|r| get_text(r, "name")).collect()
    }
}
