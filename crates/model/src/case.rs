//! Cases: a customer's problem or request, worked on until resolved
//! (R-TRACK-3 converts a tracked item into one). They live in the CRM only:
//! no groupware item carries them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{Id, Validate, ValidationError, require_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    #[default]
    Active,
    Resolved,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CasePriority {
    Low,
    #[default]
    Normal,
    High,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CaseFields {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: CaseState,
    pub priority: CasePriority,
    /// The account (company) the case is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Id>,
    /// The contact who raised the case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Id>,
    /// Shared records are readable by every user (R-PERM-2).
    pub shared: bool,
}

impl Validate for CaseFields {
    fn validate(&self) -> Result<(), ValidationError> {
        require_text("title", &self.title)
    }
}
