//! The engine's errors. Planning itself cannot fail (every input has a plan,
//! possibly a refused one); these come from validating a profile and from
//! requests that break a rule.

use crate::class::EntityClass;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    /// R-PERM-1: a user without create/update rights cannot sync changes into the CRM.
    #[error(
        "{class}: direction {direction} writes to the CRM, but the user lacks the {missing} right; \
         ask an administrator for the right or set the direction to crm-to-groupware"
    )]
    DirectionNeedsRights {
        class: EntityClass,
        direction: &'static str,
        missing: &'static str,
    },
    /// R-DEL-13: only the owner may delete the CRM record while untracking.
    #[error(
        "only the owner of CRM record {crm_id} may delete it while untracking; \
         untrack without deleting, or ask the owner to delete it"
    )]
    NotOwner { crm_id: String },
    #[error("profile setting {setting} is invalid: {message}; fix the profile configuration")]
    InvalidProfile { setting: String, message: String },
}

impl EngineError {
    /// Retrying the same request cannot help: every engine error needs a
    /// change of configuration, rights or request first.
    pub fn is_transient(&self) -> bool {
        false
    }
}
