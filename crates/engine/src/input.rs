//! The snapshots a plan is made from: one collection's pairs with what changed
//! on each side, plus the records and items no pair knows yet. Sides that did
//! not change are passed as `Unchanged`, so an incremental sync hands the
//! engine only the pairs it touched.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::facts::CrmFacts;

/// Which side created the item first (R-DEL-3, R-DEL-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Crm,
    Groupware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairState {
    #[default]
    Live,
    /// Deleted in the groupware and kept in the CRM; not re-created (R-DEL-1/2).
    RemovedByUser,
    /// No longer synced; both sides keep what they have (R-DEL-3, R-DEL-9).
    Unlinked,
    /// The groupware item did not parse (R-SAFE-4).
    Quarantined,
}

/// What the status store remembers about one pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairStatus {
    pub id: String,
    pub crm_id: String,
    pub href: String,
    pub origin: Origin,
    #[serde(default)]
    pub state: PairState,
    /// The normalised state both sides agreed on at the last sync, with full
    /// (untruncated) CRM values (R-FIELD-6).
    pub base: FieldMap,
    pub crm_version: i64,
    pub etag: String,
    /// The CRM facts at the last sync, used when the CRM side is unchanged but
    /// the groupware item was deleted (R-DEL-6 needs organizer and planned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_facts: Option<CrmFacts>,
}

/// A CRM record as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmRecord {
    pub id: String,
    pub fields: FieldMap,
    pub version: i64,
    pub modified_at: DateTime<Utc>,
    pub facts: CrmFacts,
}

/// A groupware item as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupwareItem {
    pub href: String,
    pub etag: String,
    pub fields: FieldMap,
    /// LAST-MODIFIED / REV if the item has one (R-EDIT-3 newest-wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<DateTime<Utc>>,
}

/// Why a paired CRM record is no longer visible to the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// The user lost read permission (R-PERM-1).
    Unreadable,
    /// The record no longer matches the profile's filter (R-DEL-5).
    FilteredOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "side")]
pub enum CrmSide {
    Unchanged,
    Present(CrmRecord),
    /// Deleted; the facts come from the tombstone / last known state.
    Deleted {
        facts: CrmFacts,
    },
    NotVisible {
        reason: Hidden,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "side")]
pub enum GroupwareSide {
    Unchanged,
    Present(GroupwareItem),
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedItem {
    pub pair: PairStatus,
    pub crm: CrmSide,
    pub groupware: GroupwareSide,
}

/// One collection's worth of input for a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionInput {
    pub class: EntityClass,
    /// The collection's name or href, used in messages.
    pub name: String,
    #[serde(default)]
    pub pairs: Vec<PairedItem>,
    #[serde(default)]
    pub unpaired_crm: Vec<CrmRecord>,
    #[serde(default)]
    pub unpaired_groupware: Vec<GroupwareItem>,
    /// How many records the CRM side of the collection holds in all, for the
    /// mass-delete guard (R-SAFE-3); incremental runs pass only touched pairs,
    /// so the count cannot be taken from them. The larger of this and what the
    /// input holds is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_total: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groupware_total: Option<usize>,
    /// CRM records and groupware items of duplicates groups someone chose to
    /// keep apart (R-PAIR-2): first-sync matching leaves them out, so each
    /// syncs on its own and the group is never reported again.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kept_apart_crm: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub kept_apart_hrefs: BTreeSet<String>,
}

impl CollectionInput {
    pub fn new(class: EntityClass, name: impl Into<String>) -> Self {
        CollectionInput {
            class,
            name: name.into(),
            pairs: Vec::new(),
            unpaired_crm: Vec::new(),
            unpaired_groupware: Vec::new(),
            crm_total: None,
            groupware_total: None,
            kept_apart_crm: BTreeSet::new(),
            kept_apart_hrefs: BTreeSet::new(),
        }
    }
}
