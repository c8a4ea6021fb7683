//! crmsync-mapping: pure functions between CRM records, groupware formats
//! (vCard, iCalendar, RFC 5322 mail, Microsoft Graph JSON) and the canonical [`FieldMap`] the engine compares.
//!
//! Nothing here does I/O: inputs are strings and values, outputs too. Values
//! are parsed with `calcard`; only line boundaries are found here, so that
//! properties crmsync does not map survive byte for byte (R-MAP-6).

mod activity_fields;
mod contact_fields;
mod content_line;
mod directory;
mod email_message;
mod error;
mod fingerprint;
pub mod graph;
mod ical;
mod notes;
mod series_end;
mod text;
mod vcard;

pub use activity_fields::{
    activity_keys, activity_to_fields, fields_to_activity, join_own_response, participant_emails, split_own_response,
};
pub use contact_fields::{contact_keys, contact_to_fields, fields_to_contact};
pub use content_line::MAX_ITEM_BYTES;
pub use crmsync_model::FieldMap;
pub use directory::{EmailOnlyDirectory, ParticipantDirectory};
pub use email_message::{MailAddress, ParsedEmail, parse_email};
pub use error::{Format, MappingError};
pub use fingerprint::fingerprint;
pub use graph::{GraphResource, ParsedGraphItem, graph_comparable, graph_overlay, parse_graph, render_graph};
pub use ical::{
    CalendarComponent, IcalContext, ParsedCalendarItem, kind_category, parse_ical, parse_ical_bytes, render_ical,
};
pub use notes::{NOTES_SEPARATOR, compose_notes, join_notes, journal_text, split_notes};
pub use series_end::activity_last_moment;
pub use vcard::{CardVersion, ParsedCard, parse_vcard, parse_vcard_bytes, render_vcard};
