//! How the planner writes: merge outcomes become update, conflict and
//! warning entries; new items become a create followed by their pair.
//! Groupware writes are cut to the connector's limits here (R-FIELD-6).

use crmsync_model::FieldMap;
use crmsync_model::fields::keys;

use crate::input::Origin;
use crate::limits::{cut_outbound, truncate_outbound};
use crate::merge::MergeOutcome;
use crate::plan::{Action, ActionKind, Precondition, Subject, Target, WriteReason};
use crate::planner::{Planner, Sides};
use crate::rules::RuleId;

impl Planner<'_> {
    /// Turns a merge into write, conflict and warning entries; says whether
    /// anything is written. The written maps and entries are moved out of
    /// `outcome`, not copied (R-PERF-5): the caller keeps only its base and
    /// rules.
    pub(crate) fn emit_merge(&mut self, sides: &Sides<'_>, outcome: &mut MergeOutcome, groupware_read: bool) -> bool {
        let subject = &sides.subject;
        let (_, read_only_record) = self.direction_for(sides.facts);
        let wrote = !outcome.crm_writes.is_empty() || !outcome.groupware_writes.is_empty();
        if !outcome.crm_writes.is_empty() {
            let kind = if outcome.crm_writes.iter().all(|w| w.reason == WriteReason::Reverted) {
                ActionKind::Revert
            } else {
                ActionKind::Update
            };
            let rule = outcome.crm_rule.unwrap_or(RuleId::Edit1);
            let mut action = Action::new(Target::Crm, kind, subject.clone(), rule, describe(rule))
                .with_precondition(Precondition::CrmVersion(sides.crm_version))
                .with_fields(std::mem::take(&mut outcome.crm));
            action.writes = std::mem::take(&mut outcome.crm_writes);
            self.push(action);
        }
        if !outcome.groupware_writes.is_empty() {
            let kind = if outcome
                .groupware_writes
                .iter()
                .all(|w| w.reason == WriteReason::Reverted)
            {
                ActionKind::Revert
            } else {
                ActionKind::Update
            };
            let mut rule = outcome.groupware_rule.unwrap_or(RuleId::Edit1);
            if read_only_record && kind == ActionKind::Revert {
                rule = RuleId::Eng5;
            }
            let mut fields = std::mem::take(&mut outcome.groupware);
            let cut = cut_outbound(&mut fields, &self.policy.field_limits);
            for key in cut
                .iter()
                .filter(|k| outcome.groupware_writes.iter().any(|w| &w.key == *k))
            {
                self.warn(
                    RuleId::Field6,
                    subject,
                    format!(
                        "{key} is longer than the connector allows: truncated in the groupware, kept whole in the CRM"
                    ),
                );
            }
            let mut action =
                Action::new(Target::Groupware, kind, subject.clone(), rule, describe(rule)).with_fields(fields);
            action.precondition = sides.etag.clone().map_or(Precondition::None, Precondition::Etag);
            action.writes = std::mem::take(&mut outcome.groupware_writes);
            self.push(action);
        }
        if !outcome.conflicts.is_empty() {
            let mut action = Action::new(
                Target::Status,
                ActionKind::Conflict,
                subject.clone(),
                RuleId::Edit3,
                "both sides changed these fields differently: held for a manual choice, neither side overwritten",
            );
            action.conflicts = std::mem::take(&mut outcome.conflicts);
            self.push(action);
        }
        if !outcome.ignored.is_empty() {
            self.warn(
                RuleId::Dir2,
                subject,
                format!(
                    "changes on the read-only side left alone: {}",
                    outcome.ignored.join(", ")
                ),
            );
        }
        if groupware_read && sides.groupware.get(keys::JOURNAL) != sides.base.get(keys::JOURNAL) {
            self.warn(RuleId::Field5, subject, "the journal part of the notes was edited in the groupware: journal entries are outbound only, the edit does not flow back");
        }
        wrote
    }

    /// A new groupware item from CRM fields, then its pair (base: full values).
    pub(crate) fn create_in_groupware(
        &mut self,
        subject: Subject,
        crm_fields: &FieldMap,
        rule: RuleId,
        origin: Origin,
    ) {
        let (fields, cut) = truncate_outbound(crm_fields, &self.policy.field_limits);
        for key in &cut {
            self.warn(
                RuleId::Field6,
                &subject,
                format!("{key} is longer than the connector allows: truncated in the groupware, kept whole in the CRM"),
            );
        }
        self.push(
            Action::new(
                Target::Groupware,
                ActionKind::Create,
                subject.clone(),
                rule,
                describe(rule),
            )
            .with_precondition(Precondition::MustNotExist)
            .with_fields(fields)
            .with_origin(origin),
        );
        self.push(
            Action::new(
                Target::Status,
                ActionKind::Pair,
                subject,
                rule,
                "pair the new item with its record",
            )
            .with_fields(crm_fields.clone())
            .with_origin(origin),
        );
    }

    /// A new CRM record from groupware fields (never the outbound-only
    /// journal, R-FIELD-5), then its pair.
    pub(crate) fn create_in_crm(&mut self, subject: Subject, gw_fields: &FieldMap, rule: RuleId, origin: Origin) {
        let mut fields = gw_fields.clone();
        fields.remove(keys::JOURNAL);
        self.push(
            Action::new(Target::Crm, ActionKind::Create, subject.clone(), rule, describe(rule))
                .with_precondition(Precondition::MustNotExist)
                .with_fields(fields.clone())
                .with_origin(origin),
        );
        self.push(
            Action::new(
                Target::Status,
                ActionKind::Pair,
                subject,
                rule,
                "pair the new record with its item",
            )
            .with_fields(fields)
            .with_origin(origin),
        );
    }
}

/// The sentence an action of `rule` carries.
fn describe(rule: RuleId) -> &'static str {
    rule.description()
}
