//! The planner's deletion arms for a live pair: one side deleted, or the
//! CRM record left the profile's scope. The decisions come from `deletion`
//! and `scope`; this file turns them into actions, and keeps an edit from
//! being lost to a delete (R-ENG-1).

use crmsync_model::FieldMap;

use crate::deletion::{self, DeleteOutcome};
use crate::facts::CrmFacts;
use crate::input::{GroupwareSide, PairedItem};
use crate::plan::{Action, ActionKind, Precondition, Subject, Target};
use crate::planner::Planner;
use crate::policy::ReadOnlyPolicy;
use crate::rules::RuleId;
use crate::scope::ScopeOutcome;
use crate::window;

impl Planner<'_> {
    /// The CRM record of a live pair is gone (R-DEL-3, -7, -9, -11, -12).
    pub(crate) fn crm_deleted(
        &mut self,
        item: &PairedItem,
        facts: &CrmFacts,
        subject: Subject,
        gw_fields: &FieldMap,
        etag: Option<String>,
    ) {
        let pair = &item.pair;
        let decision = deletion::on_crm_delete(self.profile, self.class, facts, pair.origin, self.now);
        if item.groupware == GroupwareSide::Deleted {
            return self.status(ActionKind::Forget, &subject, decision.rule, "deleted on both sides");
        }
        if !self.policy.direction.crm_to_groupware() {
            // The CRM is the read-only side here (R-DIR-2).
            return match self.policy.read_only {
                ReadOnlyPolicy::Revert => {
                    self.status(
                        ActionKind::Forget,
                        &subject,
                        RuleId::Dir2,
                        "the CRM is read-only for this entity: its deletion is reverted",
                    );
                    self.create_in_crm(
                        Subject {
                            crm_id: None,
                            ..subject
                        },
                        gw_fields,
                        RuleId::Dir2,
                        pair.origin,
                    );
                }
                ReadOnlyPolicy::Ignore => self.status(
                    ActionKind::Unlink,
                    &subject,
                    RuleId::Dir2,
                    "the CRM is read-only for this entity: its deletion is ignored",
                ),
            };
        }
        match decision.outcome {
            DeleteOutcome::DeleteGroupware => {
                self.delete_groupware(item, subject, gw_fields, etag, decision.rule, &decision.reason)
            }
            _ => self.status(ActionKind::Unlink, &subject, decision.rule, decision.reason),
        }
    }

    /// A live pair's CRM record left the profile's scope (R-PERM-1, R-DEL-4, R-DEL-5).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn left_scope(
        &mut self,
        item: &PairedItem,
        outcome: ScopeOutcome,
        rule: RuleId,
        reason: &str,
        subject: Subject,
        gw_fields: &FieldMap,
        etag: Option<String>,
    ) {
        match (outcome, &item.groupware) {
            (_, GroupwareSide::Deleted) => self.status(
                ActionKind::Forget,
                &subject,
                rule,
                format!("{reason}; already gone from the groupware"),
            ),
            (ScopeOutcome::Remove, _) => self.delete_groupware(item, subject, gw_fields, etag, rule, reason),
            _ => self.status(ActionKind::Unlink, &subject, rule, reason.to_string()),
        }
    }

    /// Removes the groupware item unless the user edited it since the last
    /// sync: an edit beats a delete (R-ENG-1), so it then stays, unlinked.
    fn delete_groupware(
        &mut self,
        item: &PairedItem,
        subject: Subject,
        gw_fields: &FieldMap,
        etag: Option<String>,
        rule: RuleId,
        reason: &str,
    ) {
        let pair = &item.pair;
        let limits = &self.policy.field_limits;
        let read = crate::limits::normalise_groupware(gw_fields, &pair.base, &pair.base, limits);
        if matches!(item.groupware, GroupwareSide::Present(_)) && read != pair.base {
            self.warn(
                RuleId::Eng1,
                &subject,
                format!("{reason}, but the groupware item was edited since the last sync: it stays, unlinked"),
            );
            return self.status(
                ActionKind::Unlink,
                &subject,
                RuleId::Eng1,
                "edited in the groupware since the last sync: an edit beats a delete",
            );
        }
        self.push(
            Action::new(
                Target::Groupware,
                ActionKind::Delete,
                subject.clone(),
                rule,
                reason.to_string(),
            )
            .with_precondition(etag.map_or(Precondition::None, Precondition::Etag)),
        );
        self.status(ActionKind::Forget, &subject, rule, "the pair ends with the deletion");
    }

    /// A live pair's groupware item is gone (R-DEL-1, -6, -8, -10, -12, R-CAL-1).
    pub(crate) fn groupware_deleted(
        &mut self,
        item: &PairedItem,
        facts: Option<&CrmFacts>,
        subject: Subject,
        crm_fields: &FieldMap,
        crm_version: i64,
    ) {
        let pair = &item.pair;
        let last_moment = match facts.and_then(|f| f.activity.as_ref()) {
            Some(a) => a.last_moment,
            None => window::last_moment_of(crm_fields),
        };
        if window::before_window(self.profile, self.now, self.class, last_moment) {
            return self.status(
                ActionKind::Skip,
                &subject,
                RuleId::Cal1,
                "ended before the calendar window: gone from the pull, not deleted",
            );
        }
        if !self.policy.direction.groupware_to_crm() {
            return match self.policy.read_only {
                ReadOnlyPolicy::Revert => {
                    self.status(
                        ActionKind::Forget,
                        &subject,
                        RuleId::Dir2,
                        "the groupware is read-only for this entity: its deletion is reverted",
                    );
                    self.create_in_groupware(Subject { href: None, ..subject }, crm_fields, RuleId::Dir2, pair.origin);
                }
                ReadOnlyPolicy::Ignore => self.status(
                    ActionKind::MarkRemovedByUser,
                    &subject,
                    RuleId::Dir2,
                    "the groupware is read-only for this entity: its deletion is left alone",
                ),
            };
        }
        let decision = deletion::on_groupware_delete(self.profile, self.class, facts, self.now);
        match decision.outcome {
            DeleteOutcome::DeleteCrm if crm_fields != &pair.base => {
                self.warn(
                    RuleId::Eng1,
                    &subject,
                    format!(
                        "{}, but the CRM record changed since the last sync: it is re-created in the groupware",
                        decision.reason
                    ),
                );
                self.status(
                    ActionKind::Forget,
                    &subject,
                    RuleId::Eng1,
                    "edited in the CRM since the last sync: an edit beats a delete",
                );
                self.create_in_groupware(Subject { href: None, ..subject }, crm_fields, RuleId::Eng1, pair.origin);
            }
            DeleteOutcome::DeleteCrm => {
                self.push(
                    Action::new(
                        Target::Crm,
                        ActionKind::Delete,
                        subject.clone(),
                        decision.rule,
                        decision.reason,
                    )
                    .with_precondition(Precondition::CrmVersion(crm_version)),
                );
                self.status(
                    ActionKind::Forget,
                    &subject,
                    decision.rule,
                    "the pair ends with the deletion",
                );
            }
            _ => self.status(ActionKind::MarkRemovedByUser, &subject, decision.rule, decision.reason),
        }
    }
}
