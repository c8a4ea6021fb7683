//! R-ENG-4: when an activity ends, for "planned vs completed" (R-DEL-6..11).
//! A series ends with its last occurrence, found by expanding its rule in
//! the zone it was planned in (calcard's expansion, the same the servers
//! run); a series without an end, or one too long to expand, never ends.

use calcard::icalendar::ICalendar;
use calcard::icalendar::dates::TimeOrDelta;
use chrono::{DateTime, Duration, Utc};
use crmsync_model::{ActivityFields, MAX_RECURRENCE_INSTANCES};

/// The last moment `activity` covers; `None` when it never ends or has no
/// dates (both count as planned, R-ENG-4).
pub fn activity_last_moment(activity: &ActivityFields) -> Option<DateTime<Utc>> {
    match &activity.recurrence {
        None => activity.last_moment(),
        Some(_) => series_end(activity),
    }
}

fn series_end(a: &ActivityFields) -> Option<DateTime<Utc>> {
    let rec = a.recurrence.as_ref()?;
    let start = a.start.or(a.due)?;
    let length = match (a.start, a.end) {
        (Some(s), Some(e)) if e > s => e - s,
        _ => Duration::zero(),
    };
    let rule = rec.rule.trim().trim_start_matches("RRULE:").to_ascii_uppercase();
    if !rule.contains("COUNT=") && !rule.contains("UNTIL=") {
        return None;
    }
    let zone = a
        .time_zone
        .as_deref()
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    // Floating local times expanded in the series' zone: a 09:00 meeting
    // stays at 09:00 across daylight-saving changes, as on the servers.
    let local = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y%m%dT%H%M%S").to_string();
    let utc = |t: &DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
    // RFC 5545: with a floating DTSTART, UNTIL is floating too.
    let rule = rule
        .split(';')
        .map(|part| match part.strip_prefix("UNTIL=") {
            Some(until) if until.ends_with('Z') => {
                match chrono::NaiveDateTime::parse_from_str(until, "%Y%m%dT%H%M%SZ") {
                    Ok(t) => format!("UNTIL={}", local(t.and_utc())),
                    Err(_) => part.to_string(),
                }
            }
            _ => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";");
    let mut text = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crmsync//series end//EN\r\nBEGIN:VEVENT\r\nUID:x\r\n\
         DTSTART:{}\r\nRRULE:{rule}\r\n",
        local(start)
    );
    for ex in &rec.exdates {
        text.push_str(&format!("EXDATE:{}\r\n", utc(ex)));
    }
    text.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
    let cal = ICalendar::parse(&text).ok()?;
    let limit = MAX_RECURRENCE_INSTANCES as usize + 1;
    let expanded = cal.expand_dates(zone, limit);
    if !expanded.errors.is_empty() || expanded.events.len() >= limit {
        return None;
    }
    let last_rule = expanded
        .events
        .iter()
        .map(|e| match &e.end {
            TimeOrDelta::Time(end) => end.with_timezone(&Utc),
            TimeOrDelta::Delta(_) => e.start.with_timezone(&Utc) + length,
        })
        .max();
    let last_rdate = rec.rdates.iter().map(|r| *r + length).max();
    let last_override = rec
        .overrides
        .iter()
        .map(|o| {
            o.end
                .or(o.start.map(|s| s + length))
                .unwrap_or(o.recurrence_id + length)
        })
        .max();
    [last_rule, last_rdate, last_override].into_iter().flatten().max()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use crmsync_model::{ActivityKind, Recurrence};

    use super::*;

    fn weekly(rule: &str, start: DateTime<Utc>) -> ActivityFields {
        let mut a = ActivityFields::new(ActivityKind::Appointment, "Weekly");
        a.start = Some(start);
        a.end = Some(start + Duration::hours(1));
        a.time_zone = Some("Europe/Berlin".into());
        a.recurrence = Some(Recurrence {
            rule: rule.into(),
            ..Recurrence::default()
        });
        a
    }

    // R-ENG-4
    #[test]
    fn r_eng_4_a_series_ends_with_its_last_occurrence() {
        // 09:00 Berlin (winter, UTC+1) on Monday 2026-01-05, four weeks.
        let start = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
        let a = weekly("FREQ=WEEKLY;COUNT=4", start);
        assert_eq!(
            activity_last_moment(&a),
            Some(Utc.with_ymd_and_hms(2026, 1, 26, 9, 0, 0).unwrap())
        );
        // Across the March change to summer time the meeting stays at 09:00
        // local: 07:00 UTC, ending 08:00 UTC.
        let until = weekly("FREQ=WEEKLY;UNTIL=20260406T235959Z", start);
        assert_eq!(
            activity_last_moment(&until),
            Some(Utc.with_ymd_and_hms(2026, 4, 6, 8, 0, 0).unwrap())
        );
        // No end: never completed.
        assert_eq!(activity_last_moment(&weekly("FREQ=WEEKLY", start)), None);
        // A single appointment ends at its end.
        let mut single = weekly("FREQ=WEEKLY", start);
        single.recurrence = None;
        assert_eq!(activity_last_moment(&single), single.end);
    }
}
