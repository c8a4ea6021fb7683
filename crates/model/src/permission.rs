//! Who may read and change what (R-PERM-2). Pure rules; the store and the API
//! ask them, so that every path answers the same.

use serde::{Deserialize, Serialize};

use crate::record::Id;
use crate::user::Role;
use crate::{Account, Activity, Case, Contact, Lead, Opportunity, User};

/// The authenticated caller of an API route or the user a sync profile acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: Id,
    pub role: Role,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    fn owns(&self, owner_id: &str) -> bool {
        self.user_id == owner_id
    }
}

/// Read and write rules per entity. A user reads what they own and what is
/// shared; an activity also reaches its participants; a user changes only what
/// they own; admins read and change everything and alone manage users.
pub trait Access {
    fn readable_by(&self, actor: &Actor) -> bool;
    fn writable_by(&self, actor: &Actor) -> bool;
}

impl Access for Contact {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id()) || self.fields.shared
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for Account {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id()) || self.fields.shared
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for Lead {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id()) || self.fields.shared
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for Opportunity {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id()) || self.fields.shared
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for Case {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id()) || self.fields.shared
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for Activity {
    fn readable_by(&self, actor: &Actor) -> bool {
        actor.is_admin()
            || actor.owns(self.owner_id())
            || self.fields.participants.iter().any(|p| p.is_user(&actor.user_id))
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.owner_id())
    }
}

impl Access for User {
    /// Every user may see who the other users are (names for participants);
    /// only admins change users, and a user may change their own name.
    fn readable_by(&self, _actor: &Actor) -> bool {
        true
    }
    fn writable_by(&self, actor: &Actor) -> bool {
        actor.is_admin() || actor.owns(self.id())
    }
}
