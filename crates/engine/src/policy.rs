//! A sync profile's rules as the engine sees them: per entity class the
//! direction, read-only and conflict policies, filter, field limits and the
//! user's rights; plus the calendar window and the mass-delete guard. All of
//! it deserializes with the SPEC's defaults, so an empty config is a valid one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::class::EntityClass;
use crate::delete_policy::DeletePolicies;
use crate::filter::Filter;

/// R-DIR-1: which way changes flow for one entity class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    #[default]
    TwoWay,
    CrmToGroupware,
    GroupwareToCrm,
}

impl Direction {
    pub fn crm_to_groupware(self) -> bool {
        self != Direction::GroupwareToCrm
    }
    pub fn groupware_to_crm(self) -> bool {
        self != Direction::CrmToGroupware
    }
}

/// R-DIR-2: what happens to a change made on the read-only side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadOnlyPolicy {
    /// Overwrite it from the leading side at the next sync.
    #[default]
    Revert,
    /// Leave it as the user made it; it does not flow.
    Ignore,
}

/// R-EDIT-3: who wins when both sides changed the same field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConflictPolicy {
    /// The CRM is the leading system.
    #[default]
    CrmWins,
    GroupwareWins,
    /// The side modified last wins, by each side's last-modified time.
    NewestWins,
    /// Held in the conflict queue; neither side is overwritten.
    Manual,
}

/// What the profile's user may do with this entity in the CRM (R-PERM-1).
/// The caller fills it from the CRM's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Rights {
    pub create: bool,
    pub update: bool,
}

impl Default for Rights {
    fn default() -> Self {
        Rights {
            create: true,
            update: true,
        }
    }
}

/// Policies of one entity class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct EntityPolicy {
    pub direction: Direction,
    pub read_only: ReadOnlyPolicy,
    pub conflict: ConflictPolicy,
    pub filter: Filter,
    /// R-FIELD-6: the connector's longest value per field key, in characters.
    pub field_limits: BTreeMap<String, usize>,
    pub rights: Rights,
}

/// R-SAFE-3: a plan deleting more than `max_share` of a collection on either
/// side, and at least `min_records` records, is held for confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MassDeleteGuard {
    pub max_share: f64,
    pub min_records: usize,
}

impl Default for MassDeleteGuard {
    fn default() -> Self {
        MassDeleteGuard {
            max_share: 0.5,
            min_records: 5,
        }
    }
}

fn default_past_days() -> u32 {
    30
}

/// Everything the engine needs to know about one sync profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The CRM user the profile acts for.
    pub user_id: String,
    #[serde(default)]
    pub contacts: EntityPolicy,
    #[serde(default)]
    pub events: EntityPolicy,
    #[serde(default)]
    pub tasks: EntityPolicy,
    #[serde(default)]
    pub mail: EntityPolicy,
    #[serde(default)]
    pub deletes: DeletePolicies,
    /// R-CAL-1: how many days back pulls reach.
    #[serde(default = "default_past_days")]
    pub calendar_past_days: u32,
    #[serde(default)]
    pub mass_delete: MassDeleteGuard,
    /// Set for one run when a user confirmed a held mass delete (R-SAFE-3).
    #[serde(default)]
    pub mass_delete_confirmed: bool,
    /// R-FIELD-2: may a groupware company create a missing CRM account?
    #[serde(default)]
    pub accounts: AccountRights,
}

/// R-FIELD-2: the right to create CRM accounts, which linking a groupware
/// contact's company needs when no account has that name. Narrowed to the
/// CRM user's own right like the entity rights (R-PERM-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountRights {
    pub create: bool,
}

impl Default for AccountRights {
    fn default() -> Self {
        AccountRights { create: true }
    }
}

impl Profile {
    /// A profile with every SPEC default.
    pub fn new(user_id: impl Into<String>) -> Self {
        Profile {
            user_id: user_id.into(),
            contacts: EntityPolicy::default(),
            events: EntityPolicy::default(),
            tasks: EntityPolicy::default(),
            mail: EntityPolicy::default(),
            deletes: DeletePolicies::default(),
            calendar_past_days: default_past_days(),
            mass_delete: MassDeleteGuard::default(),
            mass_delete_confirmed: false,
            accounts: AccountRights::default(),
        }
    }

    pub fn entity(&self, class: EntityClass) -> &EntityPolicy {
        match class {
            EntityClass::Contacts => &self.contacts,
            EntityClass::Events => &self.events,
            EntityClass::Tasks => &self.tasks,
            EntityClass::Mail => &self.mail,
        }
    }

    pub fn entity_mut(&mut self, class: EntityClass) -> &mut EntityPolicy {
        match class {
            EntityClass::Contacts => &mut self.contacts,
            EntityClass::Events => &mut self.events,
            EntityClass::Tasks => &mut self.tasks,
            EntityClass::Mail => &mut self.mail,
        }
    }

    /// R-FIELD-6, R-LIMIT-1: takes on the limits a connector declares for its server.
    /// Where the rules set a limit for the same field, the lower counts, so
    /// neither side can lift a limit the other knows of.
    pub fn inherit_field_limits(&mut self, class: EntityClass, declared: &BTreeMap<String, usize>) {
        let own = &mut self.entity_mut(class).field_limits;
        for (field, limit) in declared {
            own.entry(field.clone())
                .and_modify(|l| *l = (*l).min(*limit))
                .or_insert(*limit);
        }
    }
}
