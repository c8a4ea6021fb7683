//! What a mailbox holds, for choosing collections (R-COL-3): every
//! collection discovery finds (DAV collections, vdir folders) with its kind
//! and components, and which one each of the profile's classes uses.

use crmsync_connector::{Collection, CollectionKind};
use crmsync_engine::EntityClass;
use crmsync_store::Store;
use serde::Serialize;

use crate::SyncError;
use crate::profile::{SyncProfile, collection_kind, collection_name};

/// One collection of the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionEntry {
    /// The collection's path on a DAV server, its folder name in a vdir:
    /// what `collections.<class>` takes.
    pub href: String,
    pub display_name: String,
    /// `address-book` or `calendar`.
    pub kind: &'static str,
    /// A calendar's components (`VEVENT`, `VTODO`); empty for an address book.
    pub components: Vec<&'static str>,
    /// The profile's classes that use it (`contacts`, `calendar`, `tasks`).
    pub used_for: Vec<&'static str>,
}

/// Which collection one class uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassCollection {
    /// `contacts`, `calendar` or `tasks`.
    pub class: &'static str,
    /// What the profile's `collections.<class>` names; `null`: crmsync's own.
    pub chosen: Option<String>,
    /// The collection in use or to be used; `null` when none is yet.
    pub href: Option<String>,
    /// What happens or went wrong, in words.
    pub note: String,
}

/// The answer of `crmsync collections` and its API route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionListing {
    pub profile: String,
    pub collections: Vec<CollectionEntry>,
    pub classes: Vec<ClassCollection>,
}

/// Lists the mailbox's collections and, per class, which one the profile
/// uses: the named one (R-COL-1), the remembered one, or crmsync's own by
/// name (R-COL-2). Writes nothing, creates nothing.
pub async fn list_collections(store: &Store, profile: &SyncProfile) -> Result<CollectionListing, SyncError> {
    let discovered = profile.connector.discover().await?;
    let mut classes = Vec::new();
    for &class in &profile.classes {
        if collection_kind(class).is_some() {
            classes.push(class_collection(store, profile, &discovered, class).await?);
        }
    }
    let collections = discovered
        .iter()
        .map(|c| CollectionEntry {
            href: c.id.as_str().to_string(),
            display_name: c.display_name.clone(),
            kind: if c.kind == CollectionKind::Contacts {
                "address-book"
            } else {
                "calendar"
            },
            components: components(c.kind),
            used_for: classes
                .iter()
                .filter(|u| u.href.as_deref() == Some(c.id.as_str()))
                .map(|u| u.class)
                .collect(),
        })
        .collect();
    Ok(CollectionListing {
        profile: profile.name.clone(),
        collections,
        classes,
    })
}

fn components(kind: CollectionKind) -> Vec<&'static str> {
    match kind {
        CollectionKind::Contacts => vec![],
        CollectionKind::Events => vec!["VEVENT"],
        CollectionKind::Tasks => vec!["VTODO"],
        CollectionKind::EventsAndTasks => vec!["VEVENT", "VTODO"],
    }
}

async fn class_collection(
    store: &Store,
    profile: &SyncProfile,
    discovered: &[Collection],
    class: EntityClass,
) -> Result<ClassCollection, SyncError> {
    let name = collection_name(class);
    let chosen = profile.collections.get(name).map(str::to_string);
    let (href, note) = match &chosen {
        Some(wanted) => match crate::choice::resolve(profile, class, wanted, discovered) {
            Ok(c) => (Some(c.id.as_str().to_string()), "named by the profile".to_string()),
            Err(SyncError::Profile { message, .. }) => (None, message),
            Err(e) => return Err(e),
        },
        None => {
            let remembered = store
                .sync_state()
                .remembered_collection(&profile.name, name)
                .await?
                .and_then(|json| serde_json::from_str::<Collection>(&json).ok())
                .filter(|r| discovered.iter().any(|c| c.id == r.id));
            match remembered {
                Some(c) => (Some(c.id.as_str().to_string()), "synced by earlier runs".to_string()),
                None => match crate::runner::pick_collection(profile, discovered, class, false).await? {
                    Some(c) => (Some(c.id.as_str().to_string()), format!("crmsync's own `{name}`")),
                    None => (None, format!("crmsync creates its own `{name}` at the first sync")),
                },
            }
        }
    };
    Ok(ClassCollection {
        class: name,
        chosen,
        href,
        note,
    })
}
