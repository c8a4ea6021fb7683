//! Profile checks run when a profile is saved, so a bad configuration is
//! refused with a clear message instead of producing surprising plans.

use crate::class::EntityClass;
use crate::error::EngineError;
use crate::policy::{Direction, Profile};

/// R-PERM-1: a direction that writes to the CRM needs the user's create and
/// update rights; plus sanity checks of the guard and the field limits.
pub fn validate_profile(profile: &Profile) -> Result<(), EngineError> {
    for class in EntityClass::ALL {
        let policy = profile.entity(class);
        if policy.direction.groupware_to_crm() {
            let direction = match policy.direction {
                Direction::TwoWay => "two-way",
                _ => "groupware-to-crm",
            };
            let missing = match (policy.rights.create, policy.rights.update) {
                (true, true) => None,
                (false, true) => Some("create"),
                (true, false) => Some("update"),
                (false, false) => Some("create and update"),
            };
            if let Some(missing) = missing {
                return Err(EngineError::DirectionNeedsRights {
                    class,
                    direction,
                    missing,
                });
            }
        }
        if let Some((key, _)) = policy.field_limits.iter().find(|(_, limit)| **limit == 0) {
            return Err(EngineError::InvalidProfile {
                setting: format!("{class}.field_limits.{key}"),
                message: "a limit must be at least 1 character".into(),
            });
        }
    }
    let share = profile.mass_delete.max_share;
    if !(0.0..=1.0).contains(&share) || share.is_nan() {
        return Err(EngineError::InvalidProfile {
            setting: "mass_delete.max_share".into(),
            message: format!("{share} is not a share between 0 and 1"),
        });
    }
    Ok(())
}
