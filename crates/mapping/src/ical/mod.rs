//! iCalendar ↔ FieldMap: appointments as VEVENT (R-MAP-1, R-FIELD-3),
//! tasks, phone calls, faxes and letters as VTODO (R-MAP-2, R-MAP-5,
//! R-FIELD-4), series with their exceptions (R-CAL-4).

mod lines;
mod participants;
mod read;
mod recurrence;
mod render;
mod time;

use chrono::{DateTime, Utc};
use crmsync_model::{ActivityFields, ActivityKind, FieldMap};

use crate::content_line::check_bytes;
use crate::directory::ParticipantDirectory;
use crate::error::{Format, MappingError};
pub(crate) use participants::{
    MappedParticipant, normalize_email, response_from_str, response_str, role_from_str, role_str,
};
pub(crate) use recurrence::{FullOverride, MappedOverride, MappedRecurrence, Master, normalize_rule};
pub use render::{IcalContext, render_ical};
pub(crate) use time::{Moment, local_to_utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarComponent {
    Event,
    Todo,
}

impl CalendarComponent {
    pub fn for_kind(kind: ActivityKind) -> CalendarComponent {
        if kind.is_task_like() {
            CalendarComponent::Todo
        } else {
            CalendarComponent::Event
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CalendarComponent::Event => "VEVENT",
            CalendarComponent::Todo => "VTODO",
        }
    }
}

/// The category that names a task-like kind in groupware (R-MAP-5), so the
/// type survives clients that drop `X-CRMSYNC-TYPE`.
pub fn kind_category(kind: ActivityKind) -> Option<&'static str> {
    match kind {
        ActivityKind::PhoneCall => Some("Phone call"),
        ActivityKind::Fax => Some("Fax"),
        ActivityKind::Letter => Some("Letter"),
        _ => None,
    }
}

/// One calendar object (an event or task series with its overrides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCalendarItem {
    pub component: CalendarComponent,
    pub kind: ActivityKind,
    pub fields: FieldMap,
    pub uid: String,
    /// LAST-MODIFIED of the master, when readable (R-EDIT-3 newest-wins).
    pub last_modified: Option<DateTime<Utc>>,
    /// IANA zone the item was planned in (its DTSTART's TZID), when it has one.
    pub time_zone: Option<String>,
}

impl ParsedCalendarItem {
    /// The activity this item describes, on top of `base` (for a new
    /// record: `ActivityFields::new(item.kind, "")`). Sets the time zone
    /// from the item when the FieldMap does not carry one.
    pub fn to_activity(&self, base: &ActivityFields, dir: &dyn ParticipantDirectory) -> ActivityFields {
        let mut activity = crate::activity_fields::fields_to_activity(&self.fields, base, dir);
        if activity.time_zone.is_none() {
            activity.time_zone = self.time_zone.clone();
        }
        activity
    }
}

pub fn parse_ical(text: &str) -> Result<ParsedCalendarItem, MappingError> {
    let layout = read::CalLayout::read(text)?;
    let result = read::read_item(&layout)?;
    Ok(ParsedCalendarItem {
        component: layout.component,
        kind: result.kind,
        fields: result.fields,
        uid: layout.uid.clone(),
        last_modified: result.last_modified,
        time_zone: result.time_zone,
    })
}

/// Like [`parse_ical`], for bytes straight from a server or file.
pub fn parse_ical_bytes(bytes: &[u8]) -> Result<ParsedCalendarItem, MappingError> {
    parse_ical(check_bytes(Format::ICalendar, bytes)?)
}

/// `UTC` and its aliases name no zone a user planned in: such times are
/// plain instants (R-MAP-19).
pub(crate) fn is_utc_name(zone: &str) -> bool {
    matches!(
        zone,
        "UTC" | "Etc/UTC" | "Etc/GMT" | "GMT" | "Etc/Universal" | "Etc/Zulu" | "Universal" | "Zulu"
    )
}

pub(crate) fn participants_json(list: Vec<MappedParticipant>) -> String {
    participants::to_json(list)
}

pub(crate) fn participants_from_json(s: Option<&str>) -> Vec<MappedParticipant> {
    participants::from_json(s)
}
