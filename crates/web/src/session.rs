//! Sign-in sessions and CSRF (R-WEB-1, R-WEB-2).
//!
//! The session lives server-side (`web_sessions`, see ARCHITECTURE.md): the
//! cookie holds only a random value, so signing out ends it at once and a
//! rotated API token ends every session opened with it. The cookie is
//! `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page
//! sends it) and `Secure` when configured.
//!
//! Every form carries the session's CSRF token in [`CSRF_FIELD`] and is
//! refused without it ([`Posted`]). The sign-in form, shown before there is a
//! session, uses a double-submit token instead: a random value both in a
//! short-lived cookie and in the form.

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use crmsync_model::{Actor, User};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::WebState;
use crate::error::WebError;

/// The session cookie.
pub const SESSION_COOKIE: &str = "crmsync_session";
/// The sign-in form's double-submit cookie.
pub const SIGN_IN_COOKIE: &str = "crmsync_sign_in";
/// The hidden form field with the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// How long the sign-in form stays usable.
const SIGN_IN_FORM_SECS: i64 = 30 * 60;

/// The value of cookie `name` in the request, when there is one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value with the attributes every dashboard cookie has.
pub fn set_cookie(state: &WebState, name: &str, value: &str, max_age_secs: i64) -> String {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}")
}

pub fn session_cookie(state: &WebState, value: &str) -> String {
    set_cookie(state, SESSION_COOKIE, value, state.session_ttl.num_seconds())
}

pub fn sign_in_cookie(state: &WebState, value: &str) -> String {
    set_cookie(state, SIGN_IN_COOKIE, value, SIGN_IN_FORM_SECS)
}

/// Removes cookie `name` from the browser.
pub fn cleared_cookie(state: &WebState, name: &str) -> String {
    set_cookie(state, name, "", 0)
}

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The user of a live session (R-WEB-1); pages that need one take it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    /// The session's CSRF token, for the forms this page renders.
    pub csrf: String,
    /// The cookie value, to end the session on sign-out.
    pub cookie: String,
}

impl SignedIn {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.meta.id.clone(),
            role: self.user.fields.role,
        }
    }
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, WebError> {
        let value = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::SignInNeeded)?;
        let session = state
            .store
            .records()
            .web_session(value, state.clock.now())
            .await?
            .ok_or(WebError::SignInNeeded)?;
        Ok(SignedIn {
            user: session.user,
            csrf: session.csrf,
            cookie: value.to_string(),
        })
    }
}

/// A form's fields with the CSRF token beside them.
#[derive(Debug, Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

/// A form posted by the signed-in user from one of this session's pages:
/// the session is live and the CSRF token matches (R-WEB-2), else refused.
#[derive(Debug)]
pub struct Posted<T> {
    pub signed_in: SignedIn,
    pub fields: T,
}

impl<T: DeserializeOwned + Send> FromRequest<WebState> for Posted<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let Form(form): Form<WithCsrf<T>> = Form::from_request(req, state)
            .await
            .map_err(|e| WebError::BadForm(e.body_text()))?;
        if !same_secret(&form.csrf, &signed_in.csrf) {
            return Err(WebError::Csrf);
        }
        Ok(Posted {
            signed_in,
            fields: form.fields,
        })
    }
}
