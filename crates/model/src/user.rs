//! CRM users: the people who own records and have sync profiles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{Validate, ValidationError, check_email, check_name};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages users and profiles, may change every record.
    Admin,
    #[default]
    User,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "user" => Some(Role::User),
            _ => None,
        }
    }
}

/// A user's editable fields. The API token is not one of them: the store keeps
/// only its hash, apart from the record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct UserFields {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Role,
    #[serde(default = "crate::record::default_true")]
    pub active: bool,
}

impl UserFields {
    /// An active user with the ordinary `User` role: what most callers (the
    /// demo, tests, benches) create.
    pub fn active_user(name: impl Into<String>, email: impl Into<String>) -> UserFields {
        UserFields {
            name: name.into(),
            email: Some(email.into()),
            role: Role::User,
            active: true,
        }
    }
}

impl Validate for UserFields {
    fn validate(&self) -> Result<(), ValidationError> {
        check_name("name", &self.name)?;
        check_email("email", self.email.as_deref())
    }
}
