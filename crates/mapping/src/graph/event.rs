//! R-FIELD-3 for Graph events (https://learn.microsoft.com/en-us/graph/api/resources/event):
//! subject, body, location, start/end with their `timeZone`, `isAllDay`
//! (whole days, exclusive end), `recurrence`, `sensitivity`, `categories`,
//! the reminder, `isCancelled`, organizer and attendees with type and response.

use std::str::FromStr;

use crmsync_model::FieldMap;
use serde_json::{Map, Value, json};

use super::occurrences::{self, Series};
use super::{html, recurrence, time};
use crate::error::MappingError;
use crate::ical::{
    MappedParticipant, MappedRecurrence, Master, Moment, normalize_email, participants_from_json, participants_json,
};
use crate::notes::{join_notes, split_notes};
use crate::text::{join_sorted, norm_line, split_list};

pub(crate) const KEYS: [&str; 15] = [
    "kind",
    "ical_uid",
    "subject",
    "description",
    "journal",
    "location",
    "state",
    "start",
    "end",
    "all_day",
    "time_zone",
    "recurrence",
    "categories",
    "privacy",
    "reminder_minutes",
];
/// Also compared: the participants (attendees and organizer).
pub(crate) const PARTICIPANTS: &str = "participants";

fn response(graph: &str) -> &'static str {
    match graph {
        "accepted" => "accepted",
        "declined" => "declined",
        "tentativelyAccepted" => "tentative",
        _ => "needs_action",
    }
}

pub(crate) fn read(item: &Value) -> Result<FieldMap, MappingError> {
    let mut map = FieldMap::new();
    map.set("kind", "appointment");
    map.set("subject", item["subject"].as_str().map(norm_line).unwrap_or_default());
    let (description, journal) = split_notes(&html::body_text(&item["body"]));
    map.set("description", description);
    map.set("journal", journal);
    map.set(
        "location",
        item["location"]["displayName"]
            .as_str()
            .map(norm_line)
            .unwrap_or_default(),
    );
    if item["isCancelled"].as_bool() == Some(true) {
        map.set("state", "cancelled");
    }
    let all_day = item["isAllDay"].as_bool() == Some(true);
    if all_day {
        map.set("all_day", "true");
    }
    map.set_opt("start", time::read(item, "start", all_day)?.map(Moment::to_field));
    map.set_opt("end", time::read(item, "end", all_day)?.map(Moment::to_field));
    let categories = item["categories"].as_array().map(|a| {
        a.iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    map.set("categories", join_sorted(categories.unwrap_or_default()));
    let privacy = match item["sensitivity"].as_str() {
        Some("private" | "personal") => "private",
        Some("confidential") => "confidential",
        _ => "",
    };
    map.set("privacy", privacy);
    if item["isReminderOn"].as_bool() == Some(true) {
        map.set_opt(
            "reminder_minutes",
            item["reminderMinutesBeforeStart"].as_i64().map(|m| m.to_string()),
        );
    }
    if let Some(rule) = recurrence::to_rule(&item["recurrence"])? {
        let mut series = MappedRecurrence {
            rule,
            ..MappedRecurrence::default()
        };
        if let Some(first_start) = time::read(item, "start", all_day)? {
            let zone = item["recurrence"]["range"]["recurrenceTimeZone"]
                .as_str()
                .filter(|z| time::zone(z).is_some())
                .or_else(|| item["start"]["timeZone"].as_str())
                .unwrap_or("UTC");
            let get = |k: &str| map.get(k).unwrap_or_default().to_string();
            let context = Series {
                all_day,
                first_start,
                zone,
                master: Master {
                    duration: occurrences::duration(Some(first_start), time::read(item, "end", all_day)?),
                    subject: get("subject"),
                    location: get("location"),
                    description: get("description"),
                },
            };
            context.read(item, &mut series)?;
        }
        map.set("recurrence", series.finish().to_json());
    }
    // The zone of timed events, single or series (R-MAP-19); UTC is no zone.
    if !all_day {
        let zone = item["start"]["timeZone"]
            .as_str()
            .and_then(time::zone)
            .and_then(|z| z.name())
            .filter(|z| !crate::ical::is_utc_name(z));
        map.set_opt("time_zone", zone.map(|z| z.to_string()));
    }
    let mut people = Vec::new();
    if let Some(email) = item["organizer"]["emailAddress"]["address"]
        .as_str()
        .and_then(normalize_email)
    {
        people.push(MappedParticipant {
            email,
            response: None,
            role: "organizer".into(),
        });
    }
    for a in item["attendees"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let Some(email) = a["emailAddress"]["address"].as_str().and_then(normalize_email) else {
            continue;
        };
        if a["type"].as_str() == Some("resource") {
            continue; // rooms and equipment are not CRM parties
        }
        people.push(MappedParticipant {
            email,
            response: Some(response(a["status"]["response"].as_str().unwrap_or("none")).to_string()),
            role: if a["type"].as_str() == Some("optional") {
                "optional"
            } else {
                "required"
            }
            .to_string(),
        });
    }
    map.set(PARTICIPANTS, participants_json(people));
    Ok(map)
}

pub(crate) fn write(fields: &FieldMap, previous: Option<&Value>) -> Result<Map<String, Value>, MappingError> {
    let get = |k: &str| fields.get(k).unwrap_or_default().to_string();
    let mut out = Map::new();
    out.insert("subject".into(), json!(get("subject")));
    out.insert(
        "body".into(),
        json!({"contentType": "text", "content": join_notes(&get("description"), &get("journal"))}),
    );
    out.insert("location".into(), json!({"displayName": get("location")}));
    let all_day = fields.get("all_day") == Some("true");
    out.insert("isAllDay".into(), json!(all_day));
    // Keep the zone the item is in; else the series' zone; else UTC.
    let zone = time::zone_of(previous, "start").or_else(|| {
        fields
            .get("time_zone")
            .filter(|z| time::zone(z).is_some())
            .map(str::to_string)
    });
    for key in ["start", "end"] {
        if let Some(m) = fields.get(key).and_then(Moment::from_field) {
            out.insert(key.into(), time::write(m, zone.as_deref()));
        }
    }
    out.insert("categories".into(), json!(split_list(fields.get("categories"))));
    let sensitivity = match fields.get("privacy") {
        Some("private") => "private",
        Some("confidential") => "confidential",
        _ => "normal",
    };
    out.insert("sensitivity".into(), json!(sensitivity));
    let reminder = fields.get("reminder_minutes").and_then(|m| i64::from_str(m).ok());
    out.insert("isReminderOn".into(), json!(reminder.is_some()));
    if let Some(m) = reminder {
        out.insert("reminderMinutesBeforeStart".into(), json!(m));
    }
    let series = fields
        .get("recurrence")
        .and_then(MappedRecurrence::from_json)
        .filter(|r| !r.rule.is_empty());
    let recurrence = match series {
        Some(r) => {
            let start = fields.get("start").and_then(Moment::from_field);
            let day = match start {
                Some(Moment::Date(d)) => d,
                Some(Moment::Instant(t)) => match zone.as_deref().and_then(time::zone) {
                    Some(calcard::common::timezone::Tz::Tz(tz)) => t.with_timezone(&tz).date_naive(),
                    _ => t.date_naive(),
                },
                None => return Err(super::invalid("a series without a start")),
            };
            let series_zone = zone.as_deref().unwrap_or("UTC");
            let pattern = recurrence::from_rule(&r.rule, day, series_zone)?;
            if let Some(first_start) = start {
                let end = fields.get("end").and_then(Moment::from_field);
                let context = Series {
                    all_day,
                    first_start,
                    zone: series_zone,
                    master: Master {
                        duration: occurrences::duration(start, end),
                        subject: get("subject"),
                        location: get("location"),
                        description: get("description"),
                    },
                };
                let master_id = previous.and_then(|p| p["id"].as_str()).unwrap_or_default();
                context.write(master_id, &r, &mut out);
            }
            pattern
        }
        None => Value::Null,
    };
    out.insert("recurrence".into(), recurrence);
    // The organizer is the mailbox; attendees get invitations from Exchange.
    let attendees: Vec<Value> = participants_from_json(fields.get(PARTICIPANTS))
        .into_iter()
        .filter(|p| p.role != "organizer")
        .map(|p| json!({"type": p.role, "emailAddress": {"address": p.email}}))
        .collect();
    out.insert("attendees".into(), Value::Array(attendees));
    Ok(out)
}
