//! The new property lines of each slot, built from the desired FieldMap
//! and written with calcard's writer (escaping, folding).

use calcard::icalendar::{
    ICalendarClassification, ICalendarDuration, ICalendarEntry, ICalendarParameter, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty, ICalendarRelated, ICalendarStatus, ICalendarValue,
};
use crmsync_model::{ActivityKind, FieldMap};

use super::read::ISlot;
use super::recurrence::MappedRecurrence;
use super::time::{Moment, TimeStyle, time_entry};
use super::{CalendarComponent, kind_category};
use crate::notes::join_notes;
use crate::text::split_list;

pub(crate) fn write(out: &mut String, entry: &ICalendarEntry) {
    // Writing into a String cannot fail.
    let _ = entry.write_to(out);
}

pub(crate) fn text_entry(name: ICalendarProperty, value: &str) -> ICalendarEntry {
    ICalendarEntry {
        name,
        params: vec![],
        values: vec![ICalendarValue::Text(value.to_string())],
    }
}

pub(crate) fn int_entry(name: ICalendarProperty, value: i64) -> ICalendarEntry {
    ICalendarEntry {
        name,
        params: vec![],
        values: vec![ICalendarValue::Integer(value)],
    }
}

/// What the slot writers need besides the FieldMap.
pub(crate) struct SlotContext<'a> {
    pub fields: &'a FieldMap,
    pub uid: &'a str,
    pub component: CalendarComponent,
    pub style: &'a TimeStyle,
    /// The previous version had this slot's property (STATUS:CONFIRMED
    /// is only needed to undo a cancellation).
    pub had_previous: bool,
    /// EXDATEs already carried by kept cancelled override components.
    pub exdates_elsewhere: &'a [String],
}

impl SlotContext<'_> {
    fn get(&self, key: &str) -> &str {
        self.fields.get(key).unwrap_or("")
    }

    fn moment(&self, key: &str) -> Option<Moment> {
        self.fields.get(key).and_then(Moment::from_field)
    }
}

/// The lines of a slot (none when the slot is empty). Participants and the
/// alarm are written elsewhere: they are line-by-line and a component.
pub(crate) fn slot_lines(slot: ISlot, cx: &SlotContext<'_>) -> Vec<ICalendarEntry> {
    let mut v = Vec::new();
    let text = |v: &mut Vec<ICalendarEntry>, name: ICalendarProperty, value: &str| {
        if !value.is_empty() {
            v.push(text_entry(name, value));
        }
    };
    match slot {
        ISlot::Uid => text(&mut v, ICalendarProperty::Uid, cx.uid),
        ISlot::Summary => text(&mut v, ICalendarProperty::Summary, cx.get("subject")),
        ISlot::Description => text(
            &mut v,
            ICalendarProperty::Description,
            &join_notes(cx.get("description"), cx.get("journal")),
        ),
        ISlot::Location => text(&mut v, ICalendarProperty::Location, cx.get("location")),
        ISlot::Start | ISlot::End | ISlot::Due => {
            let (key, name) = match slot {
                ISlot::Start => ("start", ICalendarProperty::Dtstart),
                ISlot::End => ("end", ICalendarProperty::Dtend),
                _ => ("due", ICalendarProperty::Due),
            };
            if let Some(m) = cx.moment(key) {
                v.push(time_entry(name, &[m], cx.style));
            }
        }
        ISlot::Completed => {
            if let Some(m) = cx.moment("completed_at") {
                v.push(time_entry(
                    ICalendarProperty::Completed,
                    &[Moment::Instant(m.as_instant())],
                    &TimeStyle::Utc,
                ));
            }
        }
        ISlot::Percent | ISlot::Priority => {
            let (key, name) = if slot == ISlot::Percent {
                ("percent_complete", ICalendarProperty::PercentComplete)
            } else {
                ("priority", ICalendarProperty::Priority)
            };
            if let Ok(n) = cx.get(key).parse::<i64>() {
                v.push(int_entry(name, n));
            }
        }
        ISlot::Status => {
            let status = match (cx.component, cx.get("state")) {
                (_, "cancelled") => Some(ICalendarStatus::Cancelled),
                (CalendarComponent::Todo, "completed") => Some(ICalendarStatus::Completed),
                (CalendarComponent::Todo, _) => Some(ICalendarStatus::NeedsAction),
                (CalendarComponent::Event, _) if cx.had_previous => Some(ICalendarStatus::Confirmed),
                _ => None,
            };
            if let Some(s) = status {
                v.push(ICalendarEntry {
                    name: ICalendarProperty::Status,
                    params: vec![],
                    values: vec![ICalendarValue::Status(s)],
                });
            }
        }
        ISlot::Class => {
            let class = match cx.get("privacy") {
                "private" => Some(ICalendarClassification::Private),
                "confidential" => Some(ICalendarClassification::Confidential),
                _ => None,
            };
            if let Some(c) = class {
                v.push(ICalendarEntry {
                    name: ICalendarProperty::Class,
                    params: vec![],
                    values: vec![ICalendarValue::Classification(c)],
                });
            }
        }
        ISlot::Categories => {
            let mut cats = split_list(cx.fields.get("categories"));
            if cx.component == CalendarComponent::Todo
                && let Some(tag) = ActivityKind::parse(cx.get("kind")).and_then(kind_category)
            {
                cats.push(tag.to_string());
            }
            if !cats.is_empty() {
                v.push(ICalendarEntry {
                    name: ICalendarProperty::Categories,
                    params: vec![],
                    values: cats.into_iter().map(ICalendarValue::Text).collect(),
                });
            }
        }
        ISlot::Kind => {
            if cx.component == CalendarComponent::Todo
                && kind_category(ActivityKind::parse(cx.get("kind")).unwrap_or(ActivityKind::Task)).is_some()
            {
                v.push(text_entry(
                    ICalendarProperty::Other("X-CRMSYNC-TYPE".into()),
                    cx.get("kind"),
                ));
            }
        }
        ISlot::Regarding => text(
            &mut v,
            ICalendarProperty::Other("X-CRMSYNC-REGARDING".into()),
            cx.get("regarding"),
        ),
        ISlot::Recurrence => {
            let Some(rec) = cx.fields.get("recurrence").and_then(MappedRecurrence::from_json) else {
                return v;
            };
            if !rec.rule.is_empty() {
                // RECUR values are not TEXT-escaped; calcard writes them verbatim.
                v.push(text_entry(ICalendarProperty::Rrule, &rec.rule));
            }
            let rdates: Vec<Moment> = rec.rdates.iter().filter_map(|s| Moment::from_field(s)).collect();
            if !rdates.is_empty() {
                v.push(time_entry(ICalendarProperty::Rdate, &rdates, cx.style));
            }
            let exdates: Vec<Moment> = rec
                .exdates
                .iter()
                .filter(|s| !cx.exdates_elsewhere.contains(s))
                .filter_map(|s| Moment::from_field(s))
                .collect();
            if !exdates.is_empty() {
                v.push(time_entry(ICalendarProperty::Exdate, &exdates, cx.style));
            }
        }
        ISlot::Participants | ISlot::Alarm => {}
    }
    v
}

/// `TRIGGER:-PT15M`; for a task without start, relative to its due time.
pub(crate) fn trigger_entry(minutes: i64, related_end: bool, keep_params: Option<&ICalendarEntry>) -> ICalendarEntry {
    let mut params = keep_params.map(|e| e.params.clone()).unwrap_or_default();
    if related_end && keep_params.is_none() {
        params.push(ICalendarParameter {
            name: ICalendarParameterName::Related,
            value: ICalendarParameterValue::Related(ICalendarRelated::End),
        });
    }
    ICalendarEntry {
        name: ICalendarProperty::Trigger,
        params,
        values: vec![ICalendarValue::Duration(ICalendarDuration::from_seconds(-minutes * 60))],
    }
}

pub(crate) fn new_alarm(minutes: i64, related_end: bool) -> String {
    let mut out = String::from("BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\n");
    write(&mut out, &trigger_entry(minutes, related_end, None));
    out.push_str("END:VALARM\r\n");
    out
}
