//! Leads: prospects not yet qualified into accounts and contacts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{Validate, ValidationError, check_email};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    #[default]
    New,
    Contacted,
    Qualified,
    Disqualified,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct LeadFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub status: LeadStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    pub shared: bool,
}

impl Validate for LeadFields {
    fn validate(&self) -> Result<(), ValidationError> {
        let has_name = [&self.last_name, &self.company, &self.email]
            .iter()
            .any(|f| f.as_deref().is_some_and(|s| !s.trim().is_empty()));
        if !has_name {
            return Err(ValidationError::new(
                "last_name",
                "a lead needs a last name, company or e-mail",
            ));
        }
        check_email("email", self.email.as_deref())
    }
}
