//! R-GRAPH-20 / R-CAL-4 for Graph: a series' modified occurrences
//! (`exceptionOccurrences`, events of `type` exception) and cancelled ones
//! (`cancelledOccurrences`) ↔ the overrides and EXDATEs the FieldMap's
//! recurrence carries, normalised as the iCalendar mapping does (an override
//! lists only what differs from the master).
//!
//! Shapes, https://learn.microsoft.com/en-us/graph/api/resources/event
//! (properties `cancelledOccurrences`, `occurrenceId`, `originalStart`,
//! relationship `exceptionOccurrences`): a series master read with
//! `$select=cancelledOccurrences,exceptionOccurrences&$expand=exceptionOccurrences`
//! carries
//! `"cancelledOccurrences": ["OID.{seriesMasterId}.2025-05-29"]` and
//! `"exceptionOccurrences": [{"id", "occurrenceId": "OID.{seriesMasterId}.2025-05-28",
//! "originalStart": "2025-05-28T10:00:00Z", "start": {...}, "end": {...}, "subject", ...}]`.
//! An occurrence is named by its original date in the series' zone (the
//! `occurrenceId` suffix): Graph patterns recur at most daily, so the date
//! is unique within a series.
//!
//! Both properties are read-only on the master. crmsync writes them in the
//! same shapes into the body it hands the connector, which takes them out
//! and writes the instances (PATCH an occurrence, DELETE a cancelled one).

use chrono::{Duration, NaiveDate};
use serde_json::{Map, Value, json};

use super::{html, time};
use crate::error::MappingError;
use crate::ical::{FullOverride, MappedOverride, MappedRecurrence, Master, Moment};
use crate::notes::split_notes;
use crate::text::norm_line;

/// The property carrying modified occurrences.
pub const EXCEPTIONS: &str = "exceptionOccurrences";
/// The property carrying the ids of cancelled occurrences.
pub const CANCELLED: &str = "cancelledOccurrences";

/// What an occurrence is placed against: the master's first start, its zone
/// and values.
pub(crate) struct Series<'a> {
    pub all_day: bool,
    pub first_start: Moment,
    /// The `timeZone` name the series recurs in.
    pub zone: &'a str,
    pub master: Master,
}

/// The original date of an occurrence from its `occurrenceId`
/// (`OID.{seriesMasterId}.{yyyy-MM-dd}`); `None` for anything else.
pub fn occurrence_date(occurrence_id: &str) -> Option<NaiveDate> {
    let rest = occurrence_id.strip_prefix("OID.")?;
    let (_, date) = rest.rsplit_once('.')?;
    time::date(date)
}

/// `OID.{master}.{date}`.
pub fn occurrence_id(master: &str, date: NaiveDate) -> String {
    format!("OID.{master}.{}", date.format("%Y-%m-%d"))
}

impl Series<'_> {
    /// The local wall-clock date of `moment` in the series' zone.
    fn day_of(&self, moment: Moment) -> NaiveDate {
        match moment {
            Moment::Date(d) => d,
            Moment::Instant(_) => {
                let local = time::write(moment, Some(self.zone));
                local["dateTime"]
                    .as_str()
                    .and_then(|s| s.get(..10))
                    .and_then(time::date)
                    .unwrap_or_else(|| moment.as_instant().date_naive())
            }
        }
    }

    /// The slot (RECURRENCE-ID) of the occurrence originally on `date`: the
    /// date at the master's wall-clock start time in the series' zone.
    fn slot(&self, date: NaiveDate) -> Result<Moment, MappingError> {
        if self.all_day {
            return Ok(Moment::Date(date));
        }
        let first = time::write(self.first_start, Some(self.zone));
        let clock = first["dateTime"]
            .as_str()
            .and_then(|s| s.get(10..))
            .unwrap_or("T00:00:00");
        let local =
            json!({"slot": {"dateTime": format!("{}{clock}", date.format("%Y-%m-%d")), "timeZone": first["timeZone"]}});
        Ok(time::read(&local, "slot", false)?.unwrap_or(self.first_start))
    }

    fn date_of_exception(&self, exception: &Value) -> Option<NaiveDate> {
        exception["occurrenceId"]
            .as_str()
            .and_then(occurrence_date)
            .or_else(|| time::instant(exception, "originalStart").map(|t| self.day_of(Moment::Instant(t))))
    }

    /// Adds the item's exceptions and cancelled occurrences to `series`.
    pub(crate) fn read(&self, item: &Value, series: &mut MappedRecurrence) -> Result<(), MappingError> {
        for id in item[CANCELLED].as_array().map(Vec::as_slice).unwrap_or_default() {
            let date = id
                .as_str()
                .and_then(occurrence_date)
                .ok_or_else(|| super::invalid(&format!("a cancelled occurrence id without a date: {id}")))?;
            series.exdates.push(self.slot(date)?.to_field());
        }
        for exception in item[EXCEPTIONS].as_array().map(Vec::as_slice).unwrap_or_default() {
            let date = self
                .date_of_exception(exception)
                .ok_or_else(|| super::invalid("an exception without occurrenceId or originalStart"))?;
            let full = FullOverride {
                recurrence_id: self.slot(date)?,
                start: time::read(exception, "start", self.all_day)?,
                end: time::read(exception, "end", self.all_day)?,
                subject: Some(exception["subject"].as_str().map(norm_line).unwrap_or_default()),
                location: Some(
                    exception["location"]["displayName"]
                        .as_str()
                        .map(norm_line)
                        .unwrap_or_default(),
                ),
                description: Some(split_notes(&html::body_text(&exception["body"])).0),
            };
            series.overrides.push(full.normalize(&self.master));
        }
        Ok(())
    }

    /// One exception as the body of its instance, named by `occurrenceId`.
    fn write_exception(&self, master_id: &str, o: &MappedOverride) -> Option<Value> {
        let slot = Moment::from_field(&o.recurrence_id)?;
        let start = o.start.as_deref().and_then(Moment::from_field).unwrap_or(slot);
        let end = o
            .end
            .as_deref()
            .and_then(Moment::from_field)
            .unwrap_or_else(|| start.plus(self.master.duration));
        let text = |v: &Option<String>, m: &str| v.clone().unwrap_or_else(|| m.to_string());
        Some(json!({
            "occurrenceId": occurrence_id(master_id, self.day_of(slot)),
            "subject": text(&o.subject, &self.master.subject),
            "body": {"contentType": "text", "content": text(&o.description, &self.master.description)},
            "location": {"displayName": text(&o.location, &self.master.location)},
            "start": time::write(start, Some(self.zone)),
            "end": time::write(end, Some(self.zone)),
        }))
    }

    /// Writes `series`' exceptions and cancelled occurrences into `out`.
    pub(crate) fn write(&self, master_id: &str, series: &MappedRecurrence, out: &mut Map<String, Value>) {
        let mut cancelled: Vec<String> = series
            .exdates
            .iter()
            .filter_map(|e| Moment::from_field(e))
            .map(|m| occurrence_id(master_id, self.day_of(m)))
            .collect();
        cancelled.sort();
        cancelled.dedup();
        let exceptions: Vec<Value> = series
            .overrides
            .iter()
            .filter_map(|o| self.write_exception(master_id, o))
            .collect();
        out.insert(CANCELLED.into(), json!(cancelled));
        out.insert(EXCEPTIONS.into(), Value::Array(exceptions));
    }
}

/// The length of the master, for overrides that keep it.
pub(crate) fn duration(start: Option<Moment>, end: Option<Moment>) -> Duration {
    match (start, end) {
        (Some(s), Some(e)) => e.as_instant() - s.as_instant(),
        _ => Duration::zero(),
    }
}
