//! The engine's output: a typed plan of actions, each saying what it writes
//! where, under which precondition, what it overwrites and which rule chose
//! it. Plans serialize to JSON and print one line per action, so dry-run,
//! logs, `explain` and the API all show the same thing (R-SAFE-5, R-EXPLAIN-1).

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::input::Origin;
use crate::rules::RuleId;

/// Where an action writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Crm,
    Groupware,
    /// Only the status store (pairs, bases, conflict queue, skip records).
    Status,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Crm => "crm",
            Target::Groupware => "groupware",
            Target::Status => "status",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    Create,
    Update,
    /// An update that undoes a change on the read-only side (R-DIR-2).
    Revert,
    Delete,
    /// Status: link a CRM record and a groupware item with `fields` as base.
    Pair,
    /// Status: store `fields` as the pair's new base once the writes before it
    /// for the same pair are confirmed (R-SAFE-1).
    SaveBase,
    /// Status: stop syncing; both sides keep what they have.
    Unlink,
    MarkRemovedByUser,
    /// Status: drop the pair; neither side holds the item any more.
    Forget,
    /// Status: queue a conflict for someone to choose (R-EDIT-3 manual).
    Conflict,
    /// Nothing is written; recorded so status and explain can say why.
    Skip,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Revert => "revert",
            ActionKind::Delete => "delete",
            ActionKind::Pair => "pair",
            ActionKind::SaveBase => "save-base",
            ActionKind::Unlink => "unlink",
            ActionKind::MarkRemovedByUser => "mark-removed-by-user",
            ActionKind::Forget => "forget",
            ActionKind::Conflict => "conflict",
            ActionKind::Skip => "skip",
        }
    }
}

/// What must still hold for a write to go ahead (R-SAFE-2).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Precondition {
    #[default]
    None,
    /// The CRM record still has this version.
    CrmVersion(i64),
    /// The groupware item still has this ETag (If-Match).
    Etag(String),
    /// Nothing exists yet under this identity (If-None-Match: *).
    MustNotExist,
}

/// Which pair, record and item an action concerns. A create in the groupware
/// has no href yet: the runner picks it and pairs it with `crm_id`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl Subject {
    fn describe(&self, target: Target) -> String {
        let crm = self.crm_id.clone();
        let href = self.href.clone();
        let text = match target {
            Target::Crm => crm.or(href),
            Target::Groupware => href.or(crm.map(|c| format!("new item for crm {c}"))),
            Target::Status => match (crm, href) {
                (Some(c), Some(h)) => Some(format!("{c} <-> {h}")),
                (c, h) => c.or(h),
            },
        };
        text.or_else(|| self.pair_id.clone()).unwrap_or_else(|| "?".into())
    }
}

/// Why a field's value is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteReason {
    /// The other side changed it (R-EDIT-1/2).
    Propagated,
    /// This side changed it too and lost the conflict (R-EDIT-3).
    ConflictLost,
    /// This side is read-only for the entity and its change is undone (R-DIR-2).
    Reverted,
}

/// One field an action replaces, with the value it had: every overwritten
/// value ends up in the record history (R-EDIT-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    pub reason: WriteReason,
}

/// A field both sides changed differently, held for a manual choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldConflict {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupware: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    pub target: Target,
    pub kind: ActionKind,
    pub subject: Subject,
    #[serde(default)]
    pub precondition: Precondition,
    /// Create/Update/Revert: the whole map to write (already truncated for
    /// the groupware, R-FIELD-6). Pair/SaveBase: the base to store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<FieldMap>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<FieldWrite>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<FieldConflict>,
    /// Create/Pair: which side the new pair counts as coming from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    pub rule: RuleId,
    /// One sentence for people: why this action. Most are fixed sentences,
    /// borrowed rather than copied into every action (R-PERF-5).
    pub reason: Cow<'static, str>,
}

impl Action {
    pub fn new(
        target: Target,
        kind: ActionKind,
        subject: Subject,
        rule: RuleId,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Action {
            target,
            kind,
            subject,
            precondition: Precondition::None,
            fields: None,
            writes: Vec::new(),
            conflicts: Vec::new(),
            origin: None,
            rule,
            reason: reason.into(),
        }
    }

    pub fn with_precondition(mut self, precondition: Precondition) -> Self {
        self.precondition = precondition;
        self
    }

    pub fn with_fields(mut self, fields: FieldMap) -> Self {
        self.fields = Some(fields);
        self
    }

    pub fn with_origin(mut self, origin: Origin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// Does it change the CRM or the groupware (not only the status store)?
    pub fn is_write(&self) -> bool {
        self.target != Target::Status
    }

    /// The keys it names: written keys, else conflicting keys.
    pub fn keys(&self) -> Vec<&str> {
        if !self.writes.is_empty() {
            self.writes.iter().map(|w| w.key.as_str()).collect()
        } else {
            self.conflicts.iter().map(|c| c.key.as_str()).collect()
        }
    }
}

impl fmt::Display for Action {
    /// `update groupware contacts/abc.vcf: email1 (R-EDIT-2)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.kind.as_str(),
            self.target,
            self.subject.describe(self.target)
        )?;
        let keys = self.keys();
        if !keys.is_empty() {
            write!(f, ": {}", keys.join(", "))?;
        }
        write!(f, " ({})", self.rule)
    }
}

/// Items that look like the same thing but match more than one other item:
/// none of them is paired or created until someone decides (R-PAIR-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateGroup {
    pub crm_ids: Vec<String>,
    pub hrefs: Vec<String>,
    /// What they matched on, e.g. `email`.
    pub matched_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub rule: RuleId,
    pub subject: Subject,
    pub message: String,
}

/// Which side a mass delete would hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Crm,
    Groupware,
}

/// R-SAFE-3: the plan deletes too much of a collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MassDeleteHold {
    pub side: Side,
    /// Records the run would take out of sync on `side`: the sum of the three
    /// counts below.
    pub deletes: usize,
    /// Deleted on `side`.
    #[serde(default)]
    pub deleted: usize,
    /// Kept on `side` but marked removed by the user (R-DEL-2).
    #[serde(default)]
    pub removed_by_user: usize,
    /// Kept on `side` but no longer synced.
    #[serde(default)]
    pub unlinked: usize,
    pub total: usize,
    pub max_share: f64,
    pub min_records: usize,
    /// A user confirmed it for this run: the plan may be applied.
    pub confirmed: bool,
}

impl MassDeleteHold {
    /// "6 deleted, 4 marked removed by the user": the non-zero counts.
    pub fn breakdown(&self) -> String {
        [
            (self.deleted, "deleted"),
            (self.removed_by_user, "marked removed by the user"),
            (self.unlinked, "unlinked"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub class: EntityClass,
    pub collection: String,
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<DuplicateGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<MassDeleteHold>,
}

impl Plan {
    /// A held mass delete that nobody confirmed: apply nothing (R-SAFE-3).
    pub fn is_refused(&self) -> bool {
        self.guard.as_ref().is_some_and(|g| !g.confirmed)
    }

    /// The actions that change the CRM or the groupware.
    pub fn writes(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.is_write())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "plan for {} {}: {} action(s)",
            self.class,
            self.collection,
            self.actions.len()
        )?;
        if let Some(g) = &self.guard {
            let state = if g.confirmed {
                "confirmed"
            } else {
                "REFUSED until confirmed"
            };
            writeln!(
                f,
                "  mass delete on {:?} side: {} of {} records ({}) ({}; {})",
                g.side,
                g.deletes,
                g.total,
                g.breakdown(),
                RuleId::Safe3,
                state
            )?;
        }
        for action in &self.actions {
            writeln!(f, "  {action}")?;
        }
        for d in &self.duplicates {
            writeln!(
                f,
                "  duplicates by {}: crm [{}] groupware [{}] ({})",
                d.matched_by,
                d.crm_ids.join(", "),
                d.hrefs.join(", "),
                RuleId::Pair2
            )?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {} ({})", w.message, w.rule)?;
        }
        Ok(())
    }
}
