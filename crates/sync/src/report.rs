//! What a run did, for people (`Display`) and programs (serde).

use std::collections::BTreeMap;
use std::fmt;

use crmsync_engine::{ActionKind, EntityClass, MassDeleteHold, Plan, RuleId, Side, Target, Warning};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Everything planned was applied and the cursors moved on.
    Ok,
    /// Nothing was changed: a dry run (R-SAFE-5).
    DryRun,
    /// A collection's plan was held by the mass-delete guard (R-SAFE-3).
    Guarded,
    /// Some items changed while the run wrote them and are left for the next
    /// run; nothing was lost or forced.
    Partial,
}

/// The state the status store records for a run that ended this way.
impl From<RunOutcome> for crmsync_store::status::RunState {
    fn from(outcome: RunOutcome) -> Self {
        use crmsync_store::status::RunState;
        match outcome {
            RunOutcome::Ok => RunState::Ok,
            RunOutcome::DryRun => RunState::DryRun,
            RunOutcome::Guarded => RunState::Guarded,
            RunOutcome::Partial => RunState::Partial,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CollectionReport {
    pub class: EntityClass,
    pub collection: String,
    /// The plan of the last pass (dry-run: what would happen).
    pub plan: Plan,
    /// "target kind" → how many actions were applied, over all passes.
    pub applied: BTreeMap<String, usize>,
    pub passes: usize,
    /// Items that changed underneath and are left for the next run.
    pub replanned: usize,
    pub failed: Vec<String>,
    /// Edits undone because the side that made them may not change the
    /// record, each with why (R-DIR-2, R-ENG-5).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reverted: Vec<String>,
    /// href → why it could not be read (R-SAFE-4).
    pub quarantined: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<MassDeleteHold>,
    /// The warnings of every pass, each once: the first pass's (a value
    /// cut to the connector's limit, R-FIELD-6) are not in the last plan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The most CRM records one step of a pass held loaded and mapped at
    /// once (R-SYNC-STREAM-1): a first sync streams its creates in batches,
    /// so this stays at two batches (the one written and the next, read
    /// beside it, R-SYNC-STREAM-3) whatever the mailbox holds.
    #[serde(skip)]
    pub largest_batch: usize,
    /// How much mapping work the run did for this collection (R-PERF-1).
    #[serde(skip)]
    pub mapping: MappingWork,
    /// Users, contacts and accounts the run's directory read to map this
    /// collection: what the mapped records name, not the CRM's size (R-SCALE-8).
    #[serde(skip)]
    pub directory_rows: usize,
}

/// Mapping work of one collection's run, over all its passes (R-PERF-1):
/// a no-change run maps, parses and renders nothing; a first sync renders
/// each record once and parses nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MappingWork {
    /// CRM records mapped to fields.
    pub mapped: usize,
    /// Groupware bodies parsed.
    pub parsed: usize,
    /// Groupware bodies rendered to be written.
    pub rendered: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub profile: String,
    pub outcome: RunOutcome,
    /// Journal steps of an interrupted earlier run that this run resolved.
    pub recovered_steps: usize,
    pub collections: Vec<CollectionReport>,
}

impl RunReport {
    /// How many actions of one "target kind" (`groupware create`) the run
    /// applied in `collection`.
    pub fn applied(&self, collection: &str, key: &str) -> usize {
        self.collections
            .iter()
            .find(|c| c.collection == collection)
            .and_then(|c| c.applied.get(key).copied())
            .unwrap_or(0)
    }

    /// Every action the run applied to either side, over all collections:
    /// what a second run after a converged one must keep at zero.
    pub fn writes(&self) -> usize {
        self.collections
            .iter()
            .flat_map(|c| c.applied.iter())
            .filter(|(k, _)| k.starts_with("crm ") || k.starts_with("groupware "))
            .map(|(_, n)| n)
            .sum()
    }
}

impl CollectionReport {
    /// Adds a pass's failures, each once per run (R-SYNC-REPORT-1): a later
    /// pass tries an unwritable item again and fails it with the same text
    /// (the action names the item, then the reason), which the user must not
    /// see twice.
    pub(crate) fn add_failures(&mut self, failures: Vec<String>) {
        let mut seen: std::collections::HashSet<String> = self.failed.iter().cloned().collect();
        for failure in failures {
            if seen.insert(failure.clone()) {
                self.failed.push(failure);
            }
        }
    }

    /// Notes the reverts of an applied plan, each once per run, with why
    /// (R-OPS-15): a user whose edit disappears must learn it was on purpose.
    pub(crate) fn add_reverts(&mut self) {
        let mut lines = Vec::new();
        for a in self.plan.actions.iter().filter(|a| a.kind == ActionKind::Revert) {
            let what = a.subject.href.clone().or(a.subject.crm_id.clone()).unwrap_or_default();
            let place = if a.target == Target::Crm {
                "in the CRM"
            } else {
                "in the groupware"
            };
            let why = match a.rule {
                RuleId::Eng5 => "the CRM record is shared with this user read-only, so an edit in the groupware \
                                 cannot reach the CRM and the CRM's values were written back"
                    .to_string(),
                RuleId::Dir2 | RuleId::Dir1 => "this entity syncs one way (R-DIR-1) and the edit was made on the \
                                                read-only side, so the leading side's values were written back"
                    .to_string(),
                other => other.description().to_string(),
            };
            lines.push(format!("{what} reverted {place} ({}): {why}", a.rule));
        }
        for line in lines {
            if !self.reverted.contains(&line) {
                self.reverted.push(line);
            }
        }
    }

    /// Counts of what happened (or would happen, in a dry run) by "target kind".
    pub fn counts(&self, dry_run: bool) -> BTreeMap<String, usize> {
        if !dry_run {
            return self.applied.clone();
        }
        let mut counts = BTreeMap::new();
        for a in &self.plan.actions {
            *counts.entry(format!("{} {}", a.target, a.kind.as_str())).or_default() += 1;
        }
        counts
    }
}

/// Words for a count key, e.g. "groupware create" → "created in groupware".
fn describe(key: &str) -> Option<String> {
    let (target, kind) = key.split_once(' ')?;
    let verb = match kind {
        "create" => "created",
        "update" => "updated",
        "revert" => "reverted",
        "delete" => "deleted",
        // The CRM record may be gone (deleted there) or only out of scope:
        // what is true in every case is that the item stays (R-DEL-3).
        "unlink" => return Some("unlinked (the groupware item stays, no longer synced)".into()),
        "mark-removed-by-user" => return Some("removed by the user (kept in the CRM)".into()),
        "conflict" => return Some("conflict(s) queued".into()),
        _ => return None,
    };
    let place = if target == "crm" {
        "in the CRM"
    } else {
        "in the groupware"
    };
    Some(format!("{verb} {place}"))
}

/// The held plan in words, the safe repair first and the destructive
/// confirmation second, each saying what it does (R-SAFE-3, R-SYNC-GUARD-2).
fn write_hold(
    f: &mut fmt::Formatter<'_>,
    profile: &str,
    collection: &str,
    g: &MassDeleteHold,
    dry: bool,
) -> fmt::Result {
    let what = match g.side {
        Side::Crm => "CRM records",
        Side::Groupware => "groupware items",
    };
    let changed = if dry {
        "a sync changes nothing"
    } else {
        "nothing was changed"
    };
    writeln!(
        f,
        "    HELD (R-SAFE-3): this run would take {} of the {} {what} of {collection} out of sync ({}); \
         {changed} in {collection}",
        g.deletes,
        g.total,
        g.breakdown()
    )?;
    writeln!(
        f,
        "    safe fix: `crmsync reset --profile {profile} --collection {collection}` forgets the pairs of \
         {collection} (never data); the next sync pairs both sides again and re-creates what one side lost, \
         without duplicates"
    )?;
    writeln!(
        f,
        "    only if the losses are wanted: `crmsync sync --profile {profile} --confirm-mass-delete` applies \
         this plan, deletions included"
    )
}

/// One line per distinct warning, with how many records it concerns and
/// a few of them (`crmsync explain` shows each record's own history), so a
/// limit that cuts 100 cards is one line, not 100.
fn write_warnings(f: &mut fmt::Formatter<'_>, warnings: &[Warning]) -> fmt::Result {
    let mut grouped: BTreeMap<(String, &str), Vec<&str>> = BTreeMap::new();
    for w in warnings {
        let who = w.subject.crm_id.as_deref().or(w.subject.href.as_deref()).unwrap_or("?");
        grouped
            .entry((w.rule.to_string(), w.message.as_str()))
            .or_default()
            .push(who);
    }
    for ((rule, message), who) in grouped {
        if who.len() == 1 {
            writeln!(f, "    warning ({rule}): {message} ({})", who[0])?;
        } else {
            let shown: Vec<&str> = who.iter().take(3).copied().collect();
            let more = if who.len() > 3 { ", …" } else { "" };
            writeln!(
                f,
                "    warning ({rule}): {message} ({} records: {}{more})",
                who.len(),
                shown.join(", ")
            )?;
        }
    }
    Ok(())
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dry = self.outcome == RunOutcome::DryRun;
        writeln!(
            f,
            "profile {}{}",
            self.profile,
            if dry { " (dry run: nothing changed)" } else { "" }
        )?;
        if self.recovered_steps > 0 {
            writeln!(
                f,
                "  resumed after an interrupted run ({} step(s) re-checked)",
                self.recovered_steps
            )?;
        }
        for c in &self.collections {
            let parts: Vec<String> = c
                .counts(dry)
                .iter()
                .filter_map(|(k, n)| describe(k).map(|d| format!("{n} {d}")))
                .collect();
            let held = !dry && c.guard.as_ref().is_some_and(|g| !g.confirmed);
            let summary = if held {
                // Nothing was applied, but the collection is not in step.
                "nothing applied: held by the mass-delete guard".to_string()
            } else if parts.is_empty() {
                "in step, nothing to do".to_string()
            } else {
                parts.join(", ")
            };
            writeln!(f, "  {:<9} {summary}", format!("{}:", c.collection))?;
            if dry {
                for a in c.plan.actions.iter().filter(|a| a.is_write()) {
                    writeln!(f, "    would {a}")?;
                }
            }
            if let Some(g) = c.guard.as_ref().filter(|g| !g.confirmed) {
                write_hold(f, &self.profile, &c.collection, g, dry)?;
            }
            for (href, why) in &c.quarantined {
                writeln!(f, "    quarantined (R-SAFE-4) {href}: {why}")?;
            }
            for d in &c.plan.duplicates {
                writeln!(
                    f,
                    "    possible duplicates (R-PAIR-2), not merged: CRM {:?} / groupware {:?} (by {})",
                    d.crm_ids, d.hrefs, d.matched_by
                )?;
            }
            write_warnings(f, &c.warnings)?;
            if !dry {
                for r in &c.reverted {
                    writeln!(f, "    {r}")?;
                }
            }
            for fail in &c.failed {
                writeln!(f, "    not applied: {fail}")?;
            }
            if c.replanned > 0 {
                writeln!(
                    f,
                    "    {} item(s) changed during the run: left for the next run",
                    c.replanned
                )?;
            }
        }
        Ok(())
    }
}
