//! R-CAL-4 for Graph: `patternedRecurrence` (pattern + range,
//! https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence)
//! ↔ the RRULE the FieldMap carries. Every Graph pattern has an RRULE; an
//! RRULE Graph cannot express (hourly, BYHOUR, several BYMONTHDAYs, ...) is
//! an error, so the series is not flattened into one event. Exceptions and
//! cancelled occurrences are instances in Graph, not part of the master;
//! they are not synced yet (R-GRAPH-8).

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::error::{Format, MappingError};
use crate::ical::normalize_rule;

const DAYS: [(&str, &str); 7] = [
    ("sunday", "SU"),
    ("monday", "MO"),
    ("tuesday", "TU"),
    ("wednesday", "WE"),
    ("thursday", "TH"),
    ("friday", "FR"),
    ("saturday", "SA"),
];
const INDEX: [(&str, i32); 5] = [("first", 1), ("second", 2), ("third", 3), ("fourth", 4), ("last", -1)];

fn unsupported(what: &str) -> MappingError {
    MappingError::Malformed {
        format: Format::GraphJson,
        line: 0,
        message: format!("recurrence {what} has no Graph equivalent"),
    }
}

/// The RRULE of a Graph recurrence; `None` for a null recurrence.
pub(crate) fn to_rule(recurrence: &Value) -> Result<Option<String>, MappingError> {
    if recurrence.is_null() {
        return Ok(None);
    }
    let pattern = &recurrence["pattern"];
    let range = &recurrence["range"];
    let kind = pattern["type"].as_str().unwrap_or_default();
    let days: Vec<&str> = pattern["daysOfWeek"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter_map(|d| DAYS.iter().find(|(n, _)| n.eq_ignore_ascii_case(d)).map(|(_, c)| *c))
                .collect()
        })
        .unwrap_or_default();
    let index = pattern["index"]
        .as_str()
        .and_then(|i| INDEX.iter().find(|(n, _)| *n == i).map(|(_, v)| *v))
        .unwrap_or(1);
    let month = pattern["month"].as_u64().unwrap_or(0);
    let day = pattern["dayOfMonth"].as_u64().unwrap_or(0);
    let mut parts = match kind {
        "daily" => vec!["FREQ=DAILY".to_string()],
        "weekly" => vec!["FREQ=WEEKLY".into(), format!("BYDAY={}", days.join(","))],
        "absoluteMonthly" => vec!["FREQ=MONTHLY".into(), format!("BYMONTHDAY={day}")],
        "relativeMonthly" => vec![
            "FREQ=MONTHLY".into(),
            format!("BYDAY={}", days.join(",")),
            format!("BYSETPOS={index}"),
        ],
        "absoluteYearly" => vec![
            "FREQ=YEARLY".into(),
            format!("BYMONTH={month}"),
            format!("BYMONTHDAY={day}"),
        ],
        "relativeYearly" => vec![
            "FREQ=YEARLY".into(),
            format!("BYMONTH={month}"),
            format!("BYDAY={}", days.join(",")),
            format!("BYSETPOS={index}"),
        ],
        other => return Err(unsupported(&format!("pattern {other:?}"))),
    };
    parts.push(format!("INTERVAL={}", pattern["interval"].as_u64().unwrap_or(1).max(1)));
    match range["type"].as_str().unwrap_or("noEnd") {
        "endDate" => {
            let end = range["endDate"].as_str().and_then(super::time::date);
            let end = end.ok_or_else(|| unsupported("range without a valid endDate"))?;
            parts.push(format!("UNTIL={}", end.format("%Y%m%d")));
        }
        "numbered" => parts.push(format!("COUNT={}", range["numberOfOccurrences"].as_u64().unwrap_or(1))),
        _ => {}
    }
    Ok(Some(normalize_rule(&parts.join(";"))))
}

/// The Graph recurrence of an RRULE for a series starting on `start` in `zone`.
pub(crate) fn from_rule(rule: &str, start: NaiveDate, zone: &str) -> Result<Value, MappingError> {
    let mut freq = "";
    let (mut interval, mut count, mut until) = (1u64, None, None);
    let (mut by_day, mut by_month_day, mut by_month, mut by_set_pos) = (Vec::new(), None, None, None);
    for part in rule.trim_start_matches("RRULE:").split(';').filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| unsupported(rule))?;
        match key.to_ascii_uppercase().as_str() {
            "FREQ" => freq = value,
            "INTERVAL" => interval = value.parse().map_err(|_| unsupported(rule))?,
            "COUNT" => count = Some(value.parse::<u64>().map_err(|_| unsupported(rule))?),
            "UNTIL" => until = NaiveDate::parse_from_str(value.get(..8).unwrap_or(""), "%Y%m%d").ok(),
            "BYDAY" => by_day = value.split(',').map(str::to_string).collect(),
            "BYMONTHDAY" => by_month_day = Some(value.parse::<u32>().map_err(|_| unsupported(rule))?),
            "BYMONTH" => by_month = Some(value.parse::<u32>().map_err(|_| unsupported(rule))?),
            "BYSETPOS" => by_set_pos = Some(value.parse::<i32>().map_err(|_| unsupported(rule))?),
            "WKST" => {}
            _ => return Err(unsupported(rule)),
        }
    }
    // `1MO` / `-1FR` carry the index in the day itself.
    let mut index = by_set_pos;
    let mut days = Vec::new();
    for d in &by_day {
        let split = d.len().saturating_sub(2);
        let (n, code) = d.split_at(split);
        if !n.is_empty() {
            index = Some(n.trim_start_matches('+').parse().map_err(|_| unsupported(rule))?);
        }
        let name = DAYS
            .iter()
            .find(|(_, c)| c.eq_ignore_ascii_case(code))
            .ok_or_else(|| unsupported(rule))?;
        days.push(name.0);
    }
    let index_name = |i: i32| {
        INDEX
            .iter()
            .find(|(_, v)| *v == i)
            .map(|(n, _)| *n)
            .ok_or_else(|| unsupported(rule))
    };
    let pattern = match (freq, days.is_empty(), index) {
        ("DAILY", true, None) => json!({"type": "daily", "interval": interval}),
        ("WEEKLY", _, None) => {
            let days = if days.is_empty() { vec![weekday(start)] } else { days };
            json!({"type": "weekly", "interval": interval, "daysOfWeek": days, "firstDayOfWeek": "monday"})
        }
        ("MONTHLY", true, None) => json!({
            "type": "absoluteMonthly", "interval": interval,
            "dayOfMonth": by_month_day.unwrap_or_else(|| chrono::Datelike::day(&start)),
        }),
        ("MONTHLY", false, Some(i)) => json!({
            "type": "relativeMonthly", "interval": interval, "daysOfWeek": days, "index": index_name(i)?,
        }),
        ("YEARLY", true, None) => json!({
            "type": "absoluteYearly", "interval": interval,
            "month": by_month.unwrap_or_else(|| chrono::Datelike::month(&start)),
            "dayOfMonth": by_month_day.unwrap_or_else(|| chrono::Datelike::day(&start)),
        }),
        ("YEARLY", false, Some(i)) => json!({
            "type": "relativeYearly", "interval": interval, "daysOfWeek": days, "index": index_name(i)?,
            "month": by_month.unwrap_or_else(|| chrono::Datelike::month(&start)),
        }),
        _ => return Err(unsupported(rule)),
    };
    let start_date = start.format("%Y-%m-%d").to_string();
    let range = match (count, until) {
        (Some(n), _) => {
            json!({"type": "numbered", "startDate": start_date, "numberOfOccurrences": n, "recurrenceTimeZone": zone})
        }
        (None, Some(end)) => {
            json!({"type": "endDate", "startDate": start_date, "endDate": end.format("%Y-%m-%d").to_string(), "recurrenceTimeZone": zone})
        }
        (None, None) => json!({"type": "noEnd", "startDate": start_date, "recurrenceTimeZone": zone}),
    };
    Ok(json!({ "pattern": pattern, "range": range }))
}

fn weekday(d: NaiveDate) -> &'static str {
    DAYS[chrono::Datelike::weekday(&d).num_days_from_sunday() as usize].0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(rule: &str) -> String {
        let start = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap();
        let graph = from_rule(rule, start, "UTC").expect(rule);
        to_rule(&graph).unwrap().unwrap()
    }

    #[test]
    fn every_graph_pattern_round_trips_through_its_rrule() {
        for rule in [
            "FREQ=DAILY;COUNT=5",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
            "FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20271231",
            "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1",
            "FREQ=YEARLY;BYMONTH=11;BYDAY=TH;BYSETPOS=4",
        ] {
            assert_eq!(round_trip(rule), normalize_rule(rule), "{rule}");
        }
        assert_eq!(
            round_trip("FREQ=MONTHLY;BYDAY=-1FR"),
            normalize_rule("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1")
        );
        assert!(from_rule("FREQ=HOURLY", NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), "UTC").is_err());
    }

    #[test]
    fn the_documented_weekly_example_reads() {
        // https://learn.microsoft.com/en-us/graph/api/resources/patternedrecurrence (weekly, end date)
        let graph = json!({
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Monday"]},
            "range": {"type": "endDate", "startDate": "2017-09-04", "endDate": "2017-12-31"}
        });
        assert_eq!(
            to_rule(&graph).unwrap().unwrap(),
            normalize_rule("FREQ=WEEKLY;BYDAY=MO;UNTIL=20171231")
        );
    }
}
