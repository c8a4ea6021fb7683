//! ORGANIZER / ATTENDEE ↔ the canonical participant list, matched by
//! e-mail (R-CAL-2). Display names (CN) are not compared: they differ
//! between address books and are not an edit of the meeting.

use calcard::icalendar::{
    ICalendarEntry, ICalendarParameter, ICalendarParameterName, ICalendarParameterValue, ICalendarParticipationRole,
    ICalendarParticipationStatus, ICalendarProperty, ICalendarUserTypes, ICalendarValue, Uri,
};
use crmsync_model::{ParticipantRole, ResponseStatus};
use serde::{Deserialize, Serialize};

/// One participant in the FieldMap's `participants` JSON. The organizer's
/// response is left out: organizers attend implicitly, and clients differ
/// in whether they list the organizer as an attendee at all.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct MappedParticipant {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    pub role: String,
}

pub(crate) fn normalize_email(s: &str) -> Option<String> {
    let s = s.trim();
    let s = match s.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => &s[7..],
        _ => s,
    };
    let s = s.trim().to_lowercase();
    s.contains('@').then_some(s)
}

pub(crate) fn role_str(role: ParticipantRole) -> &'static str {
    match role {
        ParticipantRole::Organizer => "organizer",
        ParticipantRole::Required => "required",
        ParticipantRole::Optional => "optional",
    }
}

pub(crate) fn role_from_str(s: &str) -> ParticipantRole {
    match s {
        "organizer" => ParticipantRole::Organizer,
        "optional" => ParticipantRole::Optional,
        _ => ParticipantRole::Required,
    }
}

pub(crate) fn response_str(r: ResponseStatus) -> &'static str {
    match r {
        ResponseStatus::NeedsAction => "needs_action",
        ResponseStatus::Accepted => "accepted",
        ResponseStatus::Declined => "declined",
        ResponseStatus::Tentative => "tentative",
    }
}

pub(crate) fn response_from_str(s: &str) -> ResponseStatus {
    match s {
        "accepted" => ResponseStatus::Accepted,
        "declined" => ResponseStatus::Declined,
        "tentative" => ResponseStatus::Tentative,
        _ => ResponseStatus::NeedsAction,
    }
}

/// The address of an ORGANIZER/ATTENDEE: the mailto: value, or the EMAIL
/// parameter (RFC 7986) when the value is another kind of URI.
pub(crate) fn entry_email(entry: &ICalendarEntry) -> Option<String> {
    let value = match entry.values.first()? {
        ICalendarValue::Uri(Uri::Location(v)) | ICalendarValue::Text(v) => v.clone(),
        _ => String::new(),
    };
    normalize_email(&value).or_else(|| {
        entry
            .parameter(&ICalendarParameterName::Email)
            .and_then(|v| v.as_text())
            .and_then(normalize_email)
    })
}

/// Rooms and resources are not people: they stay foreign lines.
pub(crate) fn is_person(entry: &ICalendarEntry) -> bool {
    !matches!(
        entry.parameter(&ICalendarParameterName::Cutype),
        Some(ICalendarParameterValue::Cutype(
            ICalendarUserTypes::Room | ICalendarUserTypes::Resource
        ))
    )
}

pub(crate) fn attendee_role(entry: &ICalendarEntry) -> &'static str {
    match entry.parameter(&ICalendarParameterName::Role) {
        Some(ICalendarParameterValue::Role(
            ICalendarParticipationRole::OptParticipant | ICalendarParticipationRole::NonParticipant,
        )) => "optional",
        _ => "required",
    }
}

pub(crate) fn attendee_response(entry: &ICalendarEntry) -> &'static str {
    match entry.parameter(&ICalendarParameterName::Partstat) {
        Some(ICalendarParameterValue::Partstat(ICalendarParticipationStatus::Accepted)) => "accepted",
        Some(ICalendarParameterValue::Partstat(ICalendarParticipationStatus::Declined)) => "declined",
        Some(ICalendarParameterValue::Partstat(ICalendarParticipationStatus::Tentative)) => "tentative",
        _ => "needs_action",
    }
}

pub(crate) fn to_json(mut list: Vec<MappedParticipant>) -> String {
    list.sort();
    list.dedup_by(|a, b| a.email == b.email);
    if list.is_empty() {
        return String::new();
    }
    serde_json::to_string(&list).unwrap_or_default()
}

pub(crate) fn from_json(s: Option<&str>) -> Vec<MappedParticipant> {
    s.and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default()
}

fn set_param(params: &mut Vec<ICalendarParameter>, name: ICalendarParameterName, value: ICalendarParameterValue) {
    params.retain(|p| p.name != name);
    params.push(ICalendarParameter { name, value });
}

fn role_value(role: &str) -> ICalendarParticipationRole {
    if role == "optional" {
        ICalendarParticipationRole::OptParticipant
    } else {
        ICalendarParticipationRole::ReqParticipant
    }
}

fn partstat_value(response: &str) -> ICalendarParticipationStatus {
    match response {
        "accepted" => ICalendarParticipationStatus::Accepted,
        "declined" => ICalendarParticipationStatus::Declined,
        "tentative" => ICalendarParticipationStatus::Tentative,
        _ => ICalendarParticipationStatus::NeedsAction,
    }
}

/// An existing ATTENDEE with new role and/or response; every other
/// parameter (CN, RSVP, SCHEDULE-*, X-…) is kept.
pub(crate) fn update_attendee(entry: &ICalendarEntry, role: Option<&str>, response: Option<&str>) -> ICalendarEntry {
    let mut e = entry.clone();
    if let Some(role) = role {
        set_param(
            &mut e.params,
            ICalendarParameterName::Role,
            ICalendarParameterValue::Role(role_value(role)),
        );
    }
    if let Some(response) = response {
        set_param(
            &mut e.params,
            ICalendarParameterName::Partstat,
            ICalendarParameterValue::Partstat(partstat_value(response)),
        );
    }
    e
}

pub(crate) fn new_attendee(email: &str, name: Option<&str>, role: &str, response: &str) -> ICalendarEntry {
    let mut params = Vec::new();
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Cn,
            value: ICalendarParameterValue::Text(name.to_string()),
        });
    }
    params.push(ICalendarParameter {
        name: ICalendarParameterName::Role,
        value: ICalendarParameterValue::Role(if role == "organizer" {
            ICalendarParticipationRole::Chair
        } else {
            role_value(role)
        }),
    });
    params.push(ICalendarParameter {
        name: ICalendarParameterName::Partstat,
        value: ICalendarParameterValue::Partstat(partstat_value(response)),
    });
    if response == "needs_action" {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Rsvp,
            value: ICalendarParameterValue::Bool(true),
        });
    }
    ICalendarEntry {
        name: ICalendarProperty::Attendee,
        params,
        values: vec![ICalendarValue::Uri(Uri::Location(format!("mailto:{email}")))],
    }
}

pub(crate) fn new_organizer(email: &str, name: Option<&str>) -> ICalendarEntry {
    let mut params = Vec::new();
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Cn,
            value: ICalendarParameterValue::Text(name.to_string()),
        });
    }
    ICalendarEntry {
        name: ICalendarProperty::Organizer,
        params,
        values: vec![ICalendarValue::Uri(Uri::Location(format!("mailto:{email}")))],
    }
}
