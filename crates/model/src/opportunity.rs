//! Opportunities: a possible sale, won or lost in the end (R-TRACK-3 converts
//! a tracked item into one). They live in the CRM only: no groupware item
//! carries them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::record::{Id, Validate, ValidationError, require_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityState {
    #[default]
    Open,
    Won,
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OpportunityFields {
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: OpportunityState,
    /// The account (company) the opportunity is with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Id>,
    /// The contact the opportunity is with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<Id>,
    /// Estimated value in whole units of `currency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub estimated_value: Option<i64>,
    /// ISO 4217 code of the value, e.g. `EUR`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: Option<String>,
    /// When the sale is expected to close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_date: Option<NaiveDate>,
    /// Shared records are readable by every user (R-PERM-2).
    pub shared: bool,
}

impl Validate for OpportunityFields {
    fn validate(&self) -> Result<(), ValidationError> {
        require_text("title", &self.title)?;
        if self.estimated_value.is_some_and(|v| v < 0) {
            return Err(ValidationError::new("estimated_value", "must not be negative"));
        }
        match self.currency.as_deref() {
            Some(c) if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) => Err(ValidationError::new(
                "currency",
                "must be an ISO 4217 code of three capital letters, e.g. EUR",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_track_3_an_opportunity_needs_a_title_a_value_from_zero_and_a_currency_code() {
        let ok = OpportunityFields {
            title: "Renewal".into(),
            estimated_value: Some(0),
            currency: Some("EUR".into()),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let field = |f: OpportunityFields| f.validate().unwrap_err().field;
        assert_eq!(
            field(OpportunityFields {
                title: " ".into(),
                ..ok.clone()
            }),
            "title"
        );
        assert_eq!(
            field(OpportunityFields {
                estimated_value: Some(-1),
                ..ok.clone()
            }),
            "estimated_value"
        );
        for bad in ["eur", "EURO", "E1R"] {
            let f = OpportunityFields {
                currency: Some(bad.into()),
                ..ok.clone()
            };
            assert_eq!(field(f), "currency", "{bad}");
        }
    }
}
