//! Accounts: the companies contacts work for (R-FIELD-2 links them by name).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::contact::Address;
use crate::record::{Validate, ValidationError, require_text};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct AccountFields {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub address: Address,
    /// Shared records are readable by every user (R-PERM-2).
    #[serde(default)]
    pub shared: bool,
    #[serde(default = "crate::record::default_true")]
    pub active: bool,
}

impl Validate for AccountFields {
    fn validate(&self) -> Result<(), ValidationError> {
        require_text("name", &self.name)
    }
}
