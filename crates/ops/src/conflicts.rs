//! Held conflicts (R-EDIT-3 `manual`) as the operator sees them.

use std::fmt;

use chrono::{DateTime, Utc};
use crmsync_engine::FieldConflict;
use crmsync_store::status::ConflictRow;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConflictView {
    pub id: String,
    pub profile: String,
    pub collection: String,
    pub record_id: String,
    pub href: String,
    /// Each field both sides changed differently: key, base, crm, groupware.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FieldConflict>,
    pub created_at: DateTime<Utc>,
}

impl From<ConflictRow> for ConflictView {
    fn from(c: ConflictRow) -> Self {
        // A list that cannot be read still shows the conflict (it can be
        // resolved or reset); only the field details are missing.
        let fields = serde_json::from_str(&c.fields).unwrap_or_default();
        ConflictView {
            id: c.id,
            profile: c.profile,
            collection: c.collection,
            record_id: c.crm_id,
            href: c.href,
            fields,
            created_at: c.created_at,
        }
    }
}

fn shown(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "(empty)".into(),
    }
}

impl fmt::Display for ConflictView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "conflict {} (profile {}, {}): CRM record {} / groupware {}, since {}",
            self.id,
            self.profile,
            self.collection,
            self.record_id,
            self.href,
            self.created_at.format("%Y-%m-%d %H:%M UTC")
        )?;
        for fc in &self.fields {
            writeln!(
                f,
                "  {}: CRM {} / groupware {} (was {})",
                fc.key,
                shown(&fc.crm),
                shown(&fc.groupware),
                shown(&fc.base)
            )?;
        }
        writeln!(
            f,
            "  choose: crmsync conflicts resolve {} --take crm|groupware",
            self.id
        )
    }
}
