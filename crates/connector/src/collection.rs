//! What a connector reports about one collection of a mailbox.

use serde::{Deserialize, Serialize};

use crate::CollectionId;

/// Which CRM entities a collection can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionKind {
    Contacts,
    Events,
    Tasks,
    /// A calendar that accepts both VEVENT and VTODO (common for CalDAV, vdir).
    EventsAndTasks,
}

impl CollectionKind {
    /// The media type of items in a collection of this kind.
    pub fn content_type(self) -> ContentType {
        match self {
            CollectionKind::Contacts => ContentType::VCard,
            _ => ContentType::ICalendar,
        }
    }

    /// Whether a collection of kind `self` can stand in where `wanted` was asked
    /// for (an events+tasks calendar serves both events and tasks).
    pub fn serves(self, wanted: CollectionKind) -> bool {
        self == wanted
            || (self == CollectionKind::EventsAndTasks
                && matches!(wanted, CollectionKind::Events | CollectionKind::Tasks))
    }
}

/// Media type of a collection's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentType {
    /// `text/vcard`
    VCard,
    /// `text/calendar`
    ICalendar,
    /// Microsoft Graph JSON of the collection's resource (contact, event,
    /// todoTask): the Graph connector's items; the runner maps them with
    /// `crmsync_mapping::graph` instead of vCard/iCalendar.
    GraphJson,
}

impl ContentType {
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::VCard => "text/vcard",
            ContentType::ICalendar => "text/calendar",
            ContentType::GraphJson => "application/json",
        }
    }

    /// The file extension vdir and most servers use for this type.
    pub fn file_extension(self) -> &'static str {
        match self {
            ContentType::VCard => "vcf",
            ContentType::ICalendar => "ics",
            ContentType::GraphJson => "json",
        }
    }
}

/// vCard version a collection expects; crmsync writes the server's version (R-MAP-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VCardVersion {
    V3,
    V4,
}

/// One collection of a mailbox as discovered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    pub id: CollectionId,
    pub display_name: String,
    pub kind: CollectionKind,
    pub content_type: ContentType,
    /// Known only for contact collections whose server says (or whose items show) it.
    pub vcard_version: Option<VCardVersion>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_and_tasks_calendar_serves_both_but_not_contacts() {
        let both = CollectionKind::EventsAndTasks;
        assert!(both.serves(CollectionKind::Events));
        assert!(both.serves(CollectionKind::Tasks));
        assert!(!both.serves(CollectionKind::Contacts));
        assert!(!CollectionKind::Events.serves(CollectionKind::Tasks));
        assert_eq!(CollectionKind::Contacts.content_type().file_extension(), "vcf");
        assert_eq!(CollectionKind::Tasks.content_type().mime(), "text/calendar");
    }
}
