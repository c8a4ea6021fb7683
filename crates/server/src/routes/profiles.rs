//! `/profiles`: the sync profiles stored in the database (server mode).
//! Handlers are thin: rights, validation and sealing are the service's
//! (`ProfileCatalog::create_for` and friends). A user manages their own
//! profiles, an admin everyone's (R-PERM-2); another user's profile is 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use crmsync_service::{ProfileInput, ProfileView};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::{ApiError, ErrorBody};
use crate::precondition::{etag, expected_version, if_match};
use crate::service_error::from_service;
use crate::state::AppState;

/// A profile as a client sends it. `connector.password` and
/// `connector.bearer_token` are write-only: no response shows them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    /// Required on create; on replace, absent or the name in the path.
    #[serde(default)]
    pub name: Option<String>,
    /// The CRM user it syncs for; absent: the caller on create, unchanged on replace. Only an admin may name another user.
    #[serde(default)]
    pub user_id: Option<String>,
    /// `{ "kind": "dav", "url", "username", "password" | "bearer_token", … }` or
    /// `{ "kind": "vdir", "root" }` (admins only), as in the config file. On
    /// replace, a left-out `password`/`bearer_token` keeps the stored one while
    /// kind, URL and user name stay; `null` removes it.
    #[schema(value_type = Object)]
    pub connector: Value,
    /// E-mail beside `connector` (R-PROFILE-MAIL-1): `{ "kind": "imap", "host", "port",
    /// "tls", "username", "password" | "bearer_token", "tracking": { … } }`, as the config
    /// file's `mail`; `connector` is then a dav or vdir one. Absent or `null`: none (a PUT
    /// without it removes it). Its secrets are write-only and kept on replace as `connector`'s.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub mail: Option<Value>,
    /// The config file's `[profile.rules]`: per entity direction, policies, filters; calendar window.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub rules: Value,
    /// 60 s to 30 days (R-SCHED-1); default `scheduler.default_pull_interval_secs`.
    #[serde(default)]
    pub pull_interval_secs: Option<u64>,
    /// Run at once on CRM changes and groupware notifications (R-SCHED-2); default true.
    #[serde(default = "yes")]
    pub push: bool,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The version replaced, instead of `If-Match`.
    #[serde(default)]
    pub version: Option<i64>,
}

// The body holds the password: Debug must not print the connector.
impl std::fmt::Debug for ProfileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileBody")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn yes() -> bool {
    true
}

impl ProfileBody {
    fn into_input(self, name: String, default_pull_interval_secs: u64) -> ProfileInput {
        ProfileInput {
            name,
            user_id: self.user_id,
            connector: self.connector,
            mail: self.mail,
            rules: self.rules,
            pull_interval_secs: self.pull_interval_secs.unwrap_or(default_pull_interval_secs),
            push: self.push,
            enabled: self.enabled,
        }
    }
}

/// A new profile and its push token, shown this once (the database keeps
/// only its hash). A groupware server notifies `push_path`.
#[derive(Serialize, ToSchema)]
pub struct CreatedProfileBody {
    #[schema(value_type = Object)]
    pub profile: ProfileView,
    pub push_token: String,
    /// `/api/v1/push/<push_token>`: the webhook, no bearer token needed.
    pub push_path: String,
}

impl std::fmt::Debug for CreatedProfileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedProfileBody")
            .field("profile", &self.profile.name)
            .finish_non_exhaustive()
    }
}

/// A new push token; the previous one no longer works.
#[derive(Serialize, ToSchema)]
pub struct PushTokenBody {
    pub push_token: String,
    pub push_path: String,
}

/// Whether a push made the profile due.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PushAccepted {
    pub triggered: bool,
}

pub fn push_path(token: &str) -> String {
    format!("/api/v1/push/{token}")
}

/// The profiles the caller may manage: all for an admin, their own otherwise.
#[utoipa::path(get, path = "/api/v1/profiles", operation_id = "listProfiles", tag = "profiles",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Profiles, never with credentials", body = Vec<Object>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<Vec<ProfileView>>, ApiError> {
    let views = state
        .service
        .catalog
        .views_for(&caller.actor())
        .await
        .map_err(from_service)?;
    Ok(Json(views))
}

/// Creates a profile (source `api`), due at once. R-PERM-1: a direction
/// that writes to the CRM is refused (403) when the user lacks the rights.
#[utoipa::path(post, path = "/api/v1/profiles", operation_id = "createProfile", tag = "profiles",
    request_body = ProfileBody,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedProfileBody),
        (status = 400, description = "A field is missing or unusable (named in `field`)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Another user's profile, a vdir or env/file secret as non-admin, or R-PERM-1", body = ErrorBody),
        (status = 409, description = "The name exists", body = ErrorBody),
        (status = 422, description = "Credentials, but the server has no security key", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let body: ProfileBody = body.parse()?;
    let name = body
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_request(Some("name".to_string()), "required"))?;
    let svc = &state.service;
    let created = svc
        .catalog
        .create_for(
            &caller.actor(),
            body.into_input(name, svc.default_pull_interval_secs),
            svc.clock.now(),
        )
        .await
        .map_err(from_service)?;
    let headers = etag(created.view.version);
    let push_path = push_path(&created.push_token);
    Ok((
        StatusCode::CREATED,
        headers,
        Json(CreatedProfileBody {
            profile: created.view,
            push_token: created.push_token,
            push_path,
        }),
    ))
}

/// One profile with its schedule (next run, last run, state).
#[utoipa::path(get, path = "/api/v1/profiles/{name}", operation_id = "getProfile", tag = "profiles",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile; `ETag` is its version", body = Object),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let view = state
        .service
        .catalog
        .view_for(&caller.actor(), &name)
        .await
        .map_err(from_service)?;
    Ok((etag(view.version), Json(view)))
}

/// Replaces an API profile, based on the version read (`If-Match` or
/// `version`). A changed profile is due at once with its failures cleared.
#[utoipa::path(put, path = "/api/v1/profiles/{name}", operation_id = "replaceProfile", tag = "profiles",
    params(("name" = String, Path)),
    request_body = ProfileBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile as saved", body = Object),
        (status = 400, description = "A field is unusable (named in `field`)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed (see create), or R-PERM-1", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "Stale version, or managed by the configuration file", body = ErrorBody),
        (status = 428, description = "No version sent", body = ErrorBody),
    ))]
pub async fn replace(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<impl IntoResponse, ApiError> {
    let body: ProfileBody = body.parse()?;
    if body.name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::bad_request(
            Some("name".to_string()),
            "a profile cannot be renamed: create one under the new name and delete this one",
        ));
    }
    let version = expected_version(&headers, body.version)?;
    let svc = &state.service;
    let (view, _) = svc
        .catalog
        .replace_for(
            &caller.actor(),
            &name,
            version,
            body.into_input(name.clone(), svc.default_pull_interval_secs),
            svc.clock.now(),
        )
        .await
        .map_err(from_service)?;
    Ok((etag(view.version), Json(view)))
}

/// Deletes an API profile; its sync history stays. `If-Match` is checked when sent.
#[utoipa::path(delete, path = "/api/v1/profiles/{name}", operation_id = "deleteProfile", tag = "profiles",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "Stale `If-Match`, or managed by the configuration file", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let catalog = &state.service.catalog;
    let actor = caller.actor();
    if let Some(expected) = if_match(&headers)? {
        let view = catalog.view_for(&actor, &name).await.map_err(from_service)?;
        if view.version != expected {
            return Err(ApiError::VersionConflict { expected });
        }
    }
    catalog.delete_for(&actor, &name).await.map_err(from_service)?;
    Ok(StatusCode::NO_CONTENT)
}

/// R-SCHED-2: runs the profile as soon as a worker is free, as a groupware
/// notification would. 409 when the profile has push off or is disabled.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/push", operation_id = "pushProfile", tag = "profiles",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 202, body = PushAccepted),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 409, description = "Push is off or the profile is disabled", body = ErrorBody),
    ))]
pub async fn push(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<PushAccepted>), ApiError> {
    let view = state
        .service
        .catalog
        .view_for(&caller.actor(), &name)
        .await
        .map_err(from_service)?;
    if !view.enabled || !view.push {
        return Err(ApiError::Conflict(format!(
            "profile {name} has push off or is disabled, so notifications do not run it; \
             enable push, or run it once with POST /api/v1/sync/profiles/{name}/run"
        )));
    }
    let triggered = super::push::trigger(&state, &name).await?;
    Ok((StatusCode::ACCEPTED, Json(PushAccepted { triggered })))
}

/// A new push token for the profile's webhook; the old one stops working.
#[utoipa::path(post, path = "/api/v1/profiles/{name}/push-token", operation_id = "rotateProfilePushToken", tag = "profiles",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PushTokenBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
    ))]
pub async fn rotate_push_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<PushTokenBody>, ApiError> {
    let token = state
        .service
        .catalog
        .rotate_push_token_for(&caller.actor(), &name)
        .await
        .map_err(from_service)?;
    Ok(Json(PushTokenBody {
        push_path: push_path(&token),
        push_token: token,
    }))
}
