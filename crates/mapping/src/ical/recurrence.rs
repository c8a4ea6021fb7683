//! R-CAL-4: a series as one canonical JSON value: the rule, extra and
//! excluded dates, and overridden occurrences. Both sides are normalised
//! the same way: an override lists only what differs from the master.

use calcard::icalendar::{ICalendar, ICalendarProperty, ICalendarValue};
use chrono::Duration;
use serde::{Deserialize, Serialize};

use super::time::Moment;
use crate::text::norm_line;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MappedRecurrence {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exdates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<MappedOverride>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rdates: Vec<String>,
    #[serde(default)]
    pub rule: String,
}

/// Field order is alphabetical so serde's output is canonical JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MappedOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub recurrence_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// What an override is compared against.
#[derive(Debug, Clone, Default)]
pub(crate) struct Master {
    pub duration: Duration,
    pub subject: String,
    pub location: String,
    pub description: String,
}

/// An occurrence as read, before normalisation: full values.
#[derive(Debug, Clone)]
pub(crate) struct FullOverride {
    pub recurrence_id: Moment,
    pub start: Option<Moment>,
    pub end: Option<Moment>,
    pub subject: Option<String>,
    pub location: Option<String>,
    pub description: Option<String>,
}

impl FullOverride {
    /// Keeps only what differs from the master: a start equal to the
    /// original slot, an end equal to start + the series' duration, and texts
    /// equal to the master's are "unchanged" (None).
    pub fn normalize(&self, master: &Master) -> MappedOverride {
        let start = self.start.unwrap_or(self.recurrence_id);
        let default_end = start.plus(master.duration);
        let differs = |v: &Option<String>, m: &str| v.as_ref().filter(|v| v.as_str() != m).cloned();
        MappedOverride {
            recurrence_id: self.recurrence_id.to_field(),
            start: (start != self.recurrence_id).then(|| start.to_field()),
            end: self.end.filter(|e| *e != default_end).map(Moment::to_field),
            subject: differs(&self.subject, &master.subject),
            location: differs(&self.location, &master.location),
            description: differs(&self.description, &master.description),
        }
    }
}

impl MappedRecurrence {
    pub fn finish(mut self) -> MappedRecurrence {
        self.rule = normalize_rule(&self.rule);
        for list in [&mut self.exdates, &mut self.rdates] {
            list.sort();
            list.dedup();
        }
        self.overrides.sort_by(|a, b| a.recurrence_id.cmp(&b.recurrence_id));
        self.overrides.dedup_by(|a, b| a.recurrence_id == b.recurrence_id);
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Option<MappedRecurrence> {
        serde_json::from_str(s).ok()
    }
}

/// The RRULE value in calcard's canonical part order, without the default
/// `INTERVAL=1`. A rule calcard cannot read is kept as written.
pub(crate) fn normalize_rule(rule: &str) -> String {
    let rule = norm_line(rule);
    let rule = rule.strip_prefix("RRULE:").unwrap_or(&rule);
    if rule.is_empty() {
        return String::new();
    }
    let wrapped = format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nRRULE:{rule}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let parsed = ICalendar::parse(&wrapped).ok().and_then(|cal| {
        cal.components
            .iter()
            .flat_map(|c| c.entries.iter())
            .find_map(|e| match (&e.name, e.values.first()) {
                (ICalendarProperty::Rrule, Some(ICalendarValue::RecurrenceRule(r))) => Some(r.to_string()),
                _ => None,
            })
    });
    match parsed {
        Some(text) => text
            .replace(";INTERVAL=1;", ";")
            .trim_end_matches(";INTERVAL=1")
            .to_string(),
        None => rule.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_parts_are_ordered_and_default_interval_dropped() {
        assert_eq!(
            normalize_rule("BYDAY=MO,WE;FREQ=WEEKLY;INTERVAL=1"),
            normalize_rule("FREQ=WEEKLY;BYDAY=MO,WE")
        );
        assert!(normalize_rule("FREQ=DAILY;COUNT=3").contains("COUNT=3"));
    }
}
