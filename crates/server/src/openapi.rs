//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]`
//! annotations as the router is built (utoipa-axum), so the document and the
//! routes cannot drift apart.

use std::sync::Arc;

use axum::Json;
use axum::extract::Extension;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document's frame: info, tags and the bearer security scheme. Paths
/// are added by `routes::api`.
#[derive(OpenApi)]
#[openapi(
    info(title = "crmsync API", description = "The CRM side of crmsync: records, journals, sync flags, conversions and the change log."),
    modifiers(&BearerScheme),
    components(schemas(crate::error::ErrorBody)),
    tags(
        (name = "users"), (name = "accounts"), (name = "contacts"), (name = "leads"),
        (name = "activities"), (name = "opportunities"), (name = "cases"), (name = "changes"), (name = "sync"), (name = "profiles"), (name = "meta")
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The finished document, shared with the handler that serves it.
#[derive(Clone)]
pub struct Document(pub Arc<serde_json::Value>);

/// This document (no authentication needed).
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApiDocument", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json(Extension(doc): Extension<Document>) -> Json<serde_json::Value> {
    Json((*doc.0).clone())
}

/// Liveness (no authentication needed): the process answers requests.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "meta", responses((status = 200, description = "Alive", body = String)))]
pub async fn healthz() -> &'static str {
    "ok"
}
