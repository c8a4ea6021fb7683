//! What the engine needs to know about a CRM record besides its fields: who
//! owns it, whether the profile's user may see and change it, and for
//! activities whether it is planned and who organizes it. The runner fills
//! these from the CRM (helpers below); the engine never reads the CRM itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crmsync_model::{Access, Activity, ActivityKind, ActivityState, Actor, Contact};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityFacts {
    pub kind: ActivityKind,
    pub state: ActivityState,
    /// The last moment the activity covers; `None` for a series without end
    /// or an activity without dates, which count as planned (R-ENG-4). The
    /// runner fills a series' end from its expansion; the model cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_moment: Option<DateTime<Utc>>,
    /// The profile's user organizes it (or owns it when nobody is organizer).
    pub user_is_organizer: bool,
    /// The profile's user is a participant with the invite flag.
    pub user_is_invited: bool,
}

impl ActivityFacts {
    /// R-DEL-6..9 (*planned* = ends in the future) and R-DEL-11 (open tasks);
    /// cancelled counts as completed (R-ENG-4).
    pub fn is_planned(&self, now: DateTime<Utc>) -> bool {
        match self.state {
            ActivityState::Completed | ActivityState::Cancelled => false,
            ActivityState::Open => match self.kind {
                ActivityKind::Appointment => self.last_moment.is_none_or(|end| end >= now),
                // A task is open until completed, whatever its due date says.
                _ => true,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmFacts {
    pub owner_is_user: bool,
    /// R-PERM-1: the profile's user may read it.
    pub readable: bool,
    /// The profile's user may change it (R-ENG-5).
    pub writable: bool,
    /// Contacts: active (R-DEL-4). Activities: always true.
    pub active: bool,
    /// Contacts: the user flagged it *synchronize* (R-FILTER-1).
    pub sync_flagged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<ActivityFacts>,
}

impl CrmFacts {
    /// Facts of a contact as seen by `user`; `sync_flagged` comes from the
    /// user's *synchronize* flags, which live outside the record.
    pub fn of_contact(contact: &Contact, user: &Actor, sync_flagged: bool) -> CrmFacts {
        CrmFacts {
            owner_is_user: contact.owner_id() == user.user_id,
            readable: contact.readable_by(user),
            writable: contact.writable_by(user),
            active: contact.fields.active,
            sync_flagged,
            activity: None,
        }
    }

    /// Facts of an activity as seen by `user`.
    pub fn of_activity(activity: &Activity, user: &Actor) -> CrmFacts {
        let owner_is_user = activity.owner_id() == user.user_id;
        let fields = &activity.fields;
        let user_is_organizer = match fields.organizer() {
            Some(organizer) => organizer.is_user(&user.user_id),
            None => owner_is_user,
        };
        CrmFacts {
            owner_is_user,
            readable: activity.readable_by(user),
            writable: activity.writable_by(user),
            active: true,
            sync_flagged: false,
            activity: Some(ActivityFacts {
                kind: fields.kind,
                state: fields.state,
                last_moment: fields.last_moment(),
                user_is_organizer,
                user_is_invited: fields.invites(&user.user_id),
            }),
        }
    }
}
