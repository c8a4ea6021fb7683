use std::sync::Arc;

use crmsync_connector::{CollectionKind, Connector};
use crmsync_engine::EntityClass;
use crmsync_model::Actor;

/// A profile ready to run: the CRM user it acts for, the engine's rules and
/// the connector to its mailbox.
#[derive(Clone)]
pub struct SyncProfile {
    pub name: String,
    pub actor: Actor,
    pub rules: crmsync_engine::Profile,
    pub connector: Arc<dyn Connector>,
    /// The entity classes this profile syncs, in the order they run.
    pub classes: Vec<EntityClass>,
    /// How many items' writes may be in flight at once while a plan is
    /// applied (R-SYNC-PERF-2). A DAV connector still caps its own requests
    /// at its `concurrency`; this only keeps enough of them waiting.
    pub write_concurrency: usize,
}

impl std::fmt::Debug for SyncProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connector may hold credentials: never print it.
        f.debug_struct("SyncProfile")
            .field("name", &self.name)
            .field("user", &self.actor.user_id)
            .field("classes", &self.classes)
            .finish_non_exhaustive()
    }
}

impl SyncProfile {
    pub fn new(
        name: impl Into<String>,
        actor: Actor,
        rules: crmsync_engine::Profile,
        connector: Arc<dyn Connector>,
    ) -> Self {
        SyncProfile {
            name: name.into(),
            actor,
            rules,
            connector,
            classes: vec![EntityClass::Contacts, EntityClass::Events, EntityClass::Tasks],
            write_concurrency: DEFAULT_WRITE_CONCURRENCY,
        }
    }
}

/// Twice the DAV connector's default of 4 requests, so its slots never wait
/// for the runner; a local vdir overlaps its fsyncs as well.
pub const DEFAULT_WRITE_CONCURRENCY: usize = 8;

/// The groupware collection a class lives in: `contacts`, `calendar`, `tasks`
/// (the folder names khard and khal users expect in a vdir).
pub fn collection_name(class: EntityClass) -> &'static str {
    match class {
        EntityClass::Contacts => "contacts",
        EntityClass::Events => "calendar",
        EntityClass::Tasks => "tasks",
        EntityClass::Mail => "mail",
    }
}

pub(crate) fn collection_kind(class: EntityClass) -> Option<CollectionKind> {
    match class {
        EntityClass::Contacts => Some(CollectionKind::Contacts),
        EntityClass::Events => Some(CollectionKind::Events),
        EntityClass::Tasks => Some(CollectionKind::Tasks),
        EntityClass::Mail => None,
    }
}
