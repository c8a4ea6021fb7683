//! The deletion matrix of SPEC §6 as named, configurable policies. Each
//! default is the SPEC's; the rule that governs a situation (R-DEL-n) stays the
//! same whichever policy a profile picks, so history still names it.

use serde::{Deserialize, Serialize};

/// What a deletion in the groupware does to the CRM record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnGroupwareDelete {
    /// The CRM record stays; the pair is marked removed by user and not re-created.
    KeepInCrm,
    /// The CRM record is deleted.
    DeleteInCrm,
    /// Deleted in the CRM when the profile's user organizes the activity, kept otherwise.
    DeleteInCrmIfOrganizer,
}

/// What a deletion in the CRM does to the groupware item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnCrmDelete {
    RemoveFromGroupware,
    /// The item stays in the groupware, unlinked.
    KeepInGroupware,
    /// Removed unless the user owns the record or it came from their groupware.
    RemoveUnlessOwnedOrGroupwareOrigin,
}

/// What happens to a groupware item whose CRM record left the profile's
/// filter (R-DEL-5) or, for contacts, was deactivated (R-DEL-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnLeavingScope {
    /// CRM-origin items are removed, groupware-origin items stay and keep syncing.
    ByOrigin,
    RemoveFromGroupware,
    KeepInGroupware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactDeletes {
    /// R-DEL-1.
    pub groupware_deleted: OnGroupwareDelete,
    /// R-DEL-3.
    pub crm_deleted: OnCrmDelete,
    /// R-DEL-4.
    pub deactivated: OnLeavingScope,
    /// R-DEL-5.
    pub left_filter: OnLeavingScope,
}

impl Default for ContactDeletes {
    fn default() -> Self {
        ContactDeletes {
            groupware_deleted: OnGroupwareDelete::KeepInCrm,
            crm_deleted: OnCrmDelete::RemoveUnlessOwnedOrGroupwareOrigin,
            deactivated: OnLeavingScope::KeepInGroupware,
            left_filter: OnLeavingScope::ByOrigin,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventDeletes {
    /// R-DEL-6.
    pub planned_groupware_deleted: OnGroupwareDelete,
    /// R-DEL-7.
    pub planned_crm_deleted: OnCrmDelete,
    /// R-DEL-8.
    pub completed_groupware_deleted: OnGroupwareDelete,
    /// R-DEL-9.
    pub completed_crm_deleted: OnCrmDelete,
    /// R-DEL-5 applied to activities (docs/RULES.md).
    pub left_filter: OnLeavingScope,
}

impl Default for EventDeletes {
    fn default() -> Self {
        EventDeletes {
            planned_groupware_deleted: OnGroupwareDelete::DeleteInCrmIfOrganizer,
            planned_crm_deleted: OnCrmDelete::RemoveFromGroupware,
            completed_groupware_deleted: OnGroupwareDelete::KeepInCrm,
            completed_crm_deleted: OnCrmDelete::KeepInGroupware,
            left_filter: OnLeavingScope::ByOrigin,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskDeletes {
    /// R-DEL-10.
    pub groupware_deleted: OnGroupwareDelete,
    /// R-DEL-11, open tasks.
    pub open_crm_deleted: OnCrmDelete,
    /// R-DEL-11, completed tasks.
    pub completed_crm_deleted: OnCrmDelete,
    pub left_filter: OnLeavingScope,
}

impl Default for TaskDeletes {
    fn default() -> Self {
        TaskDeletes {
            groupware_deleted: OnGroupwareDelete::DeleteInCrm,
            open_crm_deleted: OnCrmDelete::RemoveFromGroupware,
            completed_crm_deleted: OnCrmDelete::KeepInGroupware,
            left_filter: OnLeavingScope::ByOrigin,
        }
    }
}

/// R-DEL-12: e-mail deletions never propagate by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailDeletes {
    pub groupware_deleted: OnGroupwareDelete,
    pub crm_deleted: OnCrmDelete,
    pub left_filter: OnLeavingScope,
}

impl Default for MailDeletes {
    fn default() -> Self {
        MailDeletes {
            groupware_deleted: OnGroupwareDelete::KeepInCrm,
            crm_deleted: OnCrmDelete::KeepInGroupware,
            left_filter: OnLeavingScope::KeepInGroupware,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeletePolicies {
    pub contacts: ContactDeletes,
    pub events: EventDeletes,
    pub tasks: TaskDeletes,
    pub mail: MailDeletes,
}
