//! Records and items that no pair knows: a first sync, a reset (R-RESET-1) or
//! a new item. Pairing (R-PAIR-1/2) runs before anything is created, so a
//! matched record is never created twice and an ambiguous one not at all.

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::input::{CollectionInput, CrmRecord, GroupwareItem, Origin};
use crate::merge::agreed_base;
use crate::pairing;
use crate::plan::{Action, ActionKind, DuplicateGroup, Subject, Target};
use crate::planner::{Planner, Sides};
use crate::rules::RuleId;
use crate::scope;
use crate::window;

impl Planner<'_> {
    /// Is this unpaired CRM record one the profile takes now?
    pub(crate) fn takes_crm(&self, rec: &CrmRecord) -> bool {
        let decision = scope::decide(self.profile, self.class, &rec.facts, Some(&rec.fields), None);
        let last = rec
            .facts
            .activity
            .as_ref()
            .map_or_else(|| window::last_moment_of(&rec.fields), |a| a.last_moment);
        decision.syncs() && !window::before_window(self.profile, self.now, self.class, last)
    }

    /// Is this unpaired groupware item inside the pull (R-CAL-1)?
    pub(crate) fn takes_groupware(&self, item: &GroupwareItem) -> bool {
        !window::before_window(self.profile, self.now, self.class, window::last_moment_of(&item.fields))
    }

    pub(crate) fn plan_unpaired(&mut self, input: &CollectionInput) {
        let crm: Vec<&CrmRecord> = input.unpaired_crm.iter().filter(|r| self.takes_crm(r)).collect();
        let groupware: Vec<&GroupwareItem> = input
            .unpaired_groupware
            .iter()
            .filter(|g| self.takes_groupware(g))
            .collect();
        // Kept apart (R-PAIR-2): an empty map has no matching key, so the
        // record or item matches nothing and is synced on its own.
        let none = FieldMap::default();
        let crm_maps: Vec<&FieldMap> = crm
            .iter()
            .map(|r| {
                if input.kept_apart_crm.contains(&r.id) {
                    &none
                } else {
                    &r.fields
                }
            })
            .collect();
        let gw_maps: Vec<&FieldMap> = groupware
            .iter()
            .map(|g| {
                if input.kept_apart_hrefs.contains(&g.href) {
                    &none
                } else {
                    &g.fields
                }
            })
            .collect();
        let pairing = pairing::pair(self.class, &crm_maps, &gw_maps);

        for group in &pairing.ambiguous {
            self.duplicates.push(DuplicateGroup {
                crm_ids: group.crm.iter().map(|&i| crm[i].id.clone()).collect(),
                hrefs: group.groupware.iter().map(|&j| groupware[j].href.clone()).collect(),
                matched_by: group.matched_by.to_string(),
            });
        }
        for m in &pairing.matches {
            self.plan_match(crm[m.crm], groupware[m.groupware], m.matched_by);
        }
        let direction = self.policy.direction;
        let taken = pairing.taken(crm.len(), groupware.len());
        for (_, rec) in crm.iter().enumerate().filter(|(i, _)| !taken.crm[*i]) {
            let subject = Subject {
                crm_id: Some(rec.id.clone()),
                ..Subject::default()
            };
            if direction.crm_to_groupware() {
                self.create_in_groupware(subject, &rec.fields, RuleId::Edit1, Origin::Crm);
            } else {
                self.push_skip(
                    &subject,
                    RuleId::Eng3,
                    "new CRM record on the read-only side: left alone",
                );
            }
        }
        for (_, item) in groupware.iter().enumerate().filter(|(j, _)| !taken.groupware[*j]) {
            let subject = Subject {
                href: Some(item.href.clone()),
                ..Subject::default()
            };
            if !direction.groupware_to_crm() {
                self.push_skip(
                    &subject,
                    RuleId::Eng3,
                    "new groupware item on the read-only side: left alone",
                );
            } else if !self.policy.rights.create {
                self.push_skip(
                    &subject,
                    RuleId::Perm1,
                    "the user may not create records of this kind in the CRM",
                );
            } else {
                let rule = if self.class == EntityClass::Events {
                    RuleId::Cal2
                } else {
                    RuleId::Edit1
                };
                self.create_in_crm(subject, &item.fields, rule, Origin::Groupware);
            }
        }
    }

    fn push_skip(&mut self, subject: &Subject, rule: RuleId, reason: &'static str) {
        self.actions.push(Action::new(
            Target::Status,
            ActionKind::Skip,
            subject.clone(),
            rule,
            reason,
        ));
    }

    /// Two items matched one-to-one: pair them, and merge what differs with
    /// the values they agree on as base (R-ENG-7). When they agree on
    /// everything nothing is written, so attendees get no new invitation (R-CAL-5).
    fn plan_match(&mut self, rec: &CrmRecord, item: &GroupwareItem, matched_by: &str) {
        let base = agreed_base(&rec.fields, &item.fields, &self.policy.field_limits);
        let sides = Sides {
            subject: Subject {
                pair_id: None,
                crm_id: Some(rec.id.clone()),
                href: Some(item.href.clone()),
            },
            base: &base,
            crm: &rec.fields,
            groupware: &item.fields,
            crm_modified: Some(rec.modified_at),
            groupware_modified: item.last_modified,
            crm_version: rec.version,
            etag: Some(item.etag.clone()),
            facts: Some(&rec.facts),
        };
        let mut outcome = self.merge(&sides);
        let wrote = self.emit_merge(&sides, &mut outcome, true);
        // Matched items pre-existed in the user's mailbox: groupware origin (R-ENG-2).
        let reason = if wrote {
            format!(
                "matched by {matched_by}; the differences are merged; counts as groupware-origin ({})",
                RuleId::Eng2
            )
        } else {
            format!(
                "matched by {matched_by}; both sides agree, nothing is written ({})",
                RuleId::Cal5
            )
        };
        self.actions.push(
            Action::new(
                Target::Status,
                ActionKind::Pair,
                sides.subject.clone(),
                RuleId::Pair1,
                reason,
            )
            .with_fields(outcome.base)
            .with_origin(Origin::Groupware),
        );
    }
}
