//! Optimistic concurrency on the wire: `ETag: "<version>"` on reads, and the
//! version a write is based on from `If-Match` or the body's `version`.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::error::ApiError;

/// The strong entity tag of a record version: its version number, quoted.
pub fn etag(version: i64) -> [(header::HeaderName, HeaderValue); 1] {
    let value = HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header value");
    [(header::ETAG, value)]
}

/// Parses `If-Match`, if present. Only one strong tag holding a version is
/// accepted: `*` would mean "overwrite whatever is there", which is the blind
/// overwrite the version check exists to prevent (R-API-4).
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    // An empty header says nothing: as if not sent.
    let Some(raw) = headers.get(header::IF_MATCH).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_request(Some("If-Match".to_owned()), "expected one quoted version, e.g. \"3\"");
    let text = raw.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Err(ApiError::PreconditionRequired);
    }
    let inner = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    inner.parse::<i64>().map(Some).map_err(|_| bad())
}

/// The version a write must be based on: from `If-Match`, else from the body.
/// Both present and different is a client bug worth reporting, not guessing.
pub fn expected_version(headers: &HeaderMap, body_version: Option<i64>) -> Result<i64, ApiError> {
    match (if_match(headers)?, body_version) {
        (Some(h), Some(b)) if h != b => Err(ApiError::bad_request(
            Some("version".to_owned()),
            format!("If-Match says {h} but the body's version says {b}"),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(ApiError::PreconditionRequired),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_if_match(v: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_static(v));
        h
    }

    #[test]
    fn header_or_body_gives_the_version() {
        assert_eq!(expected_version(&with_if_match("\"4\""), None).unwrap(), 4);
        assert_eq!(expected_version(&HeaderMap::new(), Some(2)).unwrap(), 2);
        assert_eq!(expected_version(&with_if_match("\"4\""), Some(4)).unwrap(), 4);
    }

    #[test]
    fn neither_is_428_and_disagreement_is_400() {
        let err = expected_version(&HeaderMap::new(), None).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::PRECONDITION_REQUIRED);
        let err = expected_version(&with_if_match("\"4\""), Some(3)).unwrap_err();
        assert_eq!(err.field(), Some("version"));
        let err = expected_version(&with_if_match("*"), None).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::PRECONDITION_REQUIRED);
        let err = expected_version(&with_if_match("W/\"4\""), None).unwrap_err();
        assert_eq!(err.field(), Some("If-Match"));
    }
}
