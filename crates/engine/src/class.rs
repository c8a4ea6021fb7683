//! The kinds of groupware collection a profile syncs, each with its own
//! policies (R-DIR-1) and deletion matrix (R-DEL).

use serde::{Deserialize, Serialize};

use crmsync_model::ActivityKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityClass {
    /// Contacts ↔ address book (R-MAP-4).
    Contacts,
    /// Appointments ↔ calendar events (R-MAP-1).
    Events,
    /// Tasks, phone calls, faxes, letters ↔ VTODO (R-MAP-2).
    Tasks,
    /// E-mail activities ↔ mail messages (R-MAP-3).
    Mail,
}

impl EntityClass {
    pub const ALL: [EntityClass; 4] = [
        EntityClass::Contacts,
        EntityClass::Events,
        EntityClass::Tasks,
        EntityClass::Mail,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityClass::Contacts => "contacts",
            EntityClass::Events => "events",
            EntityClass::Tasks => "tasks",
            EntityClass::Mail => "mail",
        }
    }

    /// Which class an activity of `kind` travels in.
    pub fn for_activity(kind: ActivityKind) -> EntityClass {
        match kind {
            ActivityKind::Appointment => EntityClass::Events,
            ActivityKind::Email => EntityClass::Mail,
            _ => EntityClass::Tasks,
        }
    }

    pub fn is_activity(self) -> bool {
        self != EntityClass::Contacts
    }
}

impl std::fmt::Display for EntityClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
