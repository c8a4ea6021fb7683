//! Reading JSON request bodies ourselves instead of through axum's `Json`, so
//! that every rejection is our JSON error: 415 for a non-JSON content type,
//! 413 past `max_body_bytes`, 400 naming the field for malformed JSON or a
//! value of the wrong type (via `serde_path_to_error`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The raw bytes of a JSON request body, checked for type and size.
pub struct JsonBody(pub Bytes);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let limit = state.max_body_bytes;
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // Refuse early on the declared length; the layer in `router` enforces the
        // limit again while streaming, for bodies that do not declare one.
        if declared.is_some_and(|len| len > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit }
            } else {
                ApiError::bad_request(None, format!("could not read the request body: {rejection}"))
            }
        })?;
        Ok(JsonBody(bytes))
    }
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(mime) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl JsonBody {
    /// Deserializes the whole body as `T`, naming the failing field. Every
    /// request body of the API is a JSON object, so this is the one decoder
    /// of all routes: an array or a scalar is refused before `T` sees it
    /// (serde would read `[true]` into a struct's first field).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        from_value(Value::Object(self.object()?))
    }

    /// The body as a JSON object; anything else is a 400. A string holding
    /// NUL is refused here too (R-API-14), whatever the route does with it.
    pub fn object(&self) -> Result<Map<String, Value>, ApiError> {
        // Syntax first, on its own: a body cut off inside a value is not that
        // field's fault, so a syntax error names no field.
        let value: Value = serde_json::from_slice(&self.0)
            .map_err(|e| ApiError::bad_request(None, format!("the body is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::bad_request(None, "the body must be a JSON object"));
        };
        if let Some(field) = crate::text_guard::first_nul_in_object(&map) {
            return Err(ApiError::Unprocessable {
                field,
                message: crate::text_guard::NUL_MESSAGE.to_owned(),
            });
        }
        Ok(map)
    }
}

/// A record body split into the control keys the API reads itself and the
/// entity's fields.
pub struct RecordBody<F> {
    pub fields: F,
    /// The version the client read (optimistic concurrency), if it sent one.
    pub version: Option<i64>,
    /// The owner the client asked for, if it sent one.
    pub owner_id: Option<String>,
}

impl JsonBody {
    /// Parses `{ "version"?: n, "owner_id"?: "…", …fields }`. The metadata a GET
    /// returns (`id`, `created_at`, …) is ignored, so a client may send back
    /// what it read with its edits applied.
    pub fn record<F: DeserializeOwned>(&self) -> Result<RecordBody<F>, ApiError> {
        let mut map = self.object()?;
        let version = take_version(&mut map)?;
        let owner_id = take_field::<String>(&mut map, "owner_id")?;
        for meta in ["id", "created_at", "modified_at"] {
            map.remove(meta);
        }
        let fields = from_value(Value::Object(map))?;
        Ok(RecordBody {
            fields,
            version,
            owner_id,
        })
    }
}

/// Removes `version` from `map`: a whole number from 1 (the first version a
/// record has). JSON does not tell `3` from `3.0`, and neither does the
/// document's `integer`, so an integral float is that number.
fn take_version(map: &mut Map<String, Value>) -> Result<Option<i64>, ApiError> {
    let bad = || {
        ApiError::bad_request(
            Some("version".to_owned()),
            "must be a whole number from 1, the version read",
        )
    };
    let number = match map.remove("version") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n,
        Some(_) => return Err(bad()),
    };
    let whole = number.as_i64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            .map(|f| f as i64)
    });
    whole.filter(|v| *v >= 1).map(Some).ok_or_else(bad)
}

/// Removes `key` from `map` and deserializes it; `null` counts as absent.
pub fn take_field<T: DeserializeOwned>(map: &mut Map<String, Value>, key: &str) -> Result<Option<T>, ApiError> {
    match map.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| ApiError::bad_request(Some(key.to_owned()), e.to_string())),
    }
}

/// Deserializes an already parsed value, naming the failing field.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(path_error)
}

fn path_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>) -> ApiError {
    let path = err.path().to_string();
    // `.` is the path of the document itself: a syntax error, no field to blame.
    let field = (path != ".").then_some(path);
    ApiError::bad_request(field, err.into_inner().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let body = JsonBody(Bytes::from_static(br#"{"items":[{"n":1},{"n":"x"}]}"#));
        let err = body.parse::<Outer>().unwrap_err();
        assert_eq!(err.field(), Some("items[1].n"));
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn syntax_error_has_no_field() {
        let body = JsonBody(Bytes::from_static(b"{\"items\": [{\"n\": "));
        let err = body.parse::<Outer>().unwrap_err();
        assert_eq!(err.field(), None);
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn record_body_splits_version_owner_and_ignores_metadata() {
        let body = JsonBody(Bytes::from_static(
            br#"{"version":3,"owner_id":"u1","id":"x","items":[]}"#,
        ));
        let parsed = body.record::<Outer>().unwrap();
        assert_eq!(parsed.version, Some(3));
        assert_eq!(parsed.owner_id.as_deref(), Some("u1"));
        assert!(parsed.fields.items.is_empty());
        for bad in [
            &br#"{"version":"three","items":[]}"#[..],
            br#"{"version":0,"items":[]}"#,
            br#"{"version":1.5,"items":[]}"#,
        ] {
            let err = JsonBody(Bytes::copy_from_slice(bad))
                .record::<Outer>()
                .err()
                .expect("refused");
            assert_eq!(err.field(), Some("version"));
        }
        let integral = JsonBody(Bytes::from_static(br#"{"version":4.0,"items":[]}"#));
        assert_eq!(integral.record::<Outer>().unwrap().version, Some(4));
    }

    // Issue 18: `[]` and `[true]` were read as a struct with positional fields.
    #[test]
    fn r_api_11_non_object_bodies_are_refused_by_the_one_decoder() {
        #[derive(serde::Deserialize, Debug, Default)]
        #[allow(dead_code)]
        struct Flags {
            #[serde(default)]
            dry_run: bool,
        }
        let cases: [&[u8]; 6] = [b"[]", b"[true]", b"true", b"1", b"\"x\"", b"null"];
        for text in cases {
            let err = JsonBody(Bytes::copy_from_slice(text)).parse::<Flags>().unwrap_err();
            assert_eq!(
                err.status(),
                StatusCode::BAD_REQUEST,
                "{}",
                String::from_utf8_lossy(text)
            );
            assert!(err.to_string().contains("JSON object"), "{err}");
        }
        assert!(JsonBody(Bytes::from_static(b"{}")).parse::<Flags>().is_ok());
    }

    #[test]
    fn r_api_14_nul_in_a_nested_string_is_422_naming_the_field() {
        let body = JsonBody(Bytes::from_static(br#"{"items":[{"n":1},{"n":1,"s":"a\u0000b"}]}"#));
        let err = body.parse::<Value>().unwrap_err();
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.field(), Some("items[1].s"));
    }

    #[test]
    fn json_content_types() {
        let ok = |s: &'static str| is_json(Some(&axum::http::HeaderValue::from_static(s)));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("application/merge-patch+json"));
        assert!(!ok("text/plain"));
        assert!(!is_json(None));
    }
}
