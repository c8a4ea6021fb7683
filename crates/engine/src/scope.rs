//! Does a CRM record belong in the profile's groupware? One decision, used by
//! the planner for every record and by `explain` to say why (R-FILTER-2,
//! R-EXPLAIN-1): permission first (R-PERM-1), then deactivation (R-DEL-4), then
//! the filter with the record's origin (R-FILTER-1, R-DEL-5).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::delete_policy::OnLeavingScope;
use crate::facts::CrmFacts;
use crate::input::Origin;
use crate::policy::Profile;
use crate::rules::RuleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeOutcome {
    /// It syncs.
    Syncs,
    /// An unpaired record the profile does not take.
    NotTaken,
    /// A paired record that left the scope: its groupware item is removed.
    Remove,
    /// A paired record that left the scope: the groupware item stays, unlinked.
    KeepUnlinked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeDecision {
    pub outcome: ScopeOutcome,
    pub rule: RuleId,
    pub reason: Cow<'static, str>,
}

impl ScopeDecision {
    fn new(outcome: ScopeOutcome, rule: RuleId, reason: impl Into<Cow<'static, str>>) -> Self {
        ScopeDecision {
            outcome,
            rule,
            reason: reason.into(),
        }
    }

    pub fn syncs(&self) -> bool {
        self.outcome == ScopeOutcome::Syncs
    }
}

fn left_scope_policy(profile: &Profile, class: EntityClass) -> OnLeavingScope {
    match class {
        EntityClass::Contacts => profile.deletes.contacts.left_filter,
        EntityClass::Events => profile.deletes.events.left_filter,
        EntityClass::Tasks => profile.deletes.tasks.left_filter,
        EntityClass::Mail => profile.deletes.mail.left_filter,
    }
}

/// What leaving the scope means for a paired record of `origin` under `policy`.
fn leave(policy: OnLeavingScope, origin: Origin, rule: RuleId, why: &str) -> ScopeDecision {
    match (policy, origin) {
        (OnLeavingScope::ByOrigin, Origin::Groupware) => ScopeDecision::new(
            ScopeOutcome::Syncs,
            rule,
            format!("{why}, but it came from the user's groupware: it stays and keeps syncing"),
        ),
        (OnLeavingScope::ByOrigin, Origin::Crm) | (OnLeavingScope::RemoveFromGroupware, _) => {
            ScopeDecision::new(ScopeOutcome::Remove, rule, format!("{why}: removed from the groupware"))
        }
        (OnLeavingScope::KeepInGroupware, _) => ScopeDecision::new(
            ScopeOutcome::KeepUnlinked,
            rule,
            format!("{why}: stays in the groupware, unlinked"),
        ),
    }
}

/// Decide for a CRM record with `facts` (and `fields` when known); `origin`
/// is the pair's, `None` for a record no pair knows yet.
pub fn decide(
    profile: &Profile,
    class: EntityClass,
    facts: &CrmFacts,
    fields: Option<&FieldMap>,
    origin: Option<Origin>,
) -> ScopeDecision {
    if !facts.readable {
        let why = "the user may not read the record";
        return match origin {
            None => ScopeDecision::new(ScopeOutcome::NotTaken, RuleId::Perm1, why),
            // Even under ByOrigin nothing more may flow: the groupware copy is
            // the user's own only when it came from there.
            Some(Origin::Groupware) => ScopeDecision::new(
                ScopeOutcome::KeepUnlinked,
                RuleId::Perm1,
                format!("{why}: the user's own groupware item stays, unlinked"),
            ),
            Some(Origin::Crm) => ScopeDecision::new(
                ScopeOutcome::Remove,
                RuleId::Perm1,
                format!("{why}: removed from the groupware"),
            ),
        };
    }
    if class == EntityClass::Contacts && !facts.active {
        let policy = profile.deletes.contacts.deactivated;
        match (policy, origin) {
            (OnLeavingScope::KeepInGroupware, _) => {}
            (_, None) => {
                return ScopeDecision::new(
                    ScopeOutcome::NotTaken,
                    RuleId::Del4,
                    "inactive contact, not taken by policy",
                );
            }
            (_, Some(origin)) => return leave(policy, origin, RuleId::Del4, "the contact was deactivated"),
        }
    }
    let verdict = profile.entity(class).filter.evaluate(class, facts, fields);
    if !verdict.matches {
        return match origin {
            None => ScopeDecision::new(ScopeOutcome::NotTaken, RuleId::Filter1, verdict.reason),
            Some(origin) => leave(left_scope_policy(profile, class), origin, RuleId::Del5, &verdict.reason),
        };
    }
    if class == EntityClass::Contacts && !facts.active {
        return ScopeDecision::new(
            ScopeOutcome::Syncs,
            RuleId::Del4,
            "inactive contacts stay in the groupware",
        );
    }
    ScopeDecision::new(ScopeOutcome::Syncs, RuleId::Filter1, verdict.reason)
}

/// A paired record hidden from the profile without its facts (the runner
/// only knows it is no longer visible): same outcome as [`decide`].
pub fn decide_hidden(
    profile: &Profile,
    class: EntityClass,
    reason: crate::input::Hidden,
    origin: Origin,
) -> ScopeDecision {
    match reason {
        crate::input::Hidden::Unreadable => {
            let facts = CrmFacts {
                owner_is_user: false,
                readable: false,
                writable: false,
                active: true,
                sync_flagged: false,
                activity: None,
            };
            decide(profile, class, &facts, None, Some(origin))
        }
        crate::input::Hidden::FilteredOut => leave(
            left_scope_policy(profile, class),
            origin,
            RuleId::Del5,
            "the record no longer matches the profile's filter",
        ),
    }
}
