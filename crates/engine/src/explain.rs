//! R-EXPLAIN-1: for one record or item, does it sync, and which filter, rule
//! and policy decided? It runs the same planner and the same scope decision
//! as a sync, then keeps what concerns the item, so the answer cannot drift
//! from what a sync would do.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::input::{CollectionInput, CrmSide, PairState};
use crate::plan::{Action, ActionKind, DuplicateGroup, Subject, Warning};
use crate::planner::plan;
use crate::policy::Profile;
use crate::rules::RuleId;
use crate::scope::{self, ScopeDecision};
use crate::window;

/// Which record or item to explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "side", content = "id")]
pub enum ItemRef {
    Crm(String),
    Groupware(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub item: ItemRef,
    pub syncs: bool,
    /// The rule that decided whether it syncs.
    pub decided_by: RuleId,
    pub reason: String,
    /// The scope decision (filter, permission, origin) when the CRM record is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeDecision>,
    /// What this sync would do to it, each with its rule.
    pub actions: Vec<Action>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<DuplicateGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (side, id) = match &self.item {
            ItemRef::Crm(id) => ("crm", id),
            ItemRef::Groupware(href) => ("groupware", href),
        };
        let verdict = if self.syncs { "syncs" } else { "does not sync" };
        writeln!(f, "{side} {id} {verdict}: {} ({})", self.reason, self.decided_by)?;
        for a in &self.actions {
            writeln!(f, "  would {a}: {}", a.reason)?;
        }
        for w in &self.warnings {
            writeln!(f, "  warning: {} ({})", w.message, w.rule)?;
        }
        Ok(())
    }
}

fn concerns(subject: &Subject, item: &ItemRef, pair_id: Option<&str>) -> bool {
    let direct = match item {
        ItemRef::Crm(id) => subject.crm_id.as_deref() == Some(id.as_str()),
        ItemRef::Groupware(href) => subject.href.as_deref() == Some(href.as_str()),
    };
    direct || (pair_id.is_some() && subject.pair_id.as_deref() == pair_id)
}

/// Explains `item` within the collection snapshot `input` at `now`.
pub fn explain(profile: &Profile, now: DateTime<Utc>, input: &CollectionInput, item: &ItemRef) -> Explanation {
    let plan = plan(profile, now, input);
    let pair = input.pairs.iter().find(|p| match item {
        ItemRef::Crm(id) => &p.pair.crm_id == id,
        ItemRef::Groupware(href) => &p.pair.href == href,
    });
    let pair_id = pair.map(|p| p.pair.id.as_str());
    let actions: Vec<Action> = plan
        .actions
        .into_iter()
        .filter(|a| concerns(&a.subject, item, pair_id))
        .collect();
    let duplicates: Vec<DuplicateGroup> = plan
        .duplicates
        .into_iter()
        .filter(|d| match item {
            ItemRef::Crm(id) => d.crm_ids.contains(id),
            ItemRef::Groupware(href) => d.hrefs.contains(href),
        })
        .collect();
    let warnings = plan
        .warnings
        .into_iter()
        .filter(|w| concerns(&w.subject, item, pair_id))
        .collect();

    // The scope decision, from the same function the planner uses.
    let crm_record = match (item, pair) {
        (_, Some(p)) => match &p.crm {
            CrmSide::Present(rec) => Some((rec.facts.clone(), Some(rec.fields.clone()), Some(p.pair.origin))),
            _ => p
                .pair
                .last_facts
                .clone()
                .map(|f| (f, Some(p.pair.base.clone()), Some(p.pair.origin))),
        },
        (ItemRef::Crm(id), None) => input
            .unpaired_crm
            .iter()
            .find(|r| &r.id == id)
            .map(|r| (r.facts.clone(), Some(r.fields.clone()), None)),
        _ => None,
    };
    let scope = crm_record.map(|(facts, fields, origin)| {
        let mut d = scope::decide(profile, input.class, &facts, fields.as_ref(), origin);
        let last = facts.activity.as_ref().and_then(|a| a.last_moment);
        if origin.is_none() && d.syncs() && window::before_window(profile, now, input.class, last) {
            d = ScopeDecision {
                outcome: scope::ScopeOutcome::NotTaken,
                rule: RuleId::Cal1,
                reason: "ended before the calendar window".into(),
            };
        }
        d
    });

    let stops = |a: &&Action| {
        matches!(
            a.kind,
            ActionKind::Skip
                | ActionKind::Unlink
                | ActionKind::Forget
                | ActionKind::MarkRemovedByUser
                | ActionKind::Delete
        )
    };
    let (syncs, decided_by, reason) = if let Some(d) = duplicates.first() {
        (
            false,
            RuleId::Pair2,
            format!("ambiguous match by {}: listed as a duplicate for review", d.matched_by),
        )
    } else if let Some(a) = actions.iter().find(stops) {
        (false, a.rule, a.reason.to_string())
    } else if let Some(p) = pair.filter(|p| p.pair.state != PairState::Live) {
        (
            false,
            RuleId::Del2,
            format!("the pair is {:?}: nothing syncs until a reset", p.pair.state),
        )
    } else if let Some(s) = scope.as_ref().filter(|s| !s.syncs()) {
        (false, s.rule, s.reason.to_string())
    } else if let Some(a) = actions.iter().find(|a| a.is_write() || a.kind == ActionKind::Pair) {
        (true, a.rule, a.reason.to_string())
    } else if let Some(s) = &scope {
        (true, s.rule, s.reason.to_string())
    } else {
        (
            false,
            RuleId::Explain1,
            "not part of this collection's snapshot".to_string(),
        )
    };
    Explanation {
        item: item.clone(),
        syncs,
        decided_by,
        reason,
        scope,
        actions,
        duplicates,
        warnings,
    }
}
