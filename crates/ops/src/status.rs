//! `crmsync status` / `GET /sync/status`: how each profile is doing, from the
//! status store (runs, conflicts, quarantine, duplicates reports).

use std::fmt;

use chrono::{DateTime, Utc};
use crmsync_store::status::RunState;
use crmsync_store::{ScheduleState, StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::removed::{RemovedByUser, removed_by_user};

/// How many removed-by-user records the text lists per profile; `--json`
/// and the API list all of them.
const REMOVED_LISTED: usize = 20;

/// How many past runs are read to count consecutive failures and find the
/// last success: enough for an operator, bounded for a long history.
const RUNS_LOOKED_AT: u32 = 50;

/// One run, as the status shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunView {
    pub id: String,
    pub started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `ok`, `partial`, `guarded`, `failed` or `interrupted`.
    #[schema(value_type = String)]
    pub outcome: RunState,
    /// Per collection, how many actions of each kind were applied.
    #[schema(value_type = Object)]
    pub counts: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// An item sync cannot read (R-SAFE-4); it is left alone until it changes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QuarantinedItem {
    pub collection: String,
    pub href: String,
    pub error: String,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProfileStatus {
    pub profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run: Option<RunView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<DateTime<Utc>>,
    /// Failed runs since the last one that was not a failure.
    pub consecutive_failures: u32,
    /// Why the profile is failing (the last run's error), when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing: Option<String>,
    pub open_conflicts: usize,
    pub quarantined: Vec<QuarantinedItem>,
    /// Groups of possible duplicates in the latest reports (R-PAIR-2).
    pub duplicate_groups: usize,
    /// Records the user removed from the groupware that stay in the CRM,
    /// each with the command that brings it back (R-DEL-1, R-DEL-2).
    pub removed_by_user: Vec<RemovedByUser>,
    /// What the operator should do, one sentence each (empty: nothing).
    pub todo: Vec<String>,
    /// The scheduler's view (server mode), when the profile is stored in the database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleView>,
}

/// Where a stored profile's schedule stands (R-SCHED-1, R-SVC-2).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScheduleView {
    pub enabled: bool,
    pub push: bool,
    /// `ok` or `failing` (from the third failure in a row, R-SVC-2).
    #[schema(value_type = String)]
    pub state: ScheduleState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub failures: i64,
    pub next_run_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_at: Option<DateTime<Utc>>,
    /// The worker running it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_on: Option<String>,
    /// Whether the configuration runs a scheduler at all (`scheduler.enabled`),
    /// when the caller knows it (the CLI reads it from the file). Off: no
    /// scheduled run and no push happen, whatever `next_run_at` and `push` say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler_enabled: Option<bool>,
}

impl From<&crmsync_service::ProfileView> for ScheduleView {
    fn from(v: &crmsync_service::ProfileView) -> Self {
        ScheduleView {
            enabled: v.enabled,
            push: v.push,
            state: v.state,
            state_reason: v.state_reason.clone(),
            failures: v.failures,
            next_run_at: v.next_run_at,
            last_run_at: v.last_run_at,
            running_on: v.leased_by.clone(),
            scheduler_enabled: None,
        }
    }
}

impl From<&crmsync_store::ProfileScheduleRow> for ScheduleView {
    fn from(v: &crmsync_store::ProfileScheduleRow) -> Self {
        ScheduleView {
            enabled: v.enabled,
            push: v.push,
            state: v.status.state,
            state_reason: v.status.state_reason.clone(),
            failures: v.status.failures,
            next_run_at: v.status.next_run_at,
            last_run_at: v.status.last_run_at,
            running_on: v.status.lease_owner.clone(),
            scheduler_enabled: None,
        }
    }
}

pub(crate) fn run_view(r: crmsync_store::status::RunRow) -> RunView {
    let counts = r
        .summary
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(serde_json::Value::Null);
    RunView {
        id: r.id,
        started_at: r.started_at,
        finished_at: r.finished_at,
        outcome: r.outcome,
        counts,
        error: r.error,
    }
}

/// Reads one profile's status. `user_id` is shown as given (the status
/// store does not know users).
pub async fn profile_status(
    state: &SyncState,
    profile: &str,
    user_id: Option<&str>,
) -> Result<ProfileStatus, StoreError> {
    let runs = state.runs(profile, RUNS_LOOKED_AT).await?;
    let last_success_at = runs.iter().find(|r| r.outcome.succeeded()).and_then(|r| r.finished_at);
    // A run still `running` is either in progress or was interrupted; it
    // neither counts as a failure nor ends a streak of them.
    let consecutive_failures = runs
        .iter()
        .filter(|r| r.outcome != RunState::Running)
        .take_while(|r| r.outcome == RunState::Failed)
        .count() as u32;
    let failing = runs
        .iter()
        .find(|r| r.outcome != RunState::Running)
        .filter(|r| r.outcome == RunState::Failed)
        .map(|r| r.error.clone().unwrap_or_else(|| "unknown error".into()));
    let last_finished = runs.iter().find(|r| r.outcome != RunState::Running);
    let guarded = last_finished.is_some_and(|r| r.outcome == RunState::Guarded);
    let open_conflicts = state.open_conflicts(Some(profile)).await?.len();
    let quarantined: Vec<QuarantinedItem> = state
        .quarantined(profile)
        .await?
        .into_iter()
        .map(|q| QuarantinedItem {
            collection: q.collection,
            href: q.href,
            error: q.error,
            since: q.at,
        })
        .collect();
    let duplicate_groups = super::duplicates::read(state, profile)
        .await?
        .collections
        .iter()
        .map(|c| c.groups.len())
        .sum();

    let removed_by_user = removed_by_user(state, profile).await?;

    let mut todo = Vec::new();
    if failing.is_some() {
        todo.push(format!(
            "run `crmsync sync --profile {profile}` to see the error and what to do about it"
        ));
    }
    if guarded {
        // R-SYNC-GUARD-2: the safe repair first, the destructive one second.
        let held = held_in(last_finished.cloned().map(run_view).as_ref());
        let reset = if held.is_empty() {
            format!("`crmsync reset --profile {profile} --collection <the held collection>`")
        } else {
            held.iter()
                .map(|c| format!("`crmsync reset --profile {profile} --collection {c}`"))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        todo.push(format!(
            "the mass-delete guard (R-SAFE-3) held the last run: see what it would do with `crmsync sync --profile \
             {profile} --dry-run`; safe fix: {reset} forgets the pairs (never data) and the next sync re-creates \
             what one side lost, without duplicates; only if the losses are wanted: `crmsync sync --profile \
             {profile} --confirm-mass-delete` applies the plan, deletions included"
        ));
    }
    if open_conflicts > 0 {
        todo.push(format!(
            "{open_conflicts} conflict(s) wait for a choice: `crmsync conflicts --profile {profile}`"
        ));
    }
    if duplicate_groups > 0 {
        todo.push(format!(
            "{duplicate_groups} group(s) of possible duplicates were not merged: `crmsync duplicates --profile {profile}`"
        ));
    }
    if !quarantined.is_empty() {
        todo.push("fix or remove the quarantined items; sync retries them when they change".into());
    }
    Ok(ProfileStatus {
        profile: profile.to_string(),
        user_id: user_id.map(str::to_string),
        last_run: runs.into_iter().next().map(run_view),
        last_success_at,
        consecutive_failures,
        failing,
        open_conflicts,
        quarantined,
        duplicate_groups,
        removed_by_user,
        todo,
        schedule: None,
    })
}

/// A profile's state in one word, as the dashboard shows it (R-WEB-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Its last finished run succeeded (or it is running now).
    Ok,
    /// The mass-delete guard held its last run (R-SAFE-3): a choice is needed.
    Held,
    /// Its last run failed (or the scheduler marked it failing, R-SVC-2).
    Failing,
    /// Disabled: no scheduled run happens.
    Paused,
    /// It never ran.
    NotRunYet,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Held => "held",
            Health::Failing => "failing",
            Health::Paused => "paused",
            Health::NotRunYet => "not run yet",
        }
    }
}

impl ProfileStatus {
    /// Paused wins (nothing runs), then failing, then held.
    pub fn health(&self) -> Health {
        health_of(self.schedule.as_ref(), self.failing.is_some(), self.last_run.as_ref())
    }

    /// The last run's counts in words ("contacts: 3 groupware create, …").
    pub fn last_run_summary(&self) -> Option<String> {
        self.last_run.as_ref().and_then(|r| counts_line(&r.counts))
    }

    /// The collections the mass-delete guard held in the last run (R-SAFE-3),
    /// each one a candidate for a reset.
    pub fn held_collections(&self) -> Vec<String> {
        held_in(self.last_run.as_ref())
    }
}

/// A profile's health from its schedule, whether its last finished run
/// failed, and its last run: paused wins (nothing runs), then failing, then held.
pub(crate) fn health_of(schedule: Option<&ScheduleView>, failing: bool, last_run: Option<&RunView>) -> Health {
    if schedule.is_some_and(|s| !s.enabled) {
        return Health::Paused;
    }
    if failing || schedule.is_some_and(|s| s.state == ScheduleState::Failing) {
        return Health::Failing;
    }
    match last_run {
        None => Health::NotRunYet,
        Some(r) if r.outcome == RunState::Guarded => Health::Held,
        Some(_) => Health::Ok,
    }
}

/// The collections the mass-delete guard held in `run`, from its counts.
pub(crate) fn held_in(run: Option<&RunView>) -> Vec<String> {
    let Some(per) = run.and_then(|r| r.counts.as_object()) else {
        return Vec::new();
    };
    per.iter()
        .filter(|(_, c)| c.get(crmsync_sync::HELD_COUNT).is_some())
        .map(|(name, _)| name.clone())
        .collect()
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// "contacts: 3 groupware create, 2 paired; calendar: 1 crm update" from
/// the counts. Status-only changes (pairs linked, unlinked, removed by the
/// user, conflicts queued) are changes too; only the base bookkeeping
/// (`status save-base`) is left out. A held collection says so.
pub(crate) fn counts_line(counts: &serde_json::Value) -> Option<String> {
    let per = counts.as_object()?;
    let parts: Vec<String> = per
        .iter()
        .filter_map(|(collection, actions)| {
            let actions = actions.as_object()?;
            // A create pairs what it created: only the other pairs are news.
            let n = |k: &str| actions.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
            let created = n("crm create") + n("groupware create");
            let list: Vec<String> = actions
                .iter()
                .filter_map(|(k, v)| {
                    let count = v.as_u64()?;
                    let count = if k == "status pair" {
                        count.saturating_sub(created)
                    } else {
                        count
                    };
                    (count > 0).then_some(())?;
                    count_words(k).map(|w| format!("{count} {w}"))
                })
                .collect();
            if list.is_empty() {
                return Some(format!("{collection}: nothing to do"));
            }
            Some(format!("{collection}: {}", list.join(", ")))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Words for one count key; `None` for bookkeeping nobody needs to see.
fn count_words(key: &str) -> Option<String> {
    Some(match key {
        k if k == crmsync_sync::HELD_COUNT => "held by the mass-delete guard (R-SAFE-3), nothing applied".into(),
        "status save-base" => return None,
        "status pair" => "paired with what the other side already held".into(),
        "status unlink" => "unlinked (no longer synced)".into(),
        "status mark-removed-by-user" => "removed by the user (kept in the CRM)".into(),
        "status forget" => "forgotten (gone on both sides)".into(),
        "status conflict" => "conflict(s) queued".into(),
        "status skip" => "skipped".into(),
        other => other.to_string(),
    })
}

impl fmt::Display for ProfileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (&self.failing, &self.last_run) {
            (Some(_), _) => "FAILING",
            (None, None) => "never run",
            (None, Some(r)) if r.outcome == RunState::Running => "running (or interrupted)",
            (None, Some(r)) if r.outcome == RunState::Guarded => "HELD by the mass-delete guard",
            (None, Some(_)) => "ok",
        };
        writeln!(f, "profile {}: {state}", self.profile)?;
        if let Some(r) = &self.last_run {
            let finished = r.finished_at.map(when).unwrap_or_else(|| "not finished".into());
            writeln!(
                f,
                "  last run: {} (started {}, finished {finished})",
                r.outcome,
                when(r.started_at)
            )?;
            if let Some(line) = counts_line(&r.counts) {
                writeln!(f, "    {line}")?;
            }
        }
        if let Some(t) = self.last_success_at {
            writeln!(f, "  last success: {}", when(t))?;
        }
        if let Some(why) = &self.failing {
            writeln!(f, "  failing ({} run(s) in a row): {why}", self.consecutive_failures)?;
        }
        writeln!(
            f,
            "  open conflicts: {}, quarantined items: {}, duplicate groups: {}",
            self.open_conflicts,
            self.quarantined.len(),
            self.duplicate_groups
        )?;
        for q in &self.quarantined {
            writeln!(f, "    quarantined {}/{}: {}", q.collection, q.href, q.error)?;
        }
        if !self.removed_by_user.is_empty() {
            writeln!(
                f,
                "  removed by the user in the groupware, kept in the CRM (R-DEL-1): {}",
                self.removed_by_user.len()
            )?;
            for r in self.removed_by_user.iter().take(REMOVED_LISTED) {
                writeln!(
                    f,
                    "    {} record {} (was {}): bring it back with `{}`",
                    r.collection, r.record_id, r.href, r.restore
                )?;
            }
            if self.removed_by_user.len() > REMOVED_LISTED {
                writeln!(
                    f,
                    "    … and {} more (`crmsync --json status` lists them all)",
                    self.removed_by_user.len() - REMOVED_LISTED
                )?;
            }
        }
        if let Some(s) = self.schedule.as_ref().filter(|s| s.scheduler_enabled == Some(false)) {
            // A past "next run" and "push: on" would promise runs that never come.
            writeln!(
                f,
                "  schedule: none: the scheduler is off (`scheduler.enabled = false`), so neither scheduled runs \
                 nor push happen; run it with `crmsync sync --profile {}`",
                self.profile
            )?;
            let last = s.last_run_at.map(when).unwrap_or_else(|| "never".into());
            writeln!(f, "    last scheduled run: {last}; push: off; state: {}", s.state)?;
        } else if let Some(s) = &self.schedule {
            if !s.enabled {
                writeln!(f, "  schedule: disabled")?;
            } else if let Some(worker) = &s.running_on {
                writeln!(f, "  schedule: running now on {worker}")?;
            } else {
                writeln!(f, "  schedule: next run {}", when(s.next_run_at))?;
            }
            let last = s.last_run_at.map(when).unwrap_or_else(|| "never".into());
            let push = if s.push && s.enabled { "on" } else { "off" };
            writeln!(f, "    last scheduled run: {last}; push: {push}; state: {}", s.state)?;
            if let Some(why) = &s.state_reason {
                writeln!(f, "    failing ({} run(s) in a row): {why}", s.failures)?;
            }
        }
        for t in &self.todo {
            writeln!(f, "  to do: {t}")?;
        }
        Ok(())
    }
}
