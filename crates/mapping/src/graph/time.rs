//! Graph's `dateTimeTimeZone` (https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone):
//! a wall-clock `dateTime` and a `timeZone` that is a Windows name
//! ("W. Europe Standard Time"), an IANA name or "UTC". Read into the
//! FieldMap's instants (UTC) or days (all-day); written in the zone the item
//! already uses, so an edit in crmsync does not move the user's zone.

use std::str::FromStr;

use calcard::common::timezone::Tz;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use crate::error::{Format, MappingError};
use crate::ical::Moment;
use crate::ical::local_to_utc;

/// The zone a `timeZone` value names; `None` for names no table knows.
pub(crate) fn zone(name: &str) -> Option<Tz> {
    Tz::from_str(name.trim()).ok()
}

fn naive(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

/// Reads `property` (`start`, `end`, `dueDateTime`, ...) of `item`: a day
/// when `all_day`, else the instant in UTC. Absent → `None`; unreadable →
/// an error that names the value, never a guess.
pub(crate) fn read(item: &Value, property: &str, all_day: bool) -> Result<Option<Moment>, MappingError> {
    let Some(value) = item.get(property).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let text = value["dateTime"].as_str().unwrap_or_default();
    let tz_name = value["timeZone"].as_str().unwrap_or("UTC");
    let local = naive(text).ok_or_else(|| MappingError::InvalidDate {
        format: Format::GraphJson,
        line: 0,
        property: property.to_string(),
        value: text.to_string(),
    })?;
    if all_day {
        return Ok(Some(Moment::Date(local.date())));
    }
    let tz = zone(tz_name).ok_or_else(|| MappingError::UnknownTimeZone {
        format: Format::GraphJson,
        line: 0,
        property: property.to_string(),
        tzid: tz_name.to_string(),
    })?;
    Ok(Some(Moment::Instant(local_to_utc(tz, local))))
}

/// The `timeZone` an existing item's `property` uses, when it is one crmsync knows.
pub(crate) fn zone_of(item: Option<&Value>, property: &str) -> Option<String> {
    let name = item?.get(property)?.get("timeZone")?.as_str()?;
    zone(name).map(|_| name.to_string())
}

/// A `dateTimeTimeZone` for `moment` in the zone called `zone_name` (UTC when none).
pub(crate) fn write(moment: Moment, zone_name: Option<&str>) -> Value {
    let name = zone_name.unwrap_or("UTC");
    let local = match moment {
        Moment::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
        Moment::Instant(t) => match zone(name) {
            Some(Tz::Tz(tz)) => t.with_timezone(&tz).naive_local(),
            Some(Tz::Fixed(offset)) => t.with_timezone(&offset).naive_local(),
            _ => t.naive_utc(),
        },
    };
    let name = if moment.is_date() || zone(name).is_some() {
        name
    } else {
        "UTC"
    };
    json!({ "dateTime": local.format("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": name })
}

/// An RFC 3339 instant as Graph's `lastModifiedDateTime` carries it.
pub(crate) fn instant(item: &Value, property: &str) -> Option<DateTime<Utc>> {
    let s = item.get(property)?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// `2026-11-21` of a `dateTime` text (recurrence ranges use plain dates).
pub(crate) fn date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_iana_zone_names_read_to_the_same_instant() {
        let windows =
            json!({"start": {"dateTime": "2026-11-21T09:00:00.0000000", "timeZone": "W. Europe Standard Time"}});
        let iana = json!({"start": {"dateTime": "2026-11-21T09:00:00", "timeZone": "Europe/Berlin"}});
        let utc = json!({"start": {"dateTime": "2026-11-21T08:00:00.0000000", "timeZone": "UTC"}});
        let a = read(&windows, "start", false).unwrap();
        assert_eq!(a, read(&iana, "start", false).unwrap());
        assert_eq!(a, read(&utc, "start", false).unwrap());
        assert_eq!(a.unwrap().to_field(), "2026-11-21T08:00:00Z");
        let written = write(a.unwrap(), Some("W. Europe Standard Time"));
        assert_eq!(written["dateTime"], "2026-11-21T09:00:00");
        let bad = json!({"start": {"dateTime": "2026-11-21T09:00:00", "timeZone": "Mars/Olympus"}});
        assert!(matches!(
            read(&bad, "start", false),
            Err(MappingError::UnknownTimeZone { .. })
        ));
    }
}
