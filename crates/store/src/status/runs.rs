use chrono::{DateTime, Utc};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::columns::get_enum;
use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, from_ms, get_i64, get_opt_text, get_text, now_ms};
use crate::{Backend, SyncState};

/// One sync run of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRow {
    pub id: String,
    pub profile: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunState,
    /// JSON summary (counts per entity and action).
    pub summary: Option<String>,
    pub error: Option<String>,
}

/// How a run ended, or that it has not (yet). Stored as its `as_str` text;
/// every reader gets the enum, so no caller compares strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// In progress, or its process died and no later run closed it yet.
    Running,
    /// Everything planned was applied.
    Ok,
    /// Some items changed underneath and wait for the next run.
    Partial,
    /// A collection's plan was held by the mass-delete guard (R-SAFE-3).
    Guarded,
    Failed,
    /// Its process stopped during the run; a later run closed it (R-SYNC-RUNS-1).
    Interrupted,
    /// Nothing was applied (R-SAFE-5); dry runs are not recorded today.
    DryRun,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Ok => "ok",
            RunState::Partial => "partial",
            RunState::Guarded => "guarded",
            RunState::Failed => "failed",
            RunState::Interrupted => "interrupted",
            RunState::DryRun => "dry-run",
        }
    }

    /// Every state.
    pub const ALL: [RunState; 7] = [
        RunState::Running,
        RunState::Ok,
        RunState::Partial,
        RunState::Guarded,
        RunState::Failed,
        RunState::Interrupted,
        RunState::DryRun,
    ];

    /// The stored text back as the enum; `None` for a text no version wrote.
    pub fn parse(s: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// A run that ended and synced (fully or partly).
    pub fn succeeded(self) -> bool {
        matches!(self, RunState::Ok | RunState::Partial)
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one journaled action stands. A step is `started` before its write is
/// sent and `done` once the other side confirmed it and the status store
/// holds the result; a crash leaves `planned` or `started` steps, which the
/// next run checks against both sides before planning anew (R-SAFE-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Planned,
    Started,
    Done,
    Failed,
    /// Not applied because the item changed underneath; re-planned.
    Replanned,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Planned => "planned",
            StepState::Started => "started",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::Replanned => "replanned",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JournalStep {
    pub run_id: String,
    pub step: i64,
    pub profile: String,
    pub collection: String,
    /// The action as JSON, with everything needed to check or redo it.
    pub action: String,
    pub state: StepState,
    pub detail: Option<String>,
}

pub(super) fn run_from_row(r: &AnyRow) -> Result<RunRow> {
    use sqlx::Row;
    let finished: Option<i64> = r.try_get("finished_at").map_err(StoreError::db("reading runs"))?;
    Ok(RunRow {
        id: get_text(r, "id")?,
        profile: get_text(r, "profile")?,
        started_at: from_ms(get_i64(r, "started_at")?),
        finished_at: finished.map(from_ms),
        outcome: get_enum(r, "outcome")?,
        summary: get_opt_text(r, "summary")?,
        error: get_opt_text(r, "error")?,
    })
}

/// [`SyncState::close_dead_runs`]: $1 the profile, $2 the current run, $3
/// now, $4 the note. R-SCALE-15: `outcome = 'running'` is the predicate of
/// the partial index `sync_runs_running` (migration 0024), so this reads
/// the profile's unfinished runs (normally just the current one), not every
/// run the profile kept (~2,900 at a 15-minute interval and 30 days' reports).
pub(crate) const CLOSE_DEAD_RUNS: &str = "UPDATE sync_runs SET finished_at = $3, outcome = 'interrupted', error = $4 \
     WHERE profile = $1 AND id <> $2 AND outcome = 'running'";

impl SyncState {
    pub async fn begin_run(&self, profile: &str) -> Result<RunRow> {
        let run = RunRow {
            id: uuid::Uuid::new_v4().to_string(),
            profile: profile.to_string(),
            started_at: from_ms(now_ms()),
            finished_at: None,
            outcome: RunState::Running,
            summary: None,
            error: None,
        };
        self.db
            .execute_write(
                sqlx::query("INSERT INTO sync_runs (id, profile, started_at, outcome) VALUES ($1, $2, $3, $4)")
                    .bind(&run.id)
                    .bind(&run.profile)
                    .bind(run.started_at.timestamp_millis())
                    .bind(run.outcome.as_str()),
                "starting a sync run",
            )
            .await?;
        Ok(run)
    }

    pub async fn finish_run(
        &self,
        run_id: &str,
        outcome: RunState,
        summary: Option<&str>,
        error: Option<&str>,
    ) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query(
                    "UPDATE sync_runs SET finished_at = $2, outcome = $3, summary = $4, error = $5 WHERE id = $1",
                )
                .bind(run_id)
                .bind(now_ms())
                .bind(outcome.as_str())
                .bind(summary.map(str::to_string))
                .bind(error.map(str::to_string)),
                "finishing a sync run",
            )
            .await?;
        Ok(())
    }

    /// Closes every run of `profile` still marked `running` other than
    /// `current` as `interrupted` with `note`; returns how many. Only the
    /// holder of the profile's lease calls this, so those rows belong to
    /// runs whose process died or was stopped (R-SAFE-2).
    pub async fn close_dead_runs(&self, profile: &str, current: &str, note: &str) -> Result<u64> {
        let done = self
            .db
            .execute_write(
                sqlx::query(CLOSE_DEAD_RUNS)
                    .bind(profile)
                    .bind(current)
                    .bind(now_ms())
                    .bind(note),
                "closing dead sync runs",
            )
            .await?;
        Ok(done.rows_affected())
    }

    /// One run by id.
    pub async fn run(&self, id: &str) -> Result<Option<RunRow>> {
        let row = sqlx::query(
            "SELECT id, profile, started_at, finished_at, outcome, summary, error FROM sync_runs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a sync run"))?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// A profile's latest runs, newest first.
    pub async fn runs(&self, profile: &str, limit: u32) -> Result<Vec<RunRow>> {
        let rows = sqlx::query(
            "SELECT id, profile, started_at, finished_at, outcome, summary, error FROM sync_runs \
             WHERE profile = $1 ORDER BY started_at DESC, id DESC LIMIT $2",
        )
        .bind(profile)
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading sync runs"))?;
        rows.iter().map(run_from_row).collect()
    }

    /// Writes a plan's actions as `planned` steps, all or none, and returns
    /// the step number of the first (the rest follow in order).
    pub async fn journal_plan(&self, run_id: &str, profile: &str, collection: &str, actions: &[String]) -> Result<i64> {
        let mut tx = self.db.begin_write().await?;
        let base: i64 = {
            use sqlx::Row;
            let row = sqlx::query("SELECT COALESCE(MAX(step), 0) AS m FROM sync_journal WHERE run_id = $1")
                .bind(run_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::db("writing the plan journal"))?;
            row.try_get("m").map_err(StoreError::db("writing the plan journal"))?
        };
        // Many rows per statement (R-VDIR-12): run, profile and collection
        // are bound once, each row adds its step and action.
        for (c, chunk) in actions.chunks(PLAN_ROWS_PER_STATEMENT).enumerate() {
            let mut sql =
                Sql::new("INSERT INTO sync_journal (run_id, step, profile, collection, action, state) VALUES ");
            let run = sql.arg(Arg::Text(run_id.to_string()));
            let prof = sql.arg(Arg::Text(profile.to_string()));
            let coll = sql.arg(Arg::Text(collection.to_string()));
            for (i, action) in chunk.iter().enumerate() {
                let step = sql.arg(Arg::Int(base + 1 + (c * PLAN_ROWS_PER_STATEMENT + i) as i64));
                let action = sql.arg(Arg::Text(action.clone()));
                sql.push(if i == 0 { "" } else { ", " })
                    .push(&format!("({run}, {step}, {prof}, {coll}, {action}, 'planned')"));
            }
            sql.query(self.db.backend())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("writing the plan journal"))?;
        }
        tx.commit().await.map_err(StoreError::db("writing the plan journal"))?;
        Ok(base + 1)
    }

    pub async fn journal_mark(&self, run_id: &str, step: i64, state: StepState, detail: Option<&str>) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        mark_in(&mut tx, run_id, step, state, detail).await?;
        tx.commit().await.map_err(StoreError::db("updating the plan journal"))
    }

    /// Steps of a run, in order.
    pub async fn journal(&self, run_id: &str) -> Result<Vec<JournalStep>> {
        self.journal_where("run_id = $1", run_id).await
    }

    /// Steps of a profile's earlier runs that never finished (`planned` or
    /// `started`): a crash left them, and the next run resolves them first.
    pub async fn journal_unfinished(&self, profile: &str) -> Result<Vec<JournalStep>> {
        self.journal_where("profile = $1 AND state IN ('planned', 'started')", profile)
            .await
    }

    async fn journal_where(&self, cond: &str, value: &str) -> Result<Vec<JournalStep>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT run_id, step, profile, collection, action, state, detail FROM sync_journal WHERE {cond} \
             ORDER BY run_id, step"
        )))
        .bind(value)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("reading the plan journal"))?;
        rows.iter()
            .map(|r| {
                Ok(JournalStep {
                    run_id: get_text(r, "run_id")?,
                    step: get_i64(r, "step")?,
                    profile: get_text(r, "profile")?,
                    collection: get_text(r, "collection")?,
                    action: get_text(r, "action")?,
                    state: get_enum(r, "state")?,
                    detail: get_opt_text(r, "detail")?,
                })
            })
            .collect()
    }
}

pub(super) async fn mark_in(
    conn: &mut AnyConnection,
    run_id: &str,
    step: i64,
    state: StepState,
    detail: Option<&str>,
) -> Result<()> {
    sqlx::query("UPDATE sync_journal SET state = $3, detail = $4 WHERE run_id = $1 AND step = $2")
        .bind(run_id)
        .bind(step)
        .bind(state.as_str())
        .bind(detail.map(str::to_string))
        .execute(&mut *conn)
        .await
        .map_err(StoreError::db("updating the plan journal"))?;
    Ok(())
}

/// Plan steps written by one statement of `journal_plan`.
const PLAN_ROWS_PER_STATEMENT: usize = 1000;

/// Steps set by one statement of [`mark_all_in`].
const STEPS_PER_STATEMENT: usize = 500;

/// One journal mark of a batch.
pub(super) struct Mark<'a> {
    pub run_id: &'a str,
    pub step: i64,
    pub state: StepState,
    pub detail: Option<&'a str>,
}

/// Marks set by one statement share run, state and detail.
type MarkGroup<'a> = (&'a str, StepState, Option<&'a str>);

/// Sets every mark, as [`mark_in`] one after the other would (a step
/// marked twice keeps its last mark), in one statement per run, state and
/// detail (R-VDIR-12): a chunk's marks are mostly the same state with no
/// detail.
pub(super) async fn mark_all_in(conn: &mut AnyConnection, marks: &[Mark<'_>]) -> Result<()> {
    let mut last: std::collections::HashMap<(&str, i64), usize> = std::collections::HashMap::new();
    for (i, m) in marks.iter().enumerate() {
        last.insert((m.run_id, m.step), i);
    }
    let mut groups: Vec<(MarkGroup<'_>, Vec<i64>)> = Vec::new();
    for (i, m) in marks.iter().enumerate() {
        if last[&(m.run_id, m.step)] != i {
            continue;
        }
        let key = (m.run_id, m.state, m.detail);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, steps)) => steps.push(m.step),
            None => groups.push((key, vec![m.step])),
        }
    }
    for ((run_id, state, detail), steps) in groups {
        for chunk in steps.chunks(STEPS_PER_STATEMENT) {
            let mut sql = Sql::new("UPDATE sync_journal SET state = ");
            let s = sql.arg(Arg::Text(state.as_str().to_string()));
            let d = sql.arg(Arg::OptText(detail.map(str::to_string)));
            let r = sql.arg(Arg::Text(run_id.to_string()));
            sql.push(&format!("{s}, detail = {d} WHERE run_id = {r} AND step IN "));
            sql.row(chunk.iter().map(|&step| Arg::Int(step)));
            sql.query(Backend::of(conn))
                .execute(&mut *conn)
                .await
                .map_err(StoreError::db("updating the plan journal"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::RunState;

    // Outcomes are stored as text and read back as the enum; a text no
    // version wrote is refused rather than guessed (R-OPS-10).
    #[test]
    fn r_ops_10_run_states_read_back_as_written_and_unknown_text_is_refused() {
        for state in RunState::ALL {
            assert_eq!(RunState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert_eq!(RunState::parse("finished"), None);
        assert!(RunState::Partial.succeeded() && !RunState::Guarded.succeeded());
    }
}
