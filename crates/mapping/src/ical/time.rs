//! Date-times of iCalendar properties: DATE, UTC, TZID-local and floating
//! values all become a [`Moment`]; equal instants written in different
//! zones become equal moments, so server churn never looks like an edit.

use std::str::FromStr;

use calcard::common::PartialDateTime;
use calcard::common::timezone::Tz;
use calcard::icalendar::timezone::TzResolver;
use calcard::icalendar::{
    ICalendarEntry, ICalendarParameter, ICalendarParameterName, ICalendarParameterValue, ICalendarPeriod,
    ICalendarProperty, ICalendarValue, ICalendarValueType,
};
use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

use crate::content_line::RawLine;
use crate::error::{Format, MappingError};
use crate::text::{fmt_date, fmt_utc, parse_field_date};

/// A point in time as the FieldMap carries it: a whole day (all-day items)
/// or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Moment {
    Date(NaiveDate),
    Instant(DateTime<Utc>),
}

impl Moment {
    pub fn to_field(self) -> String {
        match self {
            Moment::Date(d) => fmt_date(d),
            Moment::Instant(t) => fmt_utc(t),
        }
    }

    pub fn from_field(s: &str) -> Option<Moment> {
        if let Some(d) = parse_field_date(s) {
            return Some(Moment::Date(d));
        }
        DateTime::parse_from_rfc3339(s.trim())
            .ok()
            .map(|t| Moment::Instant(t.with_timezone(&Utc)))
    }

    /// Dates count as midnight UTC; only differences between moments of
    /// one item are computed, so the reference does not matter.
    pub fn as_instant(self) -> DateTime<Utc> {
        match self {
            Moment::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            Moment::Instant(t) => t,
        }
    }

    pub fn plus(self, d: Duration) -> Moment {
        match self {
            Moment::Date(date) => Moment::Date(date + Duration::days(d.num_days())),
            Moment::Instant(t) => Moment::Instant(t + d),
        }
    }

    pub fn is_date(self) -> bool {
        matches!(self, Moment::Date(_))
    }
}

/// Where TZIDs are looked up: the item's VTIMEZONEs (with X-LIC-LOCATION /
/// Microsoft zone ids), IANA and Windows names; floating times use the
/// calendar's X-WR-TIMEZONE or UTC (R-MAP-8).
pub(crate) struct TimeContext {
    pub resolver: TzResolver<String>,
    pub floating: Tz,
}

/// A time value read from one property, with the zone it was written in.
#[derive(Debug, Clone)]
pub(crate) struct ReadTime {
    pub moment: Moment,
    /// The IANA name of that zone, when there is one.
    pub zone: Option<String>,
    /// How to write a changed value so it looks like this one.
    pub style: TimeStyle,
}

fn invalid(line: &RawLine, value: &str) -> MappingError {
    MappingError::InvalidDate {
        format: Format::ICalendar,
        line: line.line_no,
        property: line.name.clone(),
        value: value.to_string(),
    }
}

/// All time values of a property (EXDATE and RDATE may hold several).
pub(crate) fn read_times(
    line: &RawLine,
    entry: &ICalendarEntry,
    ctx: &TimeContext,
) -> Result<Vec<ReadTime>, MappingError> {
    let raw_value = line.value_text().to_string();
    let tzid = entry.tz_id().map(str::to_string);
    let hint = zone_hint(entry);
    let mut out = Vec::new();
    if entry.values.is_empty() {
        return Err(invalid(line, &raw_value));
    }
    for value in &entry.values {
        let pdt = match value {
            ICalendarValue::PartialDateTime(p) => p.as_ref(),
            ICalendarValue::Period(ICalendarPeriod::Range { start, .. })
            | ICalendarValue::Period(ICalendarPeriod::Duration { start, .. }) => start,
            _ => return Err(invalid(line, &raw_value)),
        };
        let mut time = read_one(line, pdt, tzid.as_deref(), ctx, &raw_value)?;
        if let (TimeStyle::Utc, Some(style)) = (&time.style, &hint)
            && tzid.is_none()
            && matches!(time.moment, Moment::Instant(_))
        {
            time.zone = style.zone_name();
            time.style = style.clone();
        }
        out.push(time);
    }
    Ok(out)
}

/// The zone a UTC line was planned in, from crmsync's own `X-CRMSYNC-TZID`
/// parameter (written by [`time_entry`] for the repeated hour at DST end).
/// Other parameters named so, or unknown zones, are ignored: the time itself
/// is exact either way.
fn zone_hint(entry: &ICalendarEntry) -> Option<TimeStyle> {
    entry.params.iter().find_map(|p| match (&p.name, &p.value) {
        (ICalendarParameterName::Other(n), ICalendarParameterValue::Text(zone))
            if n.eq_ignore_ascii_case(ZONE_HINT) =>
        {
            match TimeStyle::for_zone(zone)? {
                style @ TimeStyle::Zoned { .. } => Some(style),
                _ => None,
            }
        }
        _ => None,
    })
}

/// Parameter naming the zone of a line crmsync had to write in UTC.
const ZONE_HINT: &str = "X-CRMSYNC-TZID";

pub(crate) fn read_time(line: &RawLine, entry: &ICalendarEntry, ctx: &TimeContext) -> Result<ReadTime, MappingError> {
    Ok(read_times(line, entry, ctx)?.remove(0))
}

fn read_one(
    line: &RawLine,
    p: &PartialDateTime,
    tzid: Option<&str>,
    ctx: &TimeContext,
    raw_value: &str,
) -> Result<ReadTime, MappingError> {
    let date = match (p.year, p.month, p.day) {
        (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y as i32, m as u32, d as u32),
        _ => None,
    }
    .ok_or_else(|| invalid(line, raw_value))?;
    let Some(hour) = p.hour else {
        return Ok(ReadTime {
            moment: Moment::Date(date),
            zone: None,
            style: TimeStyle::Date,
        });
    };
    let naive = date
        .and_hms_opt(
            hour as u32,
            p.minute.unwrap_or(0) as u32,
            p.second.unwrap_or(0).min(59) as u32,
        )
        .ok_or_else(|| invalid(line, raw_value))?;
    if let Some(tz_hour) = p.tz_hour {
        let secs = (tz_hour as i64 * 3600 + p.tz_minute.unwrap_or(0) as i64 * 60) * if p.tz_minus { -1 } else { 1 };
        let utc = (naive - Duration::seconds(secs)).and_utc();
        return Ok(ReadTime {
            moment: Moment::Instant(utc),
            zone: None,
            style: TimeStyle::Utc,
        });
    }
    let (tz, tzid) = match tzid {
        Some(id) => {
            let tz = ctx.resolver.resolve(id).ok_or_else(|| MappingError::UnknownTimeZone {
                format: Format::ICalendar,
                line: line.line_no,
                property: line.name.clone(),
                tzid: id.to_string(),
            })?;
            (tz, Some(id.to_string()))
        }
        None => (ctx.floating, None),
    };
    let (zone, style) = match (tz, &tzid) {
        (Tz::Tz(t), Some(id)) if !Tz::Tz(t).is_utc() => (
            Some(t.name().to_string()),
            TimeStyle::Zoned {
                tzid: id.clone(),
                tz: t,
            },
        ),
        _ => (None, TimeStyle::Utc),
    };
    Ok(ReadTime {
        moment: Moment::Instant(local_to_utc(tz, naive)),
        zone,
        style,
    })
}

/// Local time → UTC. Ambiguous times (DST end) take the earlier instant;
/// times in a DST gap are read with the offset before the gap (RFC 5545 §3.3.5).
pub(crate) fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> DateTime<Utc> {
    let tz = if tz.is_floating() { Tz::UTC } else { tz };
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            let before = naive - Duration::hours(3);
            match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc) + Duration::hours(3),
                LocalResult::None => naive.and_utc(),
            }
        }
    }
}

/// How a component writes its times: the style of its DTSTART, so that
/// EXDATE, RDATE and RECURRENCE-ID match it as clients expect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeStyle {
    Date,
    Utc,
    /// `tzid` as written in the item (may be a Windows name), `tz` what it means.
    Zoned {
        tzid: String,
        tz: chrono_tz::Tz,
    },
}

impl TimeStyle {
    /// The style for a zone name, when it is one crmsync can write.
    pub fn for_zone(zone: &str) -> Option<TimeStyle> {
        let tz = chrono_tz::Tz::from_str(zone).ok()?;
        if tz == chrono_tz::UTC || tz == chrono_tz::Etc::UTC {
            return Some(TimeStyle::Utc);
        }
        Some(TimeStyle::Zoned {
            tzid: zone.to_string(),
            tz,
        })
    }

    pub fn zone_name(&self) -> Option<String> {
        match self {
            TimeStyle::Zoned { tz, .. } => Some(tz.name().to_string()),
            _ => None,
        }
    }
}

fn pdt_of(m: Moment, style: &TimeStyle) -> PartialDateTime {
    let (naive, utc) = match (m, style) {
        (Moment::Date(d), _) => {
            return PartialDateTime {
                year: Some(d.year() as u16),
                month: Some(d.month() as u8),
                day: Some(d.day() as u8),
                ..Default::default()
            };
        }
        (Moment::Instant(t), TimeStyle::Zoned { tz, .. }) => (t.with_timezone(tz).naive_local(), false),
        (Moment::Instant(t), _) => (t.naive_utc(), true),
    };
    PartialDateTime {
        year: Some(naive.year() as u16),
        month: Some(naive.month() as u8),
        day: Some(naive.day() as u8),
        hour: Some(naive.hour() as u8),
        minute: Some(naive.minute() as u8),
        second: Some(naive.second() as u8),
        tz_hour: utc.then_some(0),
        tz_minute: utc.then_some(0),
        tz_minus: false,
    }
}

/// A time property line (`DTSTART;TZID=Europe/Berlin:20261121T100000`).
pub(crate) fn time_entry(name: ICalendarProperty, moments: &[Moment], style: &TimeStyle) -> ICalendarEntry {
    // The later of two instants that share a local time (the hour repeated
    // at DST end) cannot be written in the zone: a reader takes the earlier
    // one (RFC 5545 §3.3.5). Such a line is written in UTC, which every
    // reader reads exactly (R-MAP-19-AMBIGUOUS). The zone it was planned in
    // rides along in an X-parameter (RFC 5545 §3.2 lets readers ignore it,
    // and forbids TZID on a UTC value), so the event keeps its zone on the
    // way back (R-MAP-19).
    let mut params = Vec::new();
    let style = match style {
        TimeStyle::Zoned { tz, .. } if moments.iter().any(|m| !survives_zone(*m, *tz)) => {
            params.push(ICalendarParameter {
                name: ICalendarParameterName::Other(ZONE_HINT.into()),
                value: ICalendarParameterValue::Text(tz.name().to_string()),
            });
            &TimeStyle::Utc
        }
        style => style,
    };
    let all_dates = moments.iter().all(|m| m.is_date());
    if all_dates {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Value,
            value: ICalendarParameterValue::Value(ICalendarValueType::Date),
        });
    } else if let TimeStyle::Zoned { tzid, .. } = style {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Tzid,
            value: ICalendarParameterValue::Text(tzid.clone()),
        });
    }
    let values = moments
        .iter()
        .map(|m| ICalendarValue::PartialDateTime(Box::new(pdt_of(*m, style))))
        .collect();
    ICalendarEntry { name, params, values }
}

/// Whether `m`, written as a local time of `tz`, reads back as `m`.
fn survives_zone(m: Moment, tz: chrono_tz::Tz) -> bool {
    match m {
        Moment::Date(_) => true,
        Moment::Instant(t) => local_to_utc(Tz::Tz(tz), t.with_timezone(&tz).naive_local()) == t,
    }
}

pub(crate) fn utc_entry(name: ICalendarProperty, t: DateTime<Utc>) -> ICalendarEntry {
    time_entry(name, &[Moment::Instant(t)], &TimeStyle::Utc)
}
