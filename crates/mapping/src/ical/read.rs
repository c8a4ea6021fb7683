//! Reads a calendar object (one VEVENT or VTODO series with its overrides)
//! into the canonical FieldMap, remembering which line fed which field so
//! the renderer can rewrite only what changed.

use calcard::common::timezone::Tz;
use calcard::icalendar::{
    ICalendar, ICalendarAction, ICalendarClassification, ICalendarEntry, ICalendarStatus, ICalendarValue,
};
use chrono::{DateTime, Duration, Utc};
use crmsync_model::{ActivityKind, FieldMap};

use super::participants::{self, MappedParticipant};
use super::recurrence::{FullOverride, MappedRecurrence, Master};
use super::time::{Moment, ReadTime, TimeContext, TimeStyle, read_time, read_times};
use super::{CalendarComponent, kind_category};
use crate::content_line::{Node, RawComponent, RawLine, parse_tree, split_lines};
use crate::error::{Format, MappingError};
use crate::notes::split_notes;
use crate::text::{join_sorted, norm_line};

/// The mapped property groups of an event or task. Each maps to FieldMap
/// keys; a group is rewritten only when one of its keys changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ISlot {
    Uid,
    Summary,
    Description,
    Location,
    Start,
    End,
    Due,
    Completed,
    Percent,
    Priority,
    Status,
    Class,
    Categories,
    Kind,
    Regarding,
    Recurrence,
    Participants,
    Alarm,
}

impl ISlot {
    pub fn keys(self) -> &'static [&'static str] {
        match self {
            ISlot::Uid => &["ical_uid"],
            ISlot::Summary => &["subject"],
            ISlot::Description => &["description", "journal"],
            ISlot::Location => &["location"],
            ISlot::Start => &["start", "all_day", "time_zone"],
            ISlot::End => &["end", "all_day", "time_zone"],
            ISlot::Due => &["due", "all_day", "time_zone"],
            ISlot::Completed => &["completed_at"],
            ISlot::Percent => &["percent_complete"],
            ISlot::Priority => &["priority"],
            ISlot::Status => &["state"],
            ISlot::Class => &["privacy"],
            ISlot::Categories => &["categories", "kind"],
            ISlot::Kind => &["kind"],
            ISlot::Regarding => &["regarding"],
            ISlot::Recurrence => &["recurrence", "time_zone", "all_day"],
            ISlot::Participants => &["participants"],
            ISlot::Alarm => &["reminder_minutes"],
        }
    }

    /// The slots whose change must bump SEQUENCE (RFC 5546 §2.1.4: date,
    /// time and recurrence changes are what attendees must re-confirm).
    pub fn is_significant(self) -> bool {
        matches!(
            self,
            ISlot::Start | ISlot::End | ISlot::Due | ISlot::Recurrence | ISlot::Status
        )
    }

    pub fn all(component: CalendarComponent) -> Vec<ISlot> {
        use ISlot::*;
        let mut v = vec![Uid, Summary, Location, Description, Start];
        match component {
            CalendarComponent::Event => v.extend([End, Participants]),
            CalendarComponent::Todo => v.extend([Due, Completed, Percent, Kind]),
        }
        v.extend([Priority, Status, Class, Categories, Regarding, Recurrence, Alarm]);
        v
    }
}

fn slot_of(line: &RawLine, component: CalendarComponent) -> Option<ISlot> {
    Some(match line.name.as_str() {
        "UID" => ISlot::Uid,
        "SUMMARY" => ISlot::Summary,
        "DESCRIPTION" => ISlot::Description,
        "LOCATION" => ISlot::Location,
        "DTSTART" => ISlot::Start,
        "DTEND" if component == CalendarComponent::Event => ISlot::End,
        "DURATION" if component == CalendarComponent::Event => ISlot::End,
        "DURATION" | "DUE" if component == CalendarComponent::Todo => ISlot::Due,
        "COMPLETED" if component == CalendarComponent::Todo => ISlot::Completed,
        "PERCENT-COMPLETE" if component == CalendarComponent::Todo => ISlot::Percent,
        "PRIORITY" => ISlot::Priority,
        "STATUS" => ISlot::Status,
        "CLASS" => ISlot::Class,
        "CATEGORIES" => ISlot::Categories,
        "X-CRMSYNC-TYPE" if component == CalendarComponent::Todo => ISlot::Kind,
        "X-CRMSYNC-REGARDING" => ISlot::Regarding,
        "RRULE" | "RDATE" | "EXDATE" => ISlot::Recurrence,
        "ORGANIZER" | "ATTENDEE" if component == CalendarComponent::Event => ISlot::Participants,
        _ => return None,
    })
}

/// Slots that hold at most one line; a second such line is foreign.
fn single(slot: ISlot) -> bool {
    !matches!(slot, ISlot::Categories | ISlot::Recurrence | ISlot::Participants)
}

/// One VEVENT/VTODO: its property lines with calcard's reading and slot.
pub(crate) struct CompView {
    pub comp: RawComponent,
    pub props: Vec<(RawLine, Option<ICalendarEntry>, Option<ISlot>)>,
    /// Index (among sub-components) of the VALARM that carries the reminder.
    pub alarm: Option<usize>,
    pub reminder: Option<i64>,
}

impl CompView {
    fn new(comp: RawComponent, component: CalendarComponent) -> CompView {
        let mut props = Vec::new();
        let mut rrule_seen = false;
        let mut seen: Vec<ISlot> = Vec::new();
        for line in comp.props() {
            let entry = parse_entry(line);
            let mut slot = entry.as_ref().and_then(|_| slot_of(line, component));
            if line.is("RRULE") {
                if rrule_seen {
                    slot = None;
                }
                rrule_seen = true;
            }
            if let (Some(s), Some(e)) = (slot, entry.as_ref()) {
                let not_a_person =
                    s == ISlot::Participants && (!participants::is_person(e) || participants::entry_email(e).is_none());
                if not_a_person || (single(s) && seen.contains(&s)) {
                    slot = None;
                }
            }
            if let Some(s) = slot {
                seen.push(s);
            }
            props.push((line.clone(), entry, slot));
        }
        CompView {
            comp,
            props,
            alarm: None,
            reminder: None,
        }
    }

    pub fn first(&self, slot: ISlot) -> Option<(&RawLine, &ICalendarEntry)> {
        self.props
            .iter()
            .find(|(_, _, s)| *s == Some(slot))
            .and_then(|(l, e, _)| e.as_ref().map(|e| (l, e)))
    }

    pub fn all(&self, slot: ISlot) -> impl Iterator<Item = (&RawLine, &ICalendarEntry)> {
        self.props
            .iter()
            .filter(move |(_, _, s)| *s == Some(slot))
            .filter_map(|(l, e, _)| e.as_ref().map(|e| (l, e)))
    }

    pub fn prop(&self, name: &str) -> Option<(&RawLine, &ICalendarEntry)> {
        self.props
            .iter()
            .find(|(l, _, _)| l.is(name))
            .and_then(|(l, e, _)| e.as_ref().map(|e| (l, e)))
    }

    pub fn text(&self, slot: ISlot) -> Option<String> {
        self.first(slot).and_then(|(_, e)| entry_text(e))
    }
}

pub(crate) fn entry_text(e: &ICalendarEntry) -> Option<String> {
    let parts: Vec<String> = e
        .values
        .iter()
        .filter_map(|v| v.as_text().map(str::to_string))
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// calcard's reading of one property line, wrapped in a component of its own.
pub(crate) fn parse_entry(line: &RawLine) -> Option<ICalendarEntry> {
    let wrapped = format!(
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        line.text
    );
    let cal = ICalendar::parse(&wrapped).ok()?;
    cal.components
        .into_iter()
        .find(|c| !c.entries.is_empty() && c.component_type.is_event())?
        .entries
        .into_iter()
        .next()
}

/// The calendar object, split into its parts.
pub(crate) struct CalLayout {
    pub root: RawComponent,
    pub component: CalendarComponent,
    pub uid: String,
    /// Index in `root.children` of the master and of each override.
    pub master_at: usize,
    pub master: CompView,
    pub overrides: Vec<(usize, CompView)>,
    pub ctx: TimeContext,
}

impl CalLayout {
    pub fn read(text: &str) -> Result<CalLayout, MappingError> {
        let f = Format::ICalendar;
        let root = parse_tree(f, split_lines(f, text)?)?;
        if root.name != "VCALENDAR" {
            return Err(MappingError::WrongComponent {
                format: f,
                expected: "VCALENDAR".into(),
                found: root.name,
            });
        }
        let ctx = time_context(text, &root);
        let mut component = None;
        let mut master = None;
        let mut overrides = Vec::new();
        let mut uid: Option<String> = None;
        for (idx, node) in root.children.iter().enumerate() {
            let Node::Comp(c) = node else { continue };
            let this = match c.name.as_str() {
                "VEVENT" => CalendarComponent::Event,
                "VTODO" => CalendarComponent::Todo,
                "VJOURNAL" | "VFREEBUSY" => {
                    return Err(MappingError::WrongComponent {
                        format: f,
                        expected: "VEVENT or VTODO".into(),
                        found: c.name.clone(),
                    });
                }
                _ => continue,
            };
            if component.is_some_and(|k| k != this) {
                return Err(MappingError::WrongComponent {
                    format: f,
                    expected: "events or tasks, not both".into(),
                    found: format!("{} on line {}", c.name, c.begin.line_no),
                });
            }
            component = Some(this);
            let this_uid = c
                .prop("UID")
                .map(|l| unescape_text(l.value_text().trim()))
                .filter(|u| !u.is_empty());
            let Some(this_uid) = this_uid else {
                return Err(MappingError::MissingUid { format: f });
            };
            if uid.as_ref().is_some_and(|u| *u != this_uid) {
                return Err(MappingError::WrongComponent {
                    format: f,
                    expected: format!("one series with UID {:?}", uid.unwrap_or_default()),
                    found: format!("UID {this_uid:?} on line {}", c.begin.line_no),
                });
            }
            uid = Some(this_uid);
            let view = CompView::new(c.clone(), this);
            if c.prop("RECURRENCE-ID").is_some() {
                overrides.push((idx, view));
            } else if master.is_some() {
                return Err(MappingError::malformed(
                    f,
                    c.begin.line_no,
                    "a second master component with the same UID",
                ));
            } else {
                master = Some((idx, view));
            }
        }
        let Some(component) = component else {
            return Err(MappingError::WrongComponent {
                format: f,
                expected: "VEVENT or VTODO".into(),
                found: "nothing".into(),
            });
        };
        let Some((master_at, mut master)) = master else {
            let line = overrides.first().map(|(_, v)| v.comp.begin.line_no).unwrap_or(1);
            return Err(MappingError::malformed(
                f,
                line,
                "only overridden occurrences (RECURRENCE-ID), no master component",
            ));
        };
        find_alarm(&mut master);
        Ok(CalLayout {
            root,
            component,
            uid: uid.unwrap_or_default(),
            master_at,
            master,
            overrides,
            ctx,
        })
    }
}

fn time_context(text: &str, root: &RawComponent) -> TimeContext {
    let resolver = ICalendar::parse(text)
        .map(|c| c.build_owned_tz_resolver())
        .unwrap_or_else(|_| ICalendar { components: vec![] }.build_owned_tz_resolver());
    let floating = root
        .prop("X-WR-TIMEZONE")
        .and_then(|l| resolver.resolve(l.value_text().trim()))
        .unwrap_or(Tz::UTC);
    TimeContext { resolver, floating }
}

/// The first VALARM that has a readable trigger carries the reminder.
fn find_alarm(view: &mut CompView) {
    for (i, alarm) in view.comp.components().enumerate() {
        if alarm.name != "VALARM" {
            continue;
        }
        let action_ok = alarm.prop("ACTION").and_then(parse_entry).is_none_or(|e| {
            matches!(
                e.values.first(),
                Some(ICalendarValue::Action(
                    ICalendarAction::Display | ICalendarAction::Audio
                )) | None
            )
        });
        let Some(trigger) = alarm.prop("TRIGGER").and_then(parse_entry) else {
            continue;
        };
        if let (true, Some(ICalendarValue::Duration(d))) = (action_ok, trigger.values.first()) {
            view.alarm = Some(i);
            view.reminder = Some(-d.as_seconds() / 60);
            return;
        }
    }
}

/// Everything parse_ical reports besides the FieldMap.
pub(crate) struct ReadResult {
    pub fields: FieldMap,
    pub kind: ActivityKind,
    pub time_zone: Option<String>,
    pub start_style: Option<TimeStyle>,
    pub last_modified: Option<DateTime<Utc>>,
}

fn time_of(view: &CompView, slot: ISlot, ctx: &TimeContext) -> Result<Option<ReadTime>, MappingError> {
    view.first(slot).map(|(l, e)| read_time(l, e, ctx)).transpose()
}

fn duration_of(e: &ICalendarEntry) -> Option<Duration> {
    match e.values.first() {
        Some(ICalendarValue::Duration(d)) => Some(Duration::seconds(d.as_seconds())),
        _ => None,
    }
}

pub(crate) fn kind_of(view: &CompView, component: CalendarComponent) -> ActivityKind {
    if component == CalendarComponent::Event {
        return ActivityKind::Appointment;
    }
    let tagged = view.text(ISlot::Kind).and_then(|t| ActivityKind::parse(t.trim()));
    if let Some(kind) = tagged.filter(|k| k.is_task_like()) {
        return kind;
    }
    // A client that dropped the X- property still kept the category (R-MAP-5).
    let categories: Vec<String> = view
        .all(ISlot::Categories)
        .flat_map(|(_, e)| categories_of(e))
        .collect();
    [ActivityKind::PhoneCall, ActivityKind::Fax, ActivityKind::Letter]
        .into_iter()
        .find(|k| {
            categories
                .iter()
                .any(|c| kind_category(*k).is_some_and(|kc| c.eq_ignore_ascii_case(kc)))
        })
        .unwrap_or(ActivityKind::Task)
}

fn categories_of(e: &ICalendarEntry) -> Vec<String> {
    e.values
        .iter()
        .filter_map(|v| v.as_text())
        .map(norm_line)
        .filter(|s| !s.is_empty())
        .collect()
}

pub(crate) fn read_item(layout: &CalLayout) -> Result<ReadResult, MappingError> {
    let view = &layout.master;
    let ctx = &layout.ctx;
    let component = layout.component;
    let kind = kind_of(view, component);
    let mut map = FieldMap::new();
    map.set("kind", kind.as_str());
    map.set("ical_uid", layout.uid.clone());
    map.set_opt("subject", view.text(ISlot::Summary).map(|s| norm_line(&s)));
    let (description, journal) = split_notes(&view.text(ISlot::Description).unwrap_or_default());
    map.set("description", description.clone());
    map.set("journal", journal);
    let location = view.text(ISlot::Location).map(|s| norm_line(&s)).unwrap_or_default();
    map.set("location", location.clone());

    let start = time_of(view, ISlot::Start, ctx)?;
    let start_moment = start.as_ref().map(|t| t.moment);
    let mut all_day = start_moment.is_some_and(Moment::is_date);
    map.set_opt("start", start_moment.map(Moment::to_field));
    let mut duration = Duration::zero();
    match component {
        CalendarComponent::Event => {
            let end = match view.first(ISlot::End) {
                Some((l, e)) if l.is("DTEND") => Some(read_time(l, e, ctx)?.moment),
                Some((_, e)) => start_moment.zip(duration_of(e)).map(|(s, d)| s.plus(d)),
                // RFC 5545 §3.6.1: no end means one day for dates, zero length otherwise.
                None => start_moment.map(|s| if s.is_date() { s.plus(Duration::days(1)) } else { s }),
            };
            if let (Some(s), Some(e)) = (start_moment, end) {
                duration = e.as_instant() - s.as_instant();
            }
            map.set_opt("end", end.map(Moment::to_field));
            let list = read_participants(view);
            map.set("participants", participants::to_json(list));
        }
        CalendarComponent::Todo => {
            let due = match view.first(ISlot::Due) {
                Some((l, e)) if l.is("DUE") => Some(read_time(l, e, ctx)?.moment),
                Some((_, e)) => start_moment.zip(duration_of(e)).map(|(s, d)| s.plus(d)),
                None => None,
            };
            // A task with only a due date is all-day when that date has no time.
            all_day |= start_moment.is_none() && due.is_some_and(Moment::is_date);
            map.set_opt("due", due.map(Moment::to_field));
            if let Some(t) = time_of(view, ISlot::Completed, ctx)? {
                map.set("completed_at", Moment::Instant(t.moment.as_instant()).to_field());
            }
            let percent = view
                .first(ISlot::Percent)
                .and_then(|(_, e)| e.values.first()?.as_integer());
            map.set_opt(
                "percent_complete",
                percent.filter(|p| (1..=100).contains(p)).map(|p| p.to_string()),
            );
        }
    }
    if all_day {
        map.set("all_day", "true");
    }
    let priority = view
        .first(ISlot::Priority)
        .and_then(|(_, e)| e.values.first()?.as_integer());
    map.set_opt(
        "priority",
        priority.filter(|p| (1..=9).contains(p)).map(|p| p.to_string()),
    );
    map.set_opt("state", read_state(view, component));
    let privacy = view.first(ISlot::Class).and_then(|(_, e)| match e.values.first() {
        Some(ICalendarValue::Classification(ICalendarClassification::Private)) => Some("private"),
        Some(ICalendarValue::Classification(ICalendarClassification::Confidential)) => Some("confidential"),
        _ => None,
    });
    map.set_opt("privacy", privacy);
    let type_category = kind_category(kind);
    let categories = view
        .all(ISlot::Categories)
        .flat_map(|(_, e)| categories_of(e))
        .filter(|c| !type_category.is_some_and(|t| c.eq_ignore_ascii_case(t)));
    map.set("categories", join_sorted(categories));
    map.set_opt("regarding", view.text(ISlot::Regarding).map(|s| norm_line(&s)));
    map.set_opt("reminder_minutes", view.reminder.map(|m| m.to_string()));

    let master = Master {
        duration,
        subject: map.get("subject").unwrap_or("").to_string(),
        location,
        description,
    };
    let recurrence = read_recurrence(layout, &master)?;
    let time_zone = start.as_ref().and_then(|t| t.zone.clone());
    let is_series = recurrence.is_some();
    if let Some(r) = recurrence {
        map.set("recurrence", r.to_json());
    }
    // The zone belongs to series (their expansion) and to timed events,
    // which keep the zone they were planned in both ways (R-MAP-19).
    if !all_day && (is_series || component == CalendarComponent::Event) {
        map.set_opt("time_zone", time_zone.clone().filter(|z| !super::is_utc_name(z)));
    }
    let last_modified = view
        .prop("LAST-MODIFIED")
        .map(|(l, e)| read_time(l, e, ctx))
        .transpose()
        .ok()
        .flatten()
        .map(|t| t.moment.as_instant());
    Ok(ReadResult {
        fields: map,
        kind,
        time_zone,
        start_style: start.map(|t| t.style),
        last_modified,
    })
}

fn read_state(view: &CompView, component: CalendarComponent) -> Option<&'static str> {
    let status = view.first(ISlot::Status).and_then(|(_, e)| match e.values.first() {
        Some(ICalendarValue::Status(s)) => Some(s.clone()),
        _ => None,
    });
    match (component, status) {
        (_, Some(ICalendarStatus::Cancelled)) => Some("cancelled"),
        (CalendarComponent::Todo, Some(ICalendarStatus::Completed)) => Some("completed"),
        (CalendarComponent::Todo, None) if view.first(ISlot::Completed).is_some() => Some("completed"),
        _ => None,
    }
}

pub(crate) fn read_participants(view: &CompView) -> Vec<MappedParticipant> {
    let organizer = view
        .all(ISlot::Participants)
        .find(|(l, _)| l.is("ORGANIZER"))
        .and_then(|(_, e)| participants::entry_email(e));
    let mut list = Vec::new();
    if let Some(email) = &organizer {
        list.push(MappedParticipant {
            email: email.clone(),
            response: None,
            role: "organizer".into(),
        });
    }
    for (line, entry) in view.all(ISlot::Participants) {
        if !line.is("ATTENDEE") {
            continue;
        }
        let Some(email) = participants::entry_email(entry) else {
            continue;
        };
        if organizer.as_ref() == Some(&email) {
            continue;
        }
        list.push(MappedParticipant {
            email,
            response: Some(participants::attendee_response(entry).to_string()),
            role: participants::attendee_role(entry).to_string(),
        });
    }
    list
}

fn read_recurrence(layout: &CalLayout, master: &Master) -> Result<Option<MappedRecurrence>, MappingError> {
    let view = &layout.master;
    let ctx = &layout.ctx;
    let mut rec = MappedRecurrence::default();
    let mut has_series = false;
    for (line, entry) in view.all(ISlot::Recurrence) {
        match line.name.as_str() {
            "RRULE" => {
                has_series = true;
                rec.rule = entry_rule(entry).unwrap_or_else(|| line.value_text().to_string());
            }
            "RDATE" => {
                has_series = true;
                rec.rdates
                    .extend(read_times(line, entry, ctx)?.into_iter().map(|t| t.moment.to_field()));
            }
            _ => rec
                .exdates
                .extend(read_times(line, entry, ctx)?.into_iter().map(|t| t.moment.to_field())),
        }
    }
    for (_, ov) in &layout.overrides {
        let (rid, full, cancelled) = read_override(ov, ctx, master)?;
        if cancelled {
            // A cancelled occurrence is an exception by another name.
            rec.exdates.push(rid.to_field());
        } else {
            has_series = true;
            rec.overrides.push(full.normalize(master));
        }
    }
    Ok(has_series.then(|| rec.finish()))
}

pub(crate) fn entry_rule(entry: &ICalendarEntry) -> Option<String> {
    match entry.values.first() {
        Some(ICalendarValue::RecurrenceRule(r)) => Some(r.to_string()),
        _ => None,
    }
}

/// One overridden occurrence: its RECURRENCE-ID, its full values, and
/// whether it is cancelled.
pub(crate) fn read_override(
    ov: &CompView,
    ctx: &TimeContext,
    master: &Master,
) -> Result<(Moment, FullOverride, bool), MappingError> {
    let (line, entry) = ov
        .prop("RECURRENCE-ID")
        .ok_or_else(|| MappingError::malformed(Format::ICalendar, ov.comp.begin.line_no, "unreadable RECURRENCE-ID"))?;
    let rid = read_time(line, entry, ctx)?.moment;
    let start = time_of(ov, ISlot::Start, ctx)?.map(|t| t.moment);
    let end = match ov.first(ISlot::End) {
        Some((l, e)) if l.is("DTEND") => Some(read_time(l, e, ctx)?.moment),
        Some((_, e)) => duration_of(e).map(|d| start.unwrap_or(rid).plus(d)),
        None => None,
    };
    let cancelled = matches!(
        ov.first(ISlot::Status).and_then(|(_, e)| e.values.first()),
        Some(ICalendarValue::Status(ICalendarStatus::Cancelled))
    );
    let full = FullOverride {
        recurrence_id: rid,
        start,
        end,
        subject: Some(
            ov.text(ISlot::Summary)
                .map(|s| norm_line(&s))
                .unwrap_or_else(|| master.subject.clone()),
        ),
        location: Some(ov.text(ISlot::Location).map(|s| norm_line(&s)).unwrap_or_default()),
        description: Some(split_notes(&ov.text(ISlot::Description).unwrap_or_default()).0),
    };
    Ok((rid, full, cancelled))
}

/// A UID is TEXT (RFC 5545 3.8.4.7): read it with TEXT's escapes undone, as it
/// is written, so a UID holding `;` or `,` reads back the same after a fresh
/// render (found by fuzzing, R-FUZZ-1). A raw `;` (as Exchange writes) stays.
fn unescape_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
