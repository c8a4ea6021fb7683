//! Bearer-token authentication (R-PERM-2: every API call is authenticated).
//!
//! A middleware on the `/api/v1` routes resolves the token to a user once per
//! request and leaves a [`Caller`] in the request's extensions; handlers take
//! `Caller` as an argument. The token itself is never logged or stored here.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use crmsync_model::{Actor, User};

use crate::error::ApiError;
use crate::state::AppState;
use crate::store_error::from_store;

/// The authenticated user of this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user.meta.id.clone(),
            role: self.user.fields.role,
        }
    }

    pub fn id(&self) -> &str {
        &self.user.meta.id
    }

    pub fn is_admin(&self) -> bool {
        self.actor().is_admin()
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("only an admin may do this"))
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // Only `require_bearer` puts a Caller there; a route outside it that
        // asks for one is refused rather than served anonymously.
        parts.extensions.get::<Caller>().cloned().ok_or(ApiError::Unauthorized)
    }
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 7235).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware: 401 with `WWW-Authenticate: Bearer` unless the token belongs
/// to an active user.
pub async fn require_bearer(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let token = bearer_token(req.headers()).ok_or(ApiError::Unauthorized)?;
    let user = state
        .store
        .records()
        .authenticate(token)
        .await
        .map_err(from_store)?
        .ok_or(ApiError::Unauthorized)?;
    // A deactivated user keeps their records but loses access (R-API-3).
    if !user.fields.active {
        return Err(ApiError::Unauthorized);
    }
    tracing::Span::current().record("user_id", user.meta.id.as_str());
    req.extensions_mut().insert(Caller { user });
    Ok(next.run(req).await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_token_required() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer_token(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }
}
