//! The instances of a recurring series, as Graph shows them
//! (https://learn.microsoft.com/en-us/graph/api/event-list-instances and the
//! event resource, https://learn.microsoft.com/en-us/graph/api/resources/event):
//! `GET /events/{masterId}/instances?startDateTime&endDateTime` lists the
//! occurrences in the window, each with `type` occurrence or exception,
//! `seriesMasterId` and `occurrenceId` (`OID.{seriesMasterId}.{yyyy-MM-dd}`,
//! the original date in the series' zone); a PATCH of one makes it an
//! exception, a DELETE cancels it. The master read with
//! `$select=cancelledOccurrences` and `$expand=exceptionOccurrences` lists
//! them (the example of the event resource page:
//! `"cancelledOccurrences": ["OID.AAMk...=.2025-05-29"]`).
//!
//! Simplifications, harmless for a client that names occurrences by
//! `occurrenceId` as the docs say: instance ids are `{masterId}_{yyyymmdd}`;
//! patterns `daily`, `weekly`, `absoluteMonthly` and `absoluteYearly` are
//! expanded (relative ones answer 501); `originalStart` is given only for
//! series in UTC (the server keeps no zone table). Writing an instance bumps
//! the master's etag, as Exchange stores exceptions on the master. Each
//! instance has an etag of its own (R-GRAPH-40): the one its last write gave
//! it, else the one the master's last own write gave every instance; a write
//! to one instance leaves its siblings' etags alone, and a stale `If-Match`
//! on an instance is refused with 412 like one on any item.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use serde_json::{Map, Value, json};

/// A series' exceptions (by original date: the instance's own properties)
/// and cancelled dates.
#[derive(Debug, Clone, Default)]
pub(crate) struct Occurrences {
    pub exceptions: BTreeMap<NaiveDate, Map<String, Value>>,
    pub cancelled: BTreeSet<NaiveDate>,
    /// The etag the master's last own write (create, PATCH) gave every
    /// instance; `None` before the first: the master's etag.
    pub series_etag: Option<String>,
    /// The etags of the instances written since.
    pub etags: BTreeMap<NaiveDate, String>,
}

impl Occurrences {
    /// The etag the instance on `date` shows.
    pub(crate) fn etag_of(&self, master: &Map<String, Value>, date: NaiveDate) -> Option<String> {
        self.etags
            .get(&date)
            .or(self.series_etag.as_ref())
            .cloned()
            .or_else(|| master.get("@odata.etag").and_then(Value::as_str).map(str::to_owned))
    }

    /// After a write of the master itself: every instance changed with it.
    pub(crate) fn master_written(&mut self, master: &Map<String, Value>) {
        self.series_etag = master.get("@odata.etag").and_then(Value::as_str).map(str::to_owned);
        self.etags.clear();
    }
}

/// Why the server cannot list a series' instances.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SeriesError {
    NotASeries,
    UnsupportedPattern,
}

/// `{masterId}_{yyyymmdd}` → its parts.
pub(crate) fn split_instance_id(id: &str) -> Option<(&str, NaiveDate)> {
    let (master, date) = id.rsplit_once('_')?;
    Some((master, NaiveDate::parse_from_str(date, "%Y%m%d").ok()?))
}

fn instance_id(master: &str, date: NaiveDate) -> String {
    format!("{master}_{}", date.format("%Y%m%d"))
}

fn naive(value: &Value) -> Option<NaiveDateTime> {
    let s = value.get("dateTime")?.as_str()?.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
}

fn is_series(master: &Map<String, Value>) -> bool {
    master.get("type").and_then(Value::as_str) == Some("seriesMaster")
}

/// The original dates of the series' occurrences in `[from, to]`, cancelled ones included.
pub(crate) fn dates(
    master: &Map<String, Value>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDate>, SeriesError> {
    if !is_series(master) {
        return Err(SeriesError::NotASeries);
    }
    let rec = &master["recurrence"];
    let (pattern, range) = (&rec["pattern"], &rec["range"]);
    let first = range["startDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .or_else(|| master.get("start").and_then(naive).map(|t| t.date()))
        .ok_or(SeriesError::UnsupportedPattern)?;
    let interval = pattern["interval"].as_i64().unwrap_or(1).max(1);
    let end = match range["type"].as_str() {
        Some("endDate") => range["endDate"]
            .as_str()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        _ => None,
    };
    let count =
        (range["type"].as_str() == Some("numbered")).then(|| range["numberOfOccurrences"].as_u64().unwrap_or(1));
    let days: Vec<String> = pattern["daysOfWeek"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let kind = pattern["type"].as_str().unwrap_or_default();
    let matches = |d: NaiveDate| -> Result<bool, SeriesError> {
        Ok(match kind {
            "daily" => (d - first).num_days() % interval == 0,
            "weekly" => {
                let name = format!("{:?}", d.weekday()).to_ascii_lowercase();
                let week = |x: NaiveDate| {
                    (x - Duration::days(i64::from(x.weekday().num_days_from_monday()))).num_days_from_ce()
                };
                let weeks = i64::from(week(d) - week(first)) / 7;
                weeks % interval == 0 && days.iter().any(|w| w.starts_with(&name[..3]))
            }
            "absoluteMonthly" => {
                let months = i64::from(d.year() * 12 + d.month0() as i32 - (first.year() * 12 + first.month0() as i32));
                months % interval == 0 && u64::from(d.day()) == pattern["dayOfMonth"].as_u64().unwrap_or(0)
            }
            "absoluteYearly" => {
                u64::from(d.month()) == pattern["month"].as_u64().unwrap_or(0)
                    && u64::from(d.day()) == pattern["dayOfMonth"].as_u64().unwrap_or(0)
                    && i64::from(d.year() - first.year()) % interval == 0
            }
            _ => return Err(SeriesError::UnsupportedPattern),
        })
    };
    let mut out = Vec::new();
    let (mut day, mut seen) = (first, 0u64);
    // Bounded: a numbered range ends after its count, others at the window.
    while day <= to && end.is_none_or(|e| day <= e) && count.is_none_or(|c| seen < c) {
        if matches(day)? {
            seen += 1;
            if day >= from {
                out.push(day);
            }
        }
        day += Duration::days(1);
    }
    Ok(out)
}

/// The instance on `date` as Graph shows it: the master's values on that
/// day, overlaid with the exception's own.
pub(crate) fn instance(master: &Map<String, Value>, occurrences: &Occurrences, date: NaiveDate) -> Value {
    let master_id = master.get("id").and_then(Value::as_str).unwrap_or_default();
    let mut body = master.clone();
    for key in ["recurrence", "singleValueExtendedProperties", "extensions"] {
        body.remove(key);
    }
    let start = master.get("start").and_then(naive);
    let length = start
        .zip(master.get("end").and_then(naive))
        .map(|(s, e)| e - s)
        .unwrap_or_default();
    if let Some(s) = start {
        let zone = master["start"]["timeZone"].clone();
        let at = date.and_time(s.time());
        let fmt = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S.0000000").to_string();
        body.insert("start".into(), json!({"dateTime": fmt(at), "timeZone": zone}));
        body.insert("end".into(), json!({"dateTime": fmt(at + length), "timeZone": zone}));
        if zone.as_str() == Some("UTC") {
            body.insert(
                "originalStart".into(),
                json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            );
        }
    }
    if let Some(etag) = occurrences.etag_of(master, date) {
        body.insert("@odata.etag".into(), json!(etag));
    }
    body.insert("id".into(), json!(instance_id(master_id, date)));
    body.insert("seriesMasterId".into(), json!(master_id));
    body.insert(
        "occurrenceId".into(),
        json!(format!("OID.{master_id}.{}", date.format("%Y-%m-%d"))),
    );
    let kind = match occurrences.exceptions.get(&date) {
        Some(own) => {
            body.extend(own.clone());
            "exception"
        }
        None => "occurrence",
    };
    body.insert("type".into(), json!(kind));
    Value::Object(body)
}

/// `cancelledOccurrences` and `exceptionOccurrences` of a master.
pub(crate) fn master_view(master: &Map<String, Value>, occurrences: &Occurrences) -> (Value, Value) {
    let master_id = master.get("id").and_then(Value::as_str).unwrap_or_default();
    let cancelled: Vec<String> = occurrences
        .cancelled
        .iter()
        .map(|d| format!("OID.{master_id}.{}", d.format("%Y-%m-%d")))
        .collect();
    let exceptions: Vec<Value> = occurrences
        .exceptions
        .keys()
        .map(|d| instance(master, occurrences, *d))
        .collect();
    (json!(cancelled), Value::Array(exceptions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(pattern: Value, range: Value) -> Map<String, Value> {
        serde_json::from_value(json!({
            "id": "M", "type": "seriesMaster",
            "start": {"dateTime": "2026-10-05T09:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-10-05T10:00:00.0000000", "timeZone": "UTC"},
            "recurrence": {"pattern": pattern, "range": range},
        }))
        .unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn documented_patterns_expand_to_their_dates() {
        let weekly = master(
            json!({"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "wednesday"]}),
            json!({"type": "numbered", "startDate": "2026-10-05", "numberOfOccurrences": 4}),
        );
        let got = dates(&weekly, day("2026-01-01"), day("2027-01-01")).unwrap();
        assert_eq!(got, ["2026-10-05", "2026-10-07", "2026-10-19", "2026-10-21"].map(day));
        let daily = master(
            json!({"type": "daily", "interval": 1}),
            json!({"type": "endDate", "startDate": "2026-10-05", "endDate": "2026-10-07"}),
        );
        assert_eq!(
            dates(&daily, day("2026-10-06"), day("2027-01-01")).unwrap(),
            ["2026-10-06", "2026-10-07"].map(day)
        );
        let relative = master(json!({"type": "relativeMonthly"}), json!({"type": "noEnd"}));
        assert_eq!(
            dates(&relative, day("2026-10-06"), day("2027-01-01")),
            Err(SeriesError::UnsupportedPattern)
        );
    }

    #[test]
    fn an_instance_carries_its_occurrence_id_and_exception_values() {
        let m = master(
            json!({"type": "daily"}),
            json!({"type": "noEnd", "startDate": "2026-10-05"}),
        );
        let mut occ = Occurrences::default();
        let plain = instance(&m, &occ, day("2026-10-06"));
        assert_eq!(
            (&plain["occurrenceId"], &plain["type"], &plain["originalStart"]),
            (
                &json!("OID.M.2026-10-06"),
                &json!("occurrence"),
                &json!("2026-10-06T09:00:00Z")
            )
        );
        assert_eq!(plain["end"]["dateTime"], "2026-10-06T10:00:00.0000000");
        occ.exceptions.insert(
            day("2026-10-06"),
            serde_json::from_value(json!({"subject": "moved"})).unwrap(),
        );
        let exception = instance(&m, &occ, day("2026-10-06"));
        assert_eq!(
            (&exception["type"], &exception["subject"]),
            (&json!("exception"), &json!("moved"))
        );
        assert_eq!(
            split_instance_id(exception["id"].as_str().unwrap()),
            Some(("M", day("2026-10-06")))
        );
    }
}
