//! Query parameters of list routes, parsed by hand so that a bad value is a
//! 400 naming the parameter rather than axum's plain-text rejection.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Page size when the client names none; large enough for a screen, small
/// enough that one request never holds the database for long.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page a client may ask for (R-API-6).
pub const MAX_LIMIT: u32 = 500;

/// `?cursor=&limit=&modified_since=&owner_id=` as sent (all text).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Page size, 1 to 500 (default 50).
    // Read as text so that a bad value is our 400; documented as what it must be.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// Only records modified at or after this RFC 3339 instant.
    #[param(value_type = Option<String>, format = DateTime)]
    pub modified_since: Option<String>,
    /// Only records of this owner.
    pub owner_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only broken percent-encoding fails here: every field is text.
        Query::<ListParams>::try_from_uri(&parts.uri)
            .map(|Query(p)| p)
            .map_err(|e| ApiError::bad_request(None, e.body_text()))
    }
}

/// The same parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ListRequest {
    pub cursor: Option<String>,
    pub limit: u32,
    pub modified_since: Option<DateTime<Utc>>,
    pub owner_id: Option<String>,
}

impl ListParams {
    pub fn check(self) -> Result<ListRequest, ApiError> {
        let limit = match self.limit.as_deref() {
            // An empty value is a bad value, not an absent one: the document
            // types it as an integer (R-API-6, R-API-17).
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::bad_request(
                        Some("limit".to_owned()),
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let modified_since = match self.modified_since.as_deref() {
            None => None,
            Some(text) => Some(
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| {
                        ApiError::bad_request(
                            Some("modified_since".to_owned()),
                            format!("must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z: {e}"),
                        )
                    })?
                    .with_timezone(&Utc),
            ),
        };
        Ok(ListRequest {
            cursor: self.cursor.filter(|c| !c.is_empty()),
            limit,
            modified_since,
            owner_id: self.owner_id.filter(|o| !o.is_empty()),
        })
    }
}

/// One page of a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let ok = ListParams::default().check().unwrap();
        assert_eq!(ok.limit, DEFAULT_LIMIT);
        for bad in ["0", "501", "-1", "ten", ""] {
            let p = ListParams {
                limit: Some(bad.into()),
                ..Default::default()
            };
            assert_eq!(p.check().unwrap_err().field(), Some("limit"), "{bad}");
        }
    }

    #[test]
    fn modified_since_must_be_rfc3339() {
        let p = ListParams {
            modified_since: Some("2024-05-01T14:00:00+02:00".into()),
            ..Default::default()
        };
        assert_eq!(
            p.check().unwrap().modified_since.unwrap().to_rfc3339(),
            "2024-05-01T12:00:00+00:00"
        );
        let p = ListParams {
            modified_since: Some("yesterday".into()),
            ..Default::default()
        };
        assert_eq!(p.check().unwrap_err().field(), Some("modified_since"));
        let empty = ListParams {
            modified_since: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(empty.check().unwrap_err().field(), Some("modified_since"));
    }
}
