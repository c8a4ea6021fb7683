//! Which Graph folder a [`CollectionId`] names, and the URLs of its items.
//! A collection id is `contacts:{contactFolder id}`, `events:{calendar id}`
//! or `tasks:{todoTaskList id}`.

use crmsync_connector::{CollectionId, CollectionKind, ConnectorError, Href};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// What may not appear raw in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'?')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

pub(crate) fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    Contacts,
    Events,
    Tasks,
}

impl Resource {
    pub(crate) const ALL: [Resource; 3] = [Resource::Contacts, Resource::Events, Resource::Tasks];

    fn prefix(self) -> &'static str {
        match self {
            Resource::Contacts => "contacts",
            Resource::Events => "events",
            Resource::Tasks => "tasks",
        }
    }

    /// The folders of this resource under `/users/{id}/`.
    pub(crate) fn folders_path(self) -> &'static str {
        match self {
            Resource::Contacts => "contactFolders",
            Resource::Events => "calendars",
            Resource::Tasks => "todo/lists",
        }
    }

    /// The property holding a folder's name (calendars call it `name`).
    pub(crate) fn name_key(self) -> &'static str {
        match self {
            Resource::Events => "name",
            _ => "displayName",
        }
    }

    pub(crate) fn kind(self) -> CollectionKind {
        match self {
            Resource::Contacts => CollectionKind::Contacts,
            Resource::Events => CollectionKind::Events,
            Resource::Tasks => CollectionKind::Tasks,
        }
    }

    pub(crate) fn for_kind(kind: CollectionKind) -> Option<Resource> {
        match kind {
            CollectionKind::Contacts => Some(Resource::Contacts),
            CollectionKind::Events => Some(Resource::Events),
            CollectionKind::Tasks => Some(Resource::Tasks),
            // Graph keeps events in calendars and tasks in To Do lists.
            CollectionKind::EventsAndTasks => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Folder {
    pub resource: Resource,
    pub id: String,
}

impl Folder {
    pub(crate) fn collection_id(&self) -> CollectionId {
        CollectionId::new(format!("{}:{}", self.resource.prefix(), self.id))
    }

    pub(crate) fn parse(collection: &CollectionId) -> Result<Folder, ConnectorError> {
        let (prefix, id) = collection.as_str().split_once(':').unwrap_or(("", ""));
        let resource = Resource::ALL.into_iter().find(|r| r.prefix() == prefix);
        match resource {
            Some(resource) if !id.is_empty() => Ok(Folder {
                resource,
                id: id.to_string(),
            }),
            _ => Err(ConnectorError::NotFound {
                what: format!("collection {collection} (not a Graph folder id)"),
            }),
        }
    }

    /// The folder's items, relative to `/users/{id}/`.
    pub(crate) fn items_path(&self) -> String {
        let id = segment(&self.id);
        match self.resource {
            Resource::Contacts => format!("contactFolders/{id}/contacts"),
            Resource::Events => format!("calendars/{id}/events"),
            Resource::Tasks => format!("todo/lists/{id}/tasks"),
        }
    }

    pub(crate) fn item_path(&self, href: &Href) -> String {
        format!("{}/{}", self.items_path(), segment(href.as_str()))
    }

    /// Where a delta round starts, relative to `/users/{id}/` (events add the window).
    pub(crate) fn delta_path(&self) -> String {
        let id = segment(&self.id);
        match self.resource {
            Resource::Contacts => format!("contactFolders/{id}/contacts/delta"),
            // https://learn.microsoft.com/en-us/graph/delta-query-events
            Resource::Events => format!("calendars/{id}/calendarView/delta"),
            Resource::Tasks => format!("todo/lists/{id}/tasks/delta"),
        }
    }

    /// `$expand` that brings crmsync's UID (and a task's CRM type) with the item.
    pub(crate) fn expand(&self) -> String {
        match self.resource {
            Resource::Tasks => "extensions".to_string(),
            Resource::Events => format!(
                "singleValueExtendedProperties($filter=id eq '{}')",
                crate::uid::UID_PROPERTY
            ),
            Resource::Contacts => format!(
                "singleValueExtendedProperties($filter=id eq '{}' or id eq '{}' or id eq '{}')",
                crate::uid::UID_PROPERTY,
                crate::uid::FAX_PROPERTY,
                crate::uid::OTHER_PHONE_PROPERTY
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collection_ids_round_trip_and_foreign_ones_are_not_found() {
        let folder = Folder {
            resource: Resource::Events,
            id: "AAMk=a/b".into(),
        };
        assert_eq!(Folder::parse(&folder.collection_id()).unwrap(), folder);
        assert_eq!(folder.items_path(), "calendars/AAMk=a%2Fb/events");
        assert!(matches!(
            Folder::parse(&CollectionId::new("contacts")),
            Err(ConnectorError::NotFound { .. })
        ));
    }
}
