//! The outermost layer of the API: refuses a request line the handlers must
//! never see, and makes sure every error leaves as the JSON of R-API-1.
//!
//! - A URI longer than [`MAX_URI_BYTES`] is 414 (hyper's own limit is 64 KiB
//!   and answers with an empty body; ours comes first).
//! - A path that is not UTF-8 once percent-decoded, or holds a control
//!   character (NUL, newline, …), is 400: no id or name the API issues has
//!   one, and such text would reach the store and the logs (R-API-14).
//! - A query value holding NUL is 400 naming the parameter (R-API-6, R-API-14).
//! - An error that axum answers itself (405 for an unrouted method, a path
//!   or query its extractors could not read) comes as an empty or plain-text
//!   body; it is rewritten as our JSON error with the same status and headers
//!   (`Allow` stays).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;

use crate::error::ApiError;
use crate::text_guard::NUL_MESSAGE;

/// Longest request target (path and query) the API reads. Its longest URL
/// is a list with every query parameter, far below this.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// A non-JSON error body longer than this is not quoted in the message.
const MAX_QUOTED_BODY: usize = 1024;

/// Middleware: the checks above, then the JSON rewrite of the response.
pub async fn guard(req: Request, next: Next) -> Response {
    if let Err(err) = check_uri(req.uri()) {
        return err.into_response();
    }
    json_errors(next.run(req).await).await
}

/// Middleware for the dashboard's pages (R-WEB-6): the same request-line
/// refusals as the API (414, control characters in the path, NUL in the
/// query), answered as plain text for a browser rather than as the API's JSON.
pub async fn guard_uri_only(req: Request, next: Next) -> Response {
    match check_uri(req.uri()) {
        Ok(()) => next.run(req).await,
        Err(err) => (
            err.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            err.to_string(),
        )
            .into_response(),
    }
}

fn check_uri(uri: &Uri) -> Result<(), ApiError> {
    let target = uri.path_and_query().map_or("", |pq| pq.as_str());
    if target.len() > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong { limit: MAX_URI_BYTES });
    }
    let path = percent_decode_str(uri.path())
        .decode_utf8()
        .map_err(|_| ApiError::bad_request(None, "the path is not UTF-8 once percent-decoded"))?;
    if path.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            None,
            "the path must not contain control characters (NUL, newline, …): no id or name has one",
        ));
    }
    for pair in uri.query().unwrap_or("").split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let holds_nul = |s: &str| percent_decode_str(s).any(|b| b == 0);
        if holds_nul(key) || holds_nul(value) {
            let name = percent_decode_str(key).decode_utf8_lossy().replace('\0', "");
            return Err(ApiError::bad_request(Some(name), NUL_MESSAGE));
        }
    }
    Ok(())
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// An error response that is not JSON yet, as the JSON error of its status.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_QUOTED_BODY).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let error = if status == StatusCode::METHOD_NOT_ALLOWED {
        ApiError::MethodNotAllowed
    } else {
        ApiError::Rejected { status, message: text }
    };
    let json = error.into_response();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    let (_, body) = json.into_parts();
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(uri: &str) -> Option<ApiError> {
        check_uri(&uri.parse::<Uri>().unwrap()).err()
    }

    #[test]
    fn r_api_14_nul_and_control_characters_in_the_path_are_400() {
        for uri in ["/api/v1/contacts/%00", "/api/v1/profiles/a%0Ab", "/api/v1/users/x%0D"] {
            let err = refused(uri).unwrap_or_else(|| panic!("{uri} passed"));
            assert_eq!(err.status(), StatusCode::BAD_REQUEST, "{uri}");
        }
        assert!(refused("/api/v1/contacts/abc-1?limit=5").is_none());
    }

    #[test]
    fn r_api_1_a_path_that_is_not_utf8_is_400() {
        assert_eq!(
            refused("/api/v1/contacts/%FF").unwrap().status(),
            StatusCode::BAD_REQUEST
        );
    }

    #[test]
    fn r_api_14_nul_in_a_query_value_names_the_parameter() {
        let err = refused("/api/v1/contacts?limit=5&owner_id=a%00").unwrap();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.field(), Some("owner_id"));
        assert!(refused("/api/v1/contacts?owner_id=a%20b&cursor=").is_none());
    }

    #[test]
    fn r_api_1_an_overlong_uri_is_414() {
        let uri = format!("/api/v1/contacts?cursor={}", "a".repeat(MAX_URI_BYTES));
        assert_eq!(refused(&uri).unwrap().status(), StatusCode::URI_TOO_LONG);
    }
}
