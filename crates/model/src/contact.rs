//! Contacts, with every field of R-FIELD-1.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{Id, Validate, ValidationError, check_email};

/// A postal address; every part is optional because groupware often holds only some.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl Address {
    pub fn is_empty(&self) -> bool {
        self == &Address::default()
    }
}

/// R-FIELD-1. `company` is the text name; `account_id` the linked account
/// (R-FIELD-2), kept apart so a name without an account survives.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Id>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email3: Option<String>,
    pub business_address: Address,
    pub home_address: Address,
    pub other_address: Address,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_business: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_business2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_home: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_fax: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_other: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// The photo as a `data:` URI (e.g. `data:image/jpeg;base64,…`), the form
    /// vCard 4.0 uses, so it round-trips without decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<String>,
    /// Inactive contacts stay in the CRM and in groupware (R-DEL-4).
    #[serde(default = "crate::record::default_true")]
    pub active: bool,
    /// Shared contacts are readable by every user (R-PERM-2).
    pub shared: bool,
}

/// Longest photo accepted, as a data URI; larger ones are refused rather than
/// silently cut, so nothing is lost.
pub const MAX_PHOTO_LEN: usize = 4 * 1024 * 1024;

impl ContactFields {
    /// "First Last", falling back to company and then e-mail: what a list shows.
    pub fn display_name(&self) -> String {
        let name: Vec<&str> = [
            &self.prefix,
            &self.first_name,
            &self.middle_name,
            &self.last_name,
            &self.suffix,
        ]
        .iter()
        .filter_map(|p| p.as_deref())
        .filter(|s| !s.is_empty())
        .collect();
        if !name.is_empty() {
            return name.join(" ");
        }
        self.company.clone().or_else(|| self.email1.clone()).unwrap_or_default()
    }

    pub fn emails(&self) -> impl Iterator<Item = &str> {
        [&self.email1, &self.email2, &self.email3]
            .into_iter()
            .filter_map(|e| e.as_deref())
    }
}

impl Validate for ContactFields {
    fn validate(&self) -> Result<(), ValidationError> {
        let has_name = [&self.first_name, &self.last_name, &self.company, &self.email1]
            .iter()
            .any(|f| f.as_deref().is_some_and(|s| !s.trim().is_empty()));
        if !has_name {
            return Err(ValidationError::new(
                "last_name",
                "a contact needs a first name, last name, company or e-mail",
            ));
        }
        check_email("email1", self.email1.as_deref())?;
        check_email("email2", self.email2.as_deref())?;
        check_email("email3", self.email3.as_deref())?;
        if self.photo.as_ref().is_some_and(|p| p.len() > MAX_PHOTO_LEN) {
            return Err(ValidationError::new("photo", "is larger than 4 MiB"));
        }
        Ok(())
    }
}
