//! The planner: one collection's snapshots in, one plan out. This file walks
//! the known pairs (`pair_deletes.rs` for their deletion arms, `writes.rs` for
//! the writes); `first_sync.rs` handles records and items no pair knows.
//! Every decision is delegated to the rule modules (scope, deletion, merge,
//! pairing, guard), so `explain` can reuse the very same code.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::facts::CrmFacts;
use crate::guard;
use crate::input::{CollectionInput, CrmSide, GroupwareSide, PairState, PairedItem};
use crate::merge::{MergeInput, MergeOutcome, merge};
use crate::plan::{Action, ActionKind, DuplicateGroup, Plan, Subject, Target, Warning};
use crate::policy::{Direction, EntityPolicy, Profile};
use crate::rules::RuleId;
use crate::scope::{self, ScopeOutcome};

/// Plans one collection for one profile at `now`.
pub fn plan(profile: &Profile, now: DateTime<Utc>, input: &CollectionInput) -> Plan {
    let mut planner = Planner::new(profile, now, input.class);
    for item in &input.pairs {
        planner.plan_pair(item);
    }
    planner.plan_unpaired(input);
    let crm_total = input
        .crm_total
        .unwrap_or(0)
        .max(input.pairs.len() + input.unpaired_crm.len());
    let groupware_total = input
        .groupware_total
        .unwrap_or(0)
        .max(input.pairs.len() + input.unpaired_groupware.len());
    let guard = guard::check(profile, &planner.actions, crm_total, groupware_total);
    Plan {
        class: input.class,
        collection: input.name.clone(),
        actions: planner.actions,
        duplicates: planner.duplicates,
        warnings: planner.warnings,
        guard,
    }
}

pub(crate) struct Planner<'a> {
    pub profile: &'a Profile,
    pub now: DateTime<Utc>,
    pub class: EntityClass,
    pub policy: &'a EntityPolicy,
    pub actions: Vec<Action>,
    pub duplicates: Vec<DuplicateGroup>,
    pub warnings: Vec<Warning>,
}

/// Both sides of a pair as they are now, with what the writes need.
pub(crate) struct Sides<'s> {
    pub subject: Subject,
    pub base: &'s FieldMap,
    pub crm: &'s FieldMap,
    pub groupware: &'s FieldMap,
    pub crm_modified: Option<DateTime<Utc>>,
    pub groupware_modified: Option<DateTime<Utc>>,
    pub crm_version: i64,
    pub etag: Option<String>,
    pub facts: Option<&'s CrmFacts>,
}

impl<'a> Planner<'a> {
    pub fn new(profile: &'a Profile, now: DateTime<Utc>, class: EntityClass) -> Self {
        Planner {
            profile,
            now,
            class,
            policy: profile.entity(class),
            actions: Vec::new(),
            duplicates: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub(crate) fn status(
        &mut self,
        kind: ActionKind,
        subject: &Subject,
        rule: RuleId,
        reason: impl Into<Cow<'static, str>>,
    ) {
        self.push(Action::new(Target::Status, kind, subject.clone(), rule, reason));
    }

    pub fn warn(&mut self, rule: RuleId, subject: &Subject, message: impl Into<String>) {
        self.warnings.push(Warning {
            rule,
            subject: subject.clone(),
            message: message.into(),
        });
    }

    fn plan_pair(&mut self, item: &PairedItem) {
        let pair = &item.pair;
        // Unchanged on both sides: the merge of the base with itself writes
        // nothing and moves no version, whatever the pair's state, so the
        // pair costs no map, clone or string (R-PERF-2, R-PERF-5).
        if item.crm == CrmSide::Unchanged && item.groupware == GroupwareSide::Unchanged {
            return;
        }
        let subject = Subject {
            pair_id: Some(pair.id.clone()),
            crm_id: Some(pair.crm_id.clone()),
            href: Some(pair.href.clone()),
        };
        match pair.state {
            PairState::Live => {}
            PairState::Quarantined => {
                return self.status(
                    ActionKind::Skip,
                    &subject,
                    RuleId::Safe4,
                    "quarantined item: fix or reset it to sync again",
                );
            }
            PairState::RemovedByUser if matches!(item.crm, CrmSide::Deleted { .. }) => {
                return self.status(
                    ActionKind::Forget,
                    &subject,
                    RuleId::Del2,
                    "removed by the user and now deleted in the CRM too",
                );
            }
            PairState::RemovedByUser => {
                return self.status(
                    ActionKind::Skip,
                    &subject,
                    RuleId::Del2,
                    "removed by the user: not re-created until a reset",
                );
            }
            PairState::Unlinked => {
                return self.status(
                    ActionKind::Skip,
                    &subject,
                    RuleId::Reset1,
                    "unlinked: nothing syncs until a reset",
                );
            }
        }

        let gw_item = match &item.groupware {
            GroupwareSide::Present(g) => Some(g),
            _ => None,
        };
        let gw_fields = gw_item.map_or(&pair.base, |g| &g.fields);
        let etag = Some(gw_item.map_or(pair.etag.clone(), |g| g.etag.clone()));

        // The CRM side first: a deletion or a record leaving the scope decides
        // before any merge.
        let (crm_fields, crm_version, crm_modified, facts) = match &item.crm {
            CrmSide::Deleted { facts } => {
                return self.crm_deleted(item, facts, subject, gw_fields, etag);
            }
            CrmSide::NotVisible { reason } => {
                let decision = scope::decide_hidden(self.profile, self.class, *reason, pair.origin);
                if decision.outcome != ScopeOutcome::Syncs {
                    return self.left_scope(
                        item,
                        decision.outcome,
                        decision.rule,
                        &decision.reason,
                        subject,
                        gw_fields,
                        etag,
                    );
                }
                (&pair.base, pair.crm_version, None, pair.last_facts.as_ref())
            }
            CrmSide::Present(rec) => {
                let decision = scope::decide(
                    self.profile,
                    self.class,
                    &rec.facts,
                    Some(&rec.fields),
                    Some(pair.origin),
                );
                if decision.outcome != ScopeOutcome::Syncs {
                    return self.left_scope(
                        item,
                        decision.outcome,
                        decision.rule,
                        &decision.reason,
                        subject,
                        gw_fields,
                        etag,
                    );
                }
                (&rec.fields, rec.version, Some(rec.modified_at), Some(&rec.facts))
            }
            CrmSide::Unchanged => (&pair.base, pair.crm_version, None, pair.last_facts.as_ref()),
        };

        if item.groupware == GroupwareSide::Deleted {
            return self.groupware_deleted(item, facts, subject, crm_fields, crm_version);
        }

        let sides = Sides {
            subject,
            base: &pair.base,
            crm: crm_fields,
            groupware: gw_fields,
            crm_modified,
            groupware_modified: gw_item.and_then(|g| g.last_modified),
            crm_version,
            etag,
            facts,
        };
        let mut outcome = self.merge(&sides);
        let versions_moved = crm_version != pair.crm_version || sides.etag.as_deref() != Some(pair.etag.as_str());
        let wrote = self.emit_merge(&sides, &mut outcome, gw_item.is_some());
        if wrote || versions_moved || outcome.base != pair.base {
            let rule = outcome.crm_rule.or(outcome.groupware_rule).unwrap_or(RuleId::Edit1);
            self.push(
                Action::new(
                    Target::Status,
                    ActionKind::SaveBase,
                    sides.subject.clone(),
                    rule,
                    "record the state both sides now agree on",
                )
                .with_fields(outcome.base),
            );
        }
    }

    /// The direction for a record: a record the user may read but not change
    /// only flows from the CRM (R-ENG-5).
    pub(crate) fn direction_for(&self, facts: Option<&CrmFacts>) -> (Direction, bool) {
        let dir = self.policy.direction;
        let read_only_record = facts.is_some_and(|f| !f.writable) && dir.groupware_to_crm();
        if read_only_record {
            (Direction::CrmToGroupware, true)
        } else {
            (dir, false)
        }
    }

    pub(crate) fn merge(&self, sides: &Sides<'_>) -> MergeOutcome {
        let (direction, read_only_record) = self.direction_for(sides.facts);
        merge(&MergeInput {
            base: sides.base,
            crm: sides.crm,
            groupware: sides.groupware,
            crm_modified: sides.crm_modified,
            groupware_modified: sides.groupware_modified,
            direction,
            read_only_record,
            read_only: self.policy.read_only,
            conflict: self.policy.conflict,
            limits: &self.policy.field_limits,
        })
    }
}
