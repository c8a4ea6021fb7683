//! SPEC §6: what a deletion on one side of a pair does to the other, by
//! entity class, planned/completed, organizer/attendee, owner and origin.
//! The policy picks the outcome; the rule ID names the situation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::class::EntityClass;
use crate::delete_policy::{OnCrmDelete, OnGroupwareDelete};
use crate::facts::CrmFacts;
use crate::input::Origin;
use crate::policy::Profile;
use crate::rules::RuleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteOutcome {
    /// Delete the CRM record too; the pair is then forgotten.
    DeleteCrm,
    /// Delete the groupware item too; the pair is then forgotten.
    DeleteGroupware,
    /// Keep the CRM record; the pair is marked removed by user (R-DEL-1/2).
    MarkRemovedByUser,
    /// Keep the groupware item; the pair is unlinked.
    Unlink,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteDecision {
    pub outcome: DeleteOutcome,
    pub rule: RuleId,
    pub reason: String,
}

fn decision(outcome: DeleteOutcome, rule: RuleId, reason: impl Into<String>) -> DeleteDecision {
    DeleteDecision {
        outcome,
        rule,
        reason: reason.into(),
    }
}

/// Planned (appointments) or open (tasks). Unknown facts count as completed,
/// which keeps data on both sides (R-ENG-4).
fn is_planned(facts: &CrmFacts, now: DateTime<Utc>) -> bool {
    facts.activity.as_ref().is_some_and(|a| a.is_planned(now))
}

fn is_organizer(facts: &CrmFacts) -> bool {
    facts.activity.as_ref().is_some_and(|a| a.user_is_organizer)
}

/// The groupware item of a pair was deleted; `facts` are the CRM record's
/// (current or last known; `None` when nothing is known, which keeps the CRM).
pub fn on_groupware_delete(
    profile: &Profile,
    class: EntityClass,
    facts: Option<&CrmFacts>,
    now: DateTime<Utc>,
) -> DeleteDecision {
    let unknown = || {
        decision(
            DeleteOutcome::MarkRemovedByUser,
            RuleId::Eng4,
            "nothing is known about the CRM record, so it is kept",
        )
    };
    let d = &profile.deletes;
    let (policy, rule, situation) = match class {
        EntityClass::Contacts => (
            d.contacts.groupware_deleted,
            RuleId::Del1,
            "contact deleted in the groupware",
        ),
        // Planned or completed decides the rule: without facts it cannot be told.
        EntityClass::Events => match facts {
            None => return unknown(),
            Some(f) if is_planned(f, now) => (
                d.events.planned_groupware_deleted,
                RuleId::Del6,
                "planned appointment deleted in the groupware",
            ),
            Some(_) => (
                d.events.completed_groupware_deleted,
                RuleId::Del8,
                "completed appointment deleted in the groupware",
            ),
        },
        EntityClass::Tasks => (
            d.tasks.groupware_deleted,
            RuleId::Del10,
            "task deleted in the groupware",
        ),
        EntityClass::Mail => (
            d.mail.groupware_deleted,
            RuleId::Del12,
            "e-mail deleted in the groupware",
        ),
    };
    let delete = match policy {
        OnGroupwareDelete::KeepInCrm => false,
        OnGroupwareDelete::DeleteInCrm => true,
        OnGroupwareDelete::DeleteInCrmIfOrganizer => facts.is_some_and(is_organizer),
    };
    if !delete {
        let who = if policy == OnGroupwareDelete::DeleteInCrmIfOrganizer {
            " by an attendee"
        } else {
            ""
        };
        return decision(
            DeleteOutcome::MarkRemovedByUser,
            rule,
            format!("{situation}{who}: the CRM record stays, removed for this user only"),
        );
    }
    let Some(facts) = facts else { return unknown() };
    if !facts.writable {
        return decision(
            DeleteOutcome::MarkRemovedByUser,
            RuleId::Eng5,
            format!("{situation}, but the user may not change the CRM record: it stays"),
        );
    }
    let who = if policy == OnGroupwareDelete::DeleteInCrmIfOrganizer {
        " by the organizer"
    } else {
        ""
    };
    decision(
        DeleteOutcome::DeleteCrm,
        rule,
        format!("{situation}{who}: deleted in the CRM"),
    )
}

/// The CRM record of a pair was deleted; `facts` come from its tombstone.
pub fn on_crm_delete(
    profile: &Profile,
    class: EntityClass,
    facts: &CrmFacts,
    origin: Origin,
    now: DateTime<Utc>,
) -> DeleteDecision {
    let d = &profile.deletes;
    let (policy, rule, situation) = match class {
        EntityClass::Contacts => (d.contacts.crm_deleted, RuleId::Del3, "contact deleted in the CRM"),
        EntityClass::Events if is_planned(facts, now) => (
            d.events.planned_crm_deleted,
            RuleId::Del7,
            "planned appointment deleted in the CRM",
        ),
        EntityClass::Events => (
            d.events.completed_crm_deleted,
            RuleId::Del9,
            "completed appointment deleted in the CRM",
        ),
        EntityClass::Tasks if is_planned(facts, now) => {
            (d.tasks.open_crm_deleted, RuleId::Del11, "open task deleted in the CRM")
        }
        EntityClass::Tasks => (
            d.tasks.completed_crm_deleted,
            RuleId::Del11,
            "completed task deleted in the CRM",
        ),
        EntityClass::Mail => (d.mail.crm_deleted, RuleId::Del12, "e-mail deleted in the CRM"),
    };
    match policy {
        OnCrmDelete::RemoveFromGroupware => decision(
            DeleteOutcome::DeleteGroupware,
            rule,
            format!("{situation}: removed from the groupware"),
        ),
        OnCrmDelete::KeepInGroupware => decision(
            DeleteOutcome::Unlink,
            rule,
            format!("{situation}: stays in the groupware, unlinked"),
        ),
        OnCrmDelete::RemoveUnlessOwnedOrGroupwareOrigin if facts.owner_is_user => decision(
            DeleteOutcome::Unlink,
            rule,
            format!("{situation}, owned by the user: stays in the groupware, unlinked"),
        ),
        OnCrmDelete::RemoveUnlessOwnedOrGroupwareOrigin if origin == Origin::Groupware => decision(
            DeleteOutcome::Unlink,
            rule,
            format!("{situation}, it came from the user's groupware: stays there, unlinked"),
        ),
        OnCrmDelete::RemoveUnlessOwnedOrGroupwareOrigin => decision(
            DeleteOutcome::DeleteGroupware,
            rule,
            format!("{situation}: removed from the groupware"),
        ),
    }
}
