//! R-DEL-13: untracking an item forgets its pair; deleting the CRM record as
//! well is an explicit choice, and only the record's owner may make it.

use crate::error::EngineError;
use crate::facts::CrmFacts;
use crate::input::PairStatus;
use crate::plan::{Action, ActionKind, Precondition, Subject, Target};
use crate::rules::RuleId;

/// The actions for untracking `pair`. `crm_version` is the record's version
/// now, so the delete fails rather than removing a record someone just changed.
pub fn untrack(
    pair: &PairStatus,
    facts: &CrmFacts,
    crm_version: i64,
    delete_crm_record: bool,
) -> Result<Vec<Action>, EngineError> {
    let subject = Subject {
        pair_id: Some(pair.id.clone()),
        crm_id: Some(pair.crm_id.clone()),
        href: Some(pair.href.clone()),
    };
    let mut actions = Vec::new();
    if delete_crm_record {
        if !facts.owner_is_user {
            return Err(EngineError::NotOwner {
                crm_id: pair.crm_id.clone(),
            });
        }
        actions.push(
            Action::new(
                Target::Crm,
                ActionKind::Delete,
                subject.clone(),
                RuleId::Del13,
                "untracked by its owner, who chose to delete the CRM record",
            )
            .with_precondition(Precondition::CrmVersion(crm_version)),
        );
    }
    actions.push(Action::new(
        Target::Status,
        ActionKind::Forget,
        subject,
        RuleId::Del13,
        "untracked: the pair is forgotten, the groupware item stays",
    ));
    Ok(actions)
}
