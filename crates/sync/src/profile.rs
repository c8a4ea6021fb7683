use std::sync::Arc;

use crmsync_connector::{CollectionChoice, CollectionKind, Connector};
use crmsync_engine::EntityClass;
use crmsync_model::Actor;

use crate::mail::MailProfile;

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
    /// The mail side (SPEC §10), when the profile tracks e-mail.
    pub mail: Option<MailProfile>,
    /// Existing collections the profile names per class (R-COL-1); empty:
    /// crmsync's own, created when missing (R-COL-2).
    pub collections: CollectionChoice,
}

impl std::fmt::Debug for SyncProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connector may hold credentials: never print it.
        f.debug_struct("SyncProfile")
            .field("name", &self.name)
            .field("user", &self.actor.user_id)
            .field("classes", &self.classes)
            .field("mail", &self.mail)
            .field("collections", &self.collections)
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
            mail: None,
            collections: CollectionChoice::default(),
        }
    }

    /// Tracks e-mail as well (the Mail class runs after the others).
    pub fn with_mail(mut self, mail: MailProfile) -> Self {
        self.mail = Some(mail);
        if !self.classes.contains(&EntityClass::Mail) {
            self.classes.push(EntityClass::Mail);
        }
        self
    }

    /// Tracks e-mail only: no contacts, events or tasks.
    pub fn mail_only(mut self, mail: MailProfile) -> Self {
        self.classes.clear();
        self.with_mail(mail)
    }

    /// Uses the named existing collections (R-COL-1).
    pub fn with_collections(mut self, collections: CollectionChoice) -> Self {
        self.collections = collections;
        self
    }

    /// Sets [`SyncProfile::write_concurrency`], usually to
    /// [`write_concurrency_for`] of the connector's own request limit.
    pub fn with_write_concurrency(mut self, n: usize) -> Self {
        self.write_concurrency = n.clamp(1, MAX_WRITE_CONCURRENCY);
        self
    }
}

/// The writes a run keeps in flight for a connector that allows
/// `connector_requests` requests at once (a DAV profile's `concurrency`,
/// R-CFG-DAV-1): twice that, so the connector's slots never wait for the
/// runner. `None` is a connector without such a limit (a local vdir): the
/// default (R-SYNC-PERF-2).
pub fn write_concurrency_for(connector_requests: Option<usize>) -> usize {
    match connector_requests {
        Some(n) => n.clamp(1, MAX_WRITE_CONCURRENCY / 2) * 2,
        None => DEFAULT_WRITE_CONCURRENCY,
    }
}

/// The most writes one run keeps in flight, whatever a profile asks for:
/// twice the DAV connector's largest `concurrency` (R-CFG-DAV-2).
pub const MAX_WRITE_CONCURRENCY: usize = 128;

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

#[cfg(test)]
mod tests {
    use super::*;

    // R-SYNC-PERF-4, R-SYNC-PERF-2, R-CFG-DAV-1
    #[test]
    fn writes_in_flight_follow_the_connectors_request_limit() {
        assert_eq!(write_concurrency_for(Some(4)), DEFAULT_WRITE_CONCURRENCY);
        assert_eq!(
            write_concurrency_for(Some(1)),
            2,
            "a fragile server keeps few writes waiting"
        );
        assert_eq!(
            write_concurrency_for(Some(16)),
            32,
            "a fast server is not held back by the runner"
        );
        assert_eq!(write_concurrency_for(None), DEFAULT_WRITE_CONCURRENCY, "vdir");
    }
}
