//! `GET /profiles/{name}/collections` (R-COL-3): the collections of a
//! profile's mailbox and which one each class uses, as `crmsync collections`
//! prints them. The caller must be allowed to operate the profile (R-OPS-2).

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::routes::sync_access::{from_sync, ready, visible_profile};
use crate::state::AppState;
use crate::sync::{CollectionListing, list_collections};

/// One collection of the mailbox.
#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionView {
    /// Its path on a DAV server, its folder name in a vdir: what the
    /// connector's `collections.<class>` takes.
    pub href: String,
    pub display_name: String,
    /// `address-book` or `calendar`.
    pub kind: String,
    /// A calendar's components (`VEVENT`, `VTODO`); empty for an address book.
    pub components: Vec<String>,
    /// The profile's classes that use it (`contacts`, `calendar`, `tasks`).
    pub used_for: Vec<String>,
}

/// Which collection one class uses.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassCollectionView {
    /// `contacts`, `calendar` or `tasks`.
    pub class: String,
    /// What the connector's `collections.<class>` names; absent: crmsync's own.
    pub chosen: Option<String>,
    /// The collection in use or to be used; absent when none is yet.
    pub href: Option<String>,
    /// What happens, or why the named collection cannot be used.
    pub note: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CollectionsView {
    pub profile: String,
    pub collections: Vec<CollectionView>,
    pub classes: Vec<ClassCollectionView>,
}

impl From<CollectionListing> for CollectionsView {
    fn from(l: CollectionListing) -> Self {
        let strings = |v: Vec<&'static str>| v.into_iter().map(String::from).collect();
        CollectionsView {
            profile: l.profile,
            collections: l
                .collections
                .into_iter()
                .map(|c| CollectionView {
                    href: c.href,
                    display_name: c.display_name,
                    kind: c.kind.to_string(),
                    components: strings(c.components),
                    used_for: strings(c.used_for),
                })
                .collect(),
            classes: l
                .classes
                .into_iter()
                .map(|u| ClassCollectionView {
                    class: u.class.to_string(),
                    chosen: u.chosen,
                    href: u.href,
                    note: u.note,
                })
                .collect(),
        }
    }
}

/// R-COL-3: lists the mailbox's collections (address books, calendars with
/// their components, vdir folders) and which one each class uses.
#[utoipa::path(get, path = "/api/v1/profiles/{name}/collections", operation_id = "listProfileCollections", tag = "profiles",
    params(("name" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CollectionsView),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such profile the caller may see", body = ErrorBody),
        (status = 502, description = "The groupware refused (the message says what to do)", body = ErrorBody),
        (status = 503, description = "Store or groupware unavailable; retry", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<CollectionsView>, ApiError> {
    let info = visible_profile(&state, &caller, &name).await?;
    let profile = ready(&state, &info).await?;
    let listing = list_collections(&state.store, &profile).await.map_err(from_sync)?;
    Ok(Json(listing.into()))
}
