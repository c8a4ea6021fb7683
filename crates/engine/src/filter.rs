//! R-FILTER-1: which CRM records a profile takes. A filter is a scope over
//! ownership (owned / flagged / invited) plus conditions over the record's
//! canonical fields, all of which must hold.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crmsync_model::FieldMap;

use crate::class::EntityClass;
use crate::facts::CrmFacts;

/// Whose records a profile takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// The SPEC default: contacts the user owns or flagged *synchronize*;
    /// activities the user owns or is an invited participant of.
    #[default]
    Default,
    Owned,
    OwnedOrFlagged,
    OwnedOrInvited,
    /// Everything the user may read.
    AllReadable,
}

/// A condition over one canonical field (keys as in `crmsync_model::fields`).
/// Comparisons ignore case and surrounding blanks, as a user typing a filter expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Condition {
    Equals { field: String, value: String },
    NotEquals { field: String, value: String },
    Contains { field: String, value: String },
    OneOf { field: String, values: Vec<String> },
    Present { field: String },
    Absent { field: String },
}

fn norm(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Condition {
    pub fn holds(&self, fields: &FieldMap) -> bool {
        let get = |field: &str| fields.get(field).map(norm);
        match self {
            Condition::Equals { field, value } => get(field) == Some(norm(value)),
            Condition::NotEquals { field, value } => get(field) != Some(norm(value)),
            Condition::Contains { field, value } => get(field).is_some_and(|v| v.contains(&norm(value))),
            Condition::OneOf { field, values } => get(field).is_some_and(|v| values.iter().any(|x| norm(x) == v)),
            Condition::Present { field } => get(field).is_some(),
            Condition::Absent { field } => get(field).is_none(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Condition::Equals { field, value } => format!("{field} = {value:?}"),
            Condition::NotEquals { field, value } => format!("{field} != {value:?}"),
            Condition::Contains { field, value } => format!("{field} contains {value:?}"),
            Condition::OneOf { field, values } => format!("{field} in {values:?}"),
            Condition::Present { field } => format!("{field} is set"),
            Condition::Absent { field } => format!("{field} is empty"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    pub scope: Scope,
    pub conditions: Vec<Condition>,
}

/// The outcome of a filter, with the reason status and explain show (R-FILTER-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterVerdict {
    pub matches: bool,
    /// Static for a record that matches (nearly all of them): deciding the
    /// scope of a record formats nothing (R-PERF-5).
    pub reason: Cow<'static, str>,
}

/// A scope's sentence and what a matching record's verdict says, without and
/// with conditions, built from the one literal so the three cannot disagree.
macro_rules! scope_sentences {
    ($scope:literal) => {
        ScopeSentences {
            scope: $scope,
            matched: concat!("filter: ", $scope),
            matched_with_conditions: concat!("filter: ", $scope, " and every filter condition"),
        }
    };
}

/// Fixed sentences, so that deciding a matching record's scope formats
/// nothing (R-PERF-5).
struct ScopeSentences {
    scope: &'static str,
    matched: &'static str,
    matched_with_conditions: &'static str,
}

const OWNED: ScopeSentences = scope_sentences!("owned by the user");
const OWNED_OR_FLAGGED: ScopeSentences = scope_sentences!("owned by the user or flagged synchronize");
const OWNED_OR_INVITED: ScopeSentences = scope_sentences!("owned by the user or an invited participant");
const READABLE: ScopeSentences = scope_sentences!("readable by the user");

impl Filter {
    /// Does the record match? `fields` are the CRM's canonical fields when
    /// known; conditions cannot be checked without them and then count as met.
    pub fn evaluate(&self, class: EntityClass, facts: &CrmFacts, fields: Option<&FieldMap>) -> FilterVerdict {
        let scope = match self.scope {
            Scope::Default if class == EntityClass::Contacts => Scope::OwnedOrFlagged,
            Scope::Default => Scope::OwnedOrInvited,
            other => other,
        };
        let invited = facts.activity.as_ref().is_some_and(|a| a.user_is_invited);
        let (in_scope, sentences) = match scope {
            Scope::Owned => (facts.owner_is_user, OWNED),
            Scope::OwnedOrFlagged => (facts.owner_is_user || facts.sync_flagged, OWNED_OR_FLAGGED),
            Scope::OwnedOrInvited => (facts.owner_is_user || invited, OWNED_OR_INVITED),
            Scope::AllReadable | Scope::Default => (facts.readable, READABLE),
        };
        if !in_scope {
            return FilterVerdict {
                matches: false,
                reason: format!("filter scope: not {}", sentences.scope).into(),
            };
        }
        if let Some(failed) = fields.and_then(|f| self.conditions.iter().find(|c| !c.holds(f))) {
            return FilterVerdict {
                matches: false,
                reason: format!("filter condition fails: {}", failed.describe()).into(),
            };
        }
        FilterVerdict {
            matches: true,
            reason: Cow::Borrowed(if self.conditions.is_empty() {
                sentences.matched
            } else {
                sentences.matched_with_conditions
            }),
        }
    }
}
