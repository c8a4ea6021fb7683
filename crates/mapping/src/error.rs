//! The one error type of the mapping. Every variant is *permanent*: the same
//! bytes always fail the same way, so retrying cannot help; the item has to be
//! fixed or re-saved in the client. The sync runner quarantines such items
//! with this message (R-SAFE-4) and goes on with the rest of the run.

use std::fmt;

/// Which format an error is about, so messages name what the user sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    VCard,
    ICalendar,
    /// An RFC 5322 mail message.
    Email,
    /// Microsoft Graph JSON (contact, event, todoTask).
    GraphJson,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::VCard => "vCard",
            Format::ICalendar => "iCalendar",
            Format::Email => "e-mail",
            Format::GraphJson => "Graph JSON",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// Not UTF-8: binary data or a wrong charset.
    #[error(
        "{format} item is not UTF-8 text (first bad byte at offset {offset}); re-export it from the client as UTF-8"
    )]
    NotText { format: Format, offset: usize },

    /// Larger than [`crate::MAX_ITEM_BYTES`]; refused rather than parsed (R-MAP-7 in docs/RULES.md).
    #[error(
        "{format} item is {size} bytes, more than the {limit} bytes crmsync accepts; shorten its notes or attachments in the client"
    )]
    TooLarge { format: Format, size: usize, limit: usize },

    /// A CRM record whose item would be larger than [`crate::MAX_ITEM_BYTES`]:
    /// not written, since crmsync (and many servers) would refuse to read it
    /// back (R-MAP-18 in docs/RULES.md).
    #[error(
        "the {format} item for this CRM record would be {size} bytes, more than the {limit} bytes crmsync writes; shorten the record's notes or photo in the CRM"
    )]
    TooLargeToWrite { format: Format, size: usize, limit: usize },

    /// Structure is broken: a line without `:`, a continuation line with
    /// nothing to continue, control characters, unbalanced BEGIN/END.
    #[error("{format} line {line}: {message}")]
    Malformed {
        format: Format,
        line: usize,
        message: String,
    },

    /// The item has no UID, so it cannot be paired or written back safely.
    #[error("{format} item has no UID; open and re-save it in the client so it gets one")]
    MissingUid { format: Format },

    #[error("{format} line {line}: {property} holds an invalid date or time {value:?}; correct it in the client")]
    InvalidDate {
        format: Format,
        line: usize,
        property: String,
        value: String,
    },

    /// A TZID that is neither an IANA/Windows zone name nor a VTIMEZONE that
    /// names one. Refused instead of guessed: a wrong guess would move the
    /// meeting by hours in the CRM (R-MAP-8 in docs/RULES.md).
    #[error(
        "{format} line {line}: {property} uses unknown time zone {tzid:?}; pick a named time zone for the event in the client"
    )]
    UnknownTimeZone {
        format: Format,
        line: usize,
        property: String,
        tzid: String,
    },

    /// The item holds something else than expected (a VJOURNAL where a
    /// VEVENT/VTODO belongs, a calendar in an address book, two cards).
    #[error("{format} item: expected {expected}, found {found}")]
    WrongComponent {
        format: Format,
        expected: String,
        found: String,
    },
}

impl MappingError {
    /// Mapping errors never go away by retrying: they depend only on the item's bytes.
    pub fn is_transient(&self) -> bool {
        false
    }

    /// The 1-based line of the item the error is about, where there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            MappingError::Malformed { line, .. }
            | MappingError::InvalidDate { line, .. }
            | MappingError::UnknownTimeZone { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The property name the error is about, where there is one.
    pub fn property(&self) -> Option<&str> {
        match self {
            MappingError::InvalidDate { property, .. } | MappingError::UnknownTimeZone { property, .. } => {
                Some(property)
            }
            _ => None,
        }
    }

    pub(crate) fn malformed(format: Format, line: usize, message: impl Into<String>) -> Self {
        MappingError::Malformed {
            format,
            line,
            message: message.into(),
        }
    }
}
