//! R-FIELD-3 / R-FIELD-4: a CRM activity as the canonical FieldMap and back.
//!
//! Keys are ActivityFields' names. What a kind cannot carry in groupware is
//! left out of its map and kept from `base` on the way back: a task's end,
//! an appointment's due date and percentage, a task's participants
//! (attendees on a VTODO would make servers send invitations).

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use crmsync_model::fields::keys;
use crmsync_model::{
    ActivityFields, ActivityKind, ActivityState, EntityKind, FieldMap, OccurrenceOverride, Participant,
    ParticipantSyncStatus, Privacy, RecordRef, Recurrence,
};

use crate::directory::ParticipantDirectory;
use crate::ical::{
    FullOverride, MappedParticipant, MappedRecurrence, Master, Moment, normalize_email, response_from_str,
    response_str, role_from_str, role_str,
};
use crate::text::{join_sorted, norm_line, norm_multiline, opt_line, split_list};

/// Every key an activity map can hold.
pub fn activity_keys() -> Vec<&'static str> {
    vec![
        "kind",
        "ical_uid",
        "subject",
        "description",
        "journal",
        "location",
        "state",
        "start",
        "end",
        "due",
        "completed_at",
        "all_day",
        "time_zone",
        "recurrence",
        "priority",
        "percent_complete",
        "categories",
        "privacy",
        "reminder_minutes",
        "regarding",
        "participants",
        "own_response",
        "message_id",
    ]
}

fn zone(a: &ActivityFields) -> Option<chrono_tz::Tz> {
    a.time_zone.as_deref().and_then(|z| chrono_tz::Tz::from_str(z).ok())
}

/// An instant as the map shows it: the day (in the activity's zone) for
/// all-day activities, else the instant in UTC (R-MAP-11 in docs/RULES.md).
fn moment(t: DateTime<Utc>, all_day: bool, tz: Option<chrono_tz::Tz>) -> Moment {
    if !all_day {
        return Moment::Instant(t);
    }
    Moment::Date(match tz {
        Some(tz) => t.with_timezone(&tz).date_naive(),
        None => t.date_naive(),
    })
}

/// The inverse: a day becomes midnight of that day in the activity's zone.
fn instant(m: Moment, tz: Option<chrono_tz::Tz>) -> DateTime<Utc> {
    match (m, tz) {
        (Moment::Instant(t), _) => t,
        (Moment::Date(d), Some(tz)) => midnight(d, tz),
        (Moment::Date(d), None) => Moment::Date(d).as_instant(),
    }
}

fn midnight(d: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| naive.and_utc())
}

pub fn activity_to_fields(activity: &ActivityFields, dir: &dyn ParticipantDirectory) -> FieldMap {
    let a = activity;
    let tz = zone(a);
    let m = |t: Option<DateTime<Utc>>| t.map(|t| moment(t, a.all_day, tz).to_field());
    let task_like = a.kind.is_task_like();
    let mut map = FieldMap::new();
    map.set("kind", a.kind.as_str());
    map.set_opt("ical_uid", opt_line(a.ical_uid.as_deref()));
    map.set("subject", norm_line(&a.subject));
    map.set_opt("description", a.description.as_deref().map(norm_multiline));
    map.set_opt("location", opt_line(a.location.as_deref()));
    let state = match (a.state, task_like) {
        (ActivityState::Cancelled, _) => Some("cancelled"),
        (ActivityState::Completed, true) => Some("completed"),
        // An appointment is "completed" once it ended; iCalendar has no such
        // event status, so it is not compared (R-MAP-12 in docs/RULES.md).
        _ => None,
    };
    map.set_opt("state", state);
    map.set_opt("start", m(a.start));
    if a.all_day {
        map.set("all_day", "true");
    }
    if task_like {
        map.set_opt("due", m(a.due));
        map.set_opt("completed_at", a.completed_at.map(|t| Moment::Instant(t).to_field()));
        map.set_opt(
            "percent_complete",
            a.percent_complete.filter(|p| *p > 0).map(|p| p.to_string()),
        );
    } else {
        map.set_opt("end", m(a.end));
    }
    map.set_opt("priority", a.priority.filter(|p| *p > 0).map(|p| p.to_string()));
    map.set("categories", join_sorted(a.categories.iter().cloned()));
    let privacy = match a.privacy {
        Privacy::Public => None,
        Privacy::Private => Some("private"),
        Privacy::Confidential => Some("confidential"),
    };
    map.set_opt("privacy", privacy);
    map.set_opt("reminder_minutes", a.reminder_minutes.map(|r| r.to_string()));
    map.set_opt(
        "regarding",
        a.regarding.as_ref().map(|r| format!("{}/{}", r.entity.as_str(), r.id)),
    );
    map.set_opt("message_id", opt_line(a.message_id.as_deref()));
    if let Some(rec) = &a.recurrence {
        map.set("recurrence", recurrence_json(a, rec, tz));
    }
    // Series need their zone to expand; timed appointments keep the zone
    // they were planned in both ways (R-MAP-19). A zone chrono-tz does not
    // know, or UTC, is no zone.
    if !a.all_day && (a.recurrence.is_some() || a.kind == ActivityKind::Appointment) {
        let known = tz.map(|z| z.name()).filter(|z| !crate::ical::is_utc_name(z));
        map.set_opt("time_zone", known);
    }
    if a.kind == ActivityKind::Appointment {
        let list = a
            .participants
            .iter()
            .filter_map(|p| {
                let email = dir.email_of(&p.party).and_then(|e| normalize_email(&e))?;
                let organizer = p.is_organizer();
                Some(MappedParticipant {
                    email,
                    response: (!organizer).then(|| response_str(p.response).to_string()),
                    role: role_str(p.role).to_string(),
                })
            })
            .collect();
        map.set("participants", crate::ical::participants_json(list));
    }
    map
}

fn recurrence_json(a: &ActivityFields, rec: &Recurrence, tz: Option<chrono_tz::Tz>) -> String {
    let m = |t: DateTime<Utc>| moment(t, a.all_day, tz);
    let duration = match (a.start, a.end) {
        (Some(s), Some(e)) => m(e).as_instant() - m(s).as_instant(),
        _ => chrono::Duration::zero(),
    };
    let master = Master {
        duration,
        subject: norm_line(&a.subject),
        location: a.location.as_deref().map(norm_line).unwrap_or_default(),
        description: a.description.as_deref().map(norm_multiline).unwrap_or_default(),
    };
    let mapped = MappedRecurrence {
        rule: rec.rule.clone(),
        rdates: rec.rdates.iter().map(|t| m(*t).to_field()).collect(),
        exdates: rec.exdates.iter().map(|t| m(*t).to_field()).collect(),
        overrides: rec
            .overrides
            .iter()
            .map(|o| {
                FullOverride {
                    recurrence_id: m(o.recurrence_id),
                    start: o.start.map(m),
                    end: o.end.map(m),
                    subject: o.subject.as_deref().map(norm_line),
                    location: o.location.as_deref().map(norm_line),
                    description: o.description.as_deref().map(norm_multiline),
                }
                .normalize(&master)
            })
            .collect(),
    };
    mapped.finish().to_json()
}

/// The activity with the map's values on top of `base` (what the map does
/// not carry for this kind, and CRM-only data such as invite flags, stays).
pub fn fields_to_activity(fields: &FieldMap, base: &ActivityFields, dir: &dyn ParticipantDirectory) -> ActivityFields {
    let get = |k: &str| fields.get(k).map(str::to_string);
    let kind = fields.get("kind").and_then(ActivityKind::parse).unwrap_or(base.kind);
    let task_like = kind.is_task_like();
    let mut a = base.clone();
    a.kind = kind;
    let timed_event = kind == ActivityKind::Appointment && fields.get("all_day") != Some("true");
    a.time_zone = match get("time_zone") {
        Some(z) => Some(z),
        // A timed appointment's map carries its zone: none means plain UTC
        // times (R-MAP-19). All-day items and tasks keep the CRM's zone.
        None if timed_event && fields.get("start").is_some() => None,
        None => base.time_zone.clone(),
    };
    let tz = zone(&a);
    let time = |k: &str| fields.get(k).and_then(Moment::from_field).map(|m| instant(m, tz));
    a.subject = match get("subject") {
        Some(s) => s,
        // A title-less groupware item keeps the CRM's subject; a new one gets a
        // placeholder because the CRM requires one (R-MAP-13 in docs/RULES.md).
        None if !base.subject.trim().is_empty() => base.subject.clone(),
        None => "(no subject)".to_string(),
    };
    a.description = get("description");
    a.location = get("location");
    a.state = match (fields.get("state"), task_like) {
        (Some("cancelled"), _) => ActivityState::Cancelled,
        (Some("completed"), true) => ActivityState::Completed,
        (_, true) => ActivityState::Open,
        (_, false) if base.state == ActivityState::Cancelled => ActivityState::Open,
        (_, false) => base.state,
    };
    a.all_day = fields.get("all_day") == Some("true");
    a.start = time("start");
    if task_like {
        a.due = time("due");
        a.completed_at = time("completed_at");
        a.percent_complete = fields.get("percent_complete").and_then(|p| p.parse().ok());
    } else {
        a.end = time("end");
    }
    a.priority = fields.get("priority").and_then(|p| p.parse().ok());
    a.categories = split_list(fields.get("categories"));
    a.privacy = match fields.get("privacy") {
        Some("private") => Privacy::Private,
        Some("confidential") => Privacy::Confidential,
        _ => Privacy::Public,
    };
    a.reminder_minutes = fields.get("reminder_minutes").and_then(|r| r.parse().ok());
    a.regarding = match fields.get("regarding") {
        Some(r) => parse_regarding(r).or_else(|| base.regarding.clone()),
        None => None,
    };
    a.ical_uid = get("ical_uid").or_else(|| base.ical_uid.clone());
    a.message_id = get("message_id").or_else(|| base.message_id.clone());
    a.recurrence = fields
        .get("recurrence")
        .and_then(MappedRecurrence::from_json)
        .map(|r| Recurrence {
            rule: r.rule,
            rdates: r
                .rdates
                .iter()
                .filter_map(|s| Moment::from_field(s))
                .map(|m| instant(m, tz))
                .collect(),
            exdates: r
                .exdates
                .iter()
                .filter_map(|s| Moment::from_field(s))
                .map(|m| instant(m, tz))
                .collect(),
            overrides: r
                .overrides
                .iter()
                .filter_map(|o| {
                    let t = |s: &Option<String>| s.as_deref().and_then(Moment::from_field).map(|m| instant(m, tz));
                    Some(OccurrenceOverride {
                        recurrence_id: instant(Moment::from_field(&o.recurrence_id)?, tz),
                        start: t(&o.start),
                        end: t(&o.end),
                        subject: o.subject.clone(),
                        location: o.location.clone(),
                        description: o.description.clone(),
                    })
                })
                .collect(),
        });
    if kind == ActivityKind::Appointment {
        a.participants = merge_participants(fields.get("participants"), &base.participants, dir);
    }
    a
}

fn parse_regarding(s: &str) -> Option<RecordRef> {
    let (entity, id) = s.split_once('/')?;
    Some(RecordRef {
        entity: EntityKind::parse(entity)?,
        id: id.to_string(),
    })
}

/// R-CAL-2: attendees are matched to CRM parties by e-mail. A participant
/// already in the CRM keeps its party, invite flag and sync status; a new
/// one is resolved through the directory, not invited (R-MAP-14); CRM
/// participants without an address are kept, groupware cannot show them.
fn merge_participants(json: Option<&str>, base: &[Participant], dir: &dyn ParticipantDirectory) -> Vec<Participant> {
    let wanted = crate::ical::participants_from_json(json);
    let mut out: Vec<Participant> = base
        .iter()
        .filter(|p| dir.email_of(&p.party).and_then(|e| normalize_email(&e)).is_none())
        .cloned()
        .collect();
    for w in wanted {
        let existing = base
            .iter()
            .find(|p| dir.email_of(&p.party).and_then(|e| normalize_email(&e)).as_deref() == Some(w.email.as_str()));
        let role = role_from_str(&w.role);
        let participant = match existing {
            Some(p) => Participant {
                role,
                response: w.response.as_deref().map(response_from_str).unwrap_or(p.response),
                ..p.clone()
            },
            None => Participant {
                party: dir.party_for_email(&w.email),
                role,
                invite: false,
                response: w.response.as_deref().map(response_from_str).unwrap_or_default(),
                sync_status: ParticipantSyncStatus::NotSynced,
            },
        };
        out.push(participant);
    }
    out
}

/// R-CAL-7: moves the answer of attendee `email` out of `participants` into
/// its own key ([`keys::OWN_RESPONSE`]), so the engine can let it flow from
/// that attendee's calendar while the rest of the meeting is read-only for
/// them. The organizer's line has no answer (R-MAP-14) and is left as is.
pub fn split_own_response(fields: &mut FieldMap, email: &str) {
    let Some(email) = normalize_email(email) else { return };
    let mut list = crate::ical::participants_from_json(fields.get("participants"));
    let Some(own) = list.iter_mut().find(|p| p.email == email && p.role != "organizer") else {
        return;
    };
    let response = own.response.take().unwrap_or_else(|| "needs_action".to_string());
    fields.set("participants", crate::ical::participants_json(list));
    fields.set(keys::OWN_RESPONSE, response);
}

/// The inverse of [`split_own_response`]: the answer goes back on the
/// attendee's entry, for rendering and for the CRM record.
pub fn join_own_response(fields: &FieldMap, email: &str) -> FieldMap {
    let mut out = fields.clone();
    let Some(response) = out.remove(keys::OWN_RESPONSE) else {
        return out;
    };
    let Some(email) = normalize_email(email) else {
        return out;
    };
    let mut list = crate::ical::participants_from_json(out.get("participants"));
    if let Some(own) = list.iter_mut().find(|p| p.email == email && p.role != "organizer") {
        own.response = Some(response);
        out.set("participants", crate::ical::participants_json(list));
    }
    out
}

/// The addresses `fields` lists as participants: what mapping them asks a
/// [`ParticipantDirectory`] (`party_for_email`), so a caller can look them
/// up before it maps (R-SCALE-8).
pub fn participant_emails(fields: &FieldMap) -> Vec<String> {
    crate::ical::participants_from_json(fields.get("participants"))
        .into_iter()
        .map(|p| p.email)
        .collect()
}
