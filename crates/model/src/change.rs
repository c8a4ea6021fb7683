//! The change log: every create, update and delete of a record, numbered by a
//! sequence that only grows, so a sync asks "what changed since N" in O(changes).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{EntityKind, Id};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Create,
    Update,
    /// The record is gone; the entry is its tombstone, kept until every
    /// profile's cursor has passed it.
    Delete,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }
    pub fn parse(s: &str) -> Option<ChangeOp> {
        match s {
            "create" => Some(ChangeOp::Create),
            "update" => Some(ChangeOp::Update),
            "delete" => Some(ChangeOp::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// Strictly increasing in commit order (the store guarantees it on both backends).
    pub seq: i64,
    pub entity: EntityKind,
    pub record_id: Id,
    pub op: ChangeOp,
    /// The record's version after this change (for a delete: the last version).
    pub version: i64,
    pub owner_id: Id,
    pub at: DateTime<Utc>,
}
