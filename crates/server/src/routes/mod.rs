//! The router: every route, its OpenAPI entry, authentication and the layers.

pub mod changes;
pub mod convert;
pub mod journal;
pub mod me;
pub mod ops_metrics;
pub mod participants;
pub mod profile_collections;
pub mod profiles;
pub mod push;
pub mod records;
pub mod sync_access;
pub mod sync_conflicts;
pub mod sync_duplicates;
pub mod sync_profiles;
pub mod sync_quarantine;
pub mod sync_untrack;
pub mod synchronize;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension, Request};
use axum::middleware::from_fn_with_state;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::require_bearer;
use crate::error::ApiError;
use crate::openapi::{self, ApiDoc, Document};
use crate::state::AppState;

use records::{accounts, activities, cases, contacts, leads, opportunities};

/// The `/api/v1` routes that need a bearer token.
fn authenticated(state: &AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get, users::update, users::delete))
        .routes(routes!(users::rotate_token))
        .routes(routes!(me::me))
        .routes(routes!(accounts::list, accounts::create))
        .routes(routes!(accounts::get, accounts::update, accounts::delete))
        .routes(routes!(contacts::list, contacts::create))
        .routes(routes!(contacts::get, contacts::update, contacts::delete))
        .routes(routes!(contacts_journal_list, contacts_journal_add))
        .routes(routes!(synchronize::enable, synchronize::disable))
        .routes(routes!(leads::list, leads::create))
        .routes(routes!(leads::get, leads::update, leads::delete))
        .routes(routes!(activities::list, activities::create))
        .routes(routes!(activities::get, activities::update, activities::delete))
        .routes(routes!(participants::get, participants::replace))
        .routes(routes!(activities_journal_list, activities_journal_add))
        .routes(routes!(convert::convert))
        .routes(routes!(opportunities::list, opportunities::create))
        .routes(routes!(
            opportunities::get,
            opportunities::update,
            opportunities::delete
        ))
        .routes(routes!(cases::list, cases::create))
        .routes(routes!(cases::get, cases::update, cases::delete))
        .routes(routes!(changes::list))
        .routes(routes!(sync_profiles::status))
        .routes(routes!(sync_profiles::explain))
        .routes(routes!(sync_profiles::reset))
        .routes(routes!(sync_profiles::run))
        .routes(routes!(sync_profiles::duplicates))
        .routes(routes!(sync_untrack::untrack))
        .routes(routes!(sync_duplicates::link))
        .routes(routes!(sync_duplicates::keep_apart))
        .routes(routes!(sync_quarantine::retry))
        .routes(routes!(sync_conflicts::list))
        .routes(routes!(sync_conflicts::resolve))
        .routes(routes!(profiles::list, profiles::create))
        .routes(routes!(profiles::get, profiles::replace, profiles::delete))
        .routes(routes!(profiles::push))
        .routes(routes!(profiles::rotate_push_token))
        .routes(routes!(profile_collections::list))
        // route_layer: only matched routes authenticate, so an unknown path
        // is a plain 404 rather than a 401.
        .route_layer(from_fn_with_state(state.clone(), require_bearer))
}

// `routes!` wants each handler's `__path_` item beside it; re-export the
// journal handlers under distinct names in this module.
use journal::{
    __path_add_activity as __path_activities_journal_add, __path_add_contact as __path_contacts_journal_add,
    __path_list_activity as __path_activities_journal_list, __path_list_contact as __path_contacts_journal_list,
    add_activity as activities_journal_add, add_contact as contacts_journal_add,
    list_activity as activities_journal_list, list_contact as contacts_journal_list,
};

/// Routes anyone may call.
fn public() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi::healthz))
        .routes(routes!(openapi::openapi_json))
        // The push token in the path is the credential (no bearer token).
        .routes(routes!(push::webhook))
}

/// The request path as traces show it: a push token in the path is a
/// credential and is left out.
fn traced_path(path: &str) -> &str {
    if path.starts_with(PUSH_PREFIX) {
        "/api/v1/push/{token}"
    } else {
        path
    }
}

const PUSH_PREFIX: &str = "/api/v1/push/";

/// The routes and their OpenAPI document (completed by
/// [`crate::openapi_contract`]), before layers and state.
pub fn routes_and_document(state: &AppState) -> (Router<AppState>, serde_json::Value) {
    let (routes, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(authenticated(state))
        .merge(public())
        .split_for_parts();
    let mut document = serde_json::to_value(&document).expect("the OpenAPI document serializes");
    crate::openapi_contract::complete(&mut document);
    (routes, document)
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// The dashboard's view of this server's state: same store, profiles,
/// catalog and clock as the API.
fn web_state(state: &AppState) -> crmsync_web::WebState {
    crmsync_web::WebState {
        store: state.store.clone(),
        profiles: state.profiles.clone(),
        catalog: state.service.catalog.clone(),
        clock: state.service.clock.clone(),
        secure_cookies: state.secure_cookies,
        session_ttl: crmsync_web::DEFAULT_SESSION_TTL,
        default_pull_interval_secs: state.service.default_pull_interval_secs,
        scheduler: state.service.scheduler.clone(),
        runs: crmsync_web::RunFeed::new(state.store.clone(), state.live_poll, state.service.scheduler.clone()),
        authenticator: state.authenticator.clone(),
    }
}

/// The whole HTTP API and the dashboard, ready to serve.
pub fn router(state: AppState) -> Router {
    let (routes, document) = routes_and_document(&state);
    let api = routes
        .fallback(route_not_found)
        .layer(Extension(Document(Arc::new(document))))
        // Axum's own limit on buffered bodies; `JsonBody` turns a hit into our 413.
        .layer(DefaultBodyLimit::max(state.max_body_bytes))
        // Inside the trace, so refused requests are traced too (R-API-1, R-API-14).
        .layer(axum::middleware::from_fn(crate::request_guard::guard));
    // The dashboard's HTML pages sit beside the API, outside its JSON error
    // rewrite; an unknown path still gets the API's 404.
    // The request-line checks still apply to them, answered as plain text.
    let dashboard =
        crmsync_web::router(web_state(&state)).layer(axum::middleware::from_fn(crate::request_guard::guard_uri_only));
    api.merge(dashboard)
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Method and path only: headers (Authorization!) and query strings stay out of logs.
            tracing::info_span!("http", method = %req.method(), path = %traced_path(req.uri().path()), user_id = tracing::field::Empty)
        }))
        .with_state(state)
}
