//! Writes a calendar object from a FieldMap. Over a previous version only
//! the property groups whose mapped values changed are rewritten; every
//! other line and component (VTIMEZONE, X- properties, extra alarms,
//! unknown parameters) is copied byte for byte (R-MAP-6). SEQUENCE,
//! ORGANIZER and scheduling parameters stay untouched unless the meeting
//! really changed (R-CAL-5).

use std::collections::BTreeSet;

use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty, ICalendarValue};
use chrono::{DateTime, Duration, Utc};
use crmsync_model::{ActivityKind, FieldMap};

use super::CalendarComponent;
use super::lines::{SlotContext, int_entry, new_alarm, slot_lines, text_entry, trigger_entry, write};
use super::participants::{self, MappedParticipant};
use super::read::{CalLayout, CompView, ISlot, ReadResult, read_item, read_override};
use super::recurrence::{MappedOverride, MappedRecurrence, Master, normalize_rule};
use super::time::{Moment, TimeStyle, time_entry, utc_entry};
use crate::content_line::Node;
use crate::directory::ParticipantDirectory;
use crate::error::{Format, MappingError};

/// What rendering needs besides the fields.
pub struct IcalContext<'a> {
    /// Written as DTSTAMP / LAST-MODIFIED of components that change.
    pub now: DateTime<Utc>,
    /// The zone to write new or changed times in (the CRM activity's
    /// `time_zone`) when the FieldMap carries none; UTC when unset.
    pub time_zone: Option<&'a str>,
    /// Names (CN) for attendees crmsync adds.
    pub directory: &'a dyn ParticipantDirectory,
    /// The write puts back what the CRM already held (a revert, R-DIR-2 /
    /// R-ENG-5): no new version of the meeting, so DTSTAMP and SEQUENCE stay
    /// as they are (R-CAL-5; a scheduling server would otherwise notify).
    pub keep_schedule: bool,
}

/// Renders `fields` as a calendar object with `uid`. With `previous`, only
/// what changed is rewritten. Fails when `previous` cannot be read, or holds
/// a VEVENT where the kind needs a VTODO (or the other way round).
pub fn render_ical(
    fields: &FieldMap,
    uid: &str,
    previous: Option<&str>,
    ctx: &IcalContext<'_>,
) -> Result<String, MappingError> {
    crate::content_line::check_written(Format::ICalendar, render_any_size(fields, uid, previous, ctx)?)
}

fn render_any_size(
    fields: &FieldMap,
    uid: &str,
    previous: Option<&str>,
    ctx: &IcalContext<'_>,
) -> Result<String, MappingError> {
    let kind = fields
        .get("kind")
        .and_then(ActivityKind::parse)
        .unwrap_or(ActivityKind::Appointment);
    let component = CalendarComponent::for_kind(kind);
    let prev = match previous {
        Some(text) => {
            let layout = CalLayout::read(text)?;
            if layout.component != component {
                return Err(MappingError::WrongComponent {
                    format: Format::ICalendar,
                    expected: format!("{} for a {}", component.as_str(), kind.as_str()),
                    found: layout.component.as_str().into(),
                });
            }
            let read = read_item(&layout)?;
            Some((layout, read))
        }
        None => None,
    };
    let mut r = Renderer::new(fields, uid, component, prev.as_ref(), ctx);
    Ok(r.render(prev.as_ref()))
}

struct Renderer<'a> {
    fields: &'a FieldMap,
    uid: &'a str,
    component: CalendarComponent,
    ctx: &'a IcalContext<'a>,
    changed: Vec<ISlot>,
    /// Changed slots whose values moved (not only their zone).
    moved: Vec<ISlot>,
    style: TimeStyle,
    /// The item's times must be rewritten in another style (zone, all-day).
    style_changed: bool,
    master: Master,
    /// TZIDs the new lines use, to add missing VTIMEZONEs.
    used_tzids: BTreeSet<String>,
    moments: Vec<Moment>,
}

impl<'a> Renderer<'a> {
    fn new(
        fields: &'a FieldMap,
        uid: &'a str,
        component: CalendarComponent,
        prev: Option<&(CalLayout, ReadResult)>,
        ctx: &'a IcalContext<'a>,
    ) -> Self {
        let changed: Vec<ISlot> = ISlot::all(component)
            .into_iter()
            .filter(|s| match prev {
                None => true,
                Some((layout, _)) if *s == ISlot::Uid => layout.uid != uid,
                Some((_, read)) => s.keys().iter().any(|k| read.fields.get(k) != fields.get(k)),
            })
            .collect();
        let prev_style = prev.and_then(|(_, r)| r.start_style.clone());
        let style = match &prev_style {
            Some(p) if !changed.contains(&ISlot::Start) => p.clone(),
            _ => choose_style(fields, prev_style.clone(), ctx.time_zone),
        };
        // Slots whose values moved, not only their zone: a single event
        // shown in another zone is the same meeting (R-CAL-5, no SEQUENCE).
        let moved: Vec<ISlot> = match prev {
            None => Vec::new(),
            Some((_, read)) => changed
                .iter()
                .copied()
                .filter(|s| {
                    s.keys()
                        .iter()
                        .filter(|k| *s == ISlot::Recurrence || **k != "time_zone")
                        .any(|k| read.fields.get(k) != fields.get(k))
                })
                .collect(),
        };
        let style_changed = prev_style.is_some_and(|p| p != style);
        // A slot whose keys differ but whose lines would come out the same
        // (the CRM lacks a zone the item's TZID already names) is no change:
        // rewriting it would bump SEQUENCE for nothing (R-CAL-5).
        let changed = match prev {
            Some((layout, _)) => changed
                .into_iter()
                .filter(|slot| !same_lines(*slot, &layout.master, fields, uid, component, &style))
                .collect(),
            None => changed,
        };
        let moved: Vec<ISlot> = moved.into_iter().filter(|s| changed.contains(s)).collect();
        let start = fields.get("start").and_then(Moment::from_field);
        let end = fields.get("end").and_then(Moment::from_field);
        let duration = match (start, end) {
            (Some(s), Some(e)) => e.as_instant() - s.as_instant(),
            _ => Duration::zero(),
        };
        let master = Master {
            duration,
            subject: fields.get("subject").unwrap_or("").to_string(),
            location: fields.get("location").unwrap_or("").to_string(),
            description: fields.get("description").unwrap_or("").to_string(),
        };
        Renderer {
            fields,
            uid,
            component,
            ctx,
            changed,
            moved,
            style,
            style_changed,
            master,
            used_tzids: BTreeSet::new(),
            moments: vec![],
        }
    }

    fn changed(&self, slot: ISlot) -> bool {
        self.changed.contains(&slot)
    }

    fn significant_change(&self) -> bool {
        !self.ctx.keep_schedule && self.moved.iter().any(|s| s.is_significant())
    }

    fn recurrence(&self) -> MappedRecurrence {
        self.fields
            .get("recurrence")
            .and_then(MappedRecurrence::from_json)
            .unwrap_or_default()
    }

    fn note_times(&mut self, entries: &[calcard::icalendar::ICalendarEntry]) {
        for e in entries {
            if let Some(tzid) = e.tz_id() {
                self.used_tzids.insert(tzid.to_string());
            }
        }
        for key in ["start", "end", "due"] {
            if let Some(m) = self.fields.get(key).and_then(Moment::from_field) {
                self.moments.push(m);
            }
        }
    }

    fn write_slot(&mut self, out: &mut String, slot: ISlot, had_previous: bool, exdates_elsewhere: &[String]) {
        let cx = SlotContext {
            fields: self.fields,
            uid: self.uid,
            component: self.component,
            style: &self.style,
            had_previous,
            exdates_elsewhere,
        };
        let entries = slot_lines(slot, &cx);
        self.note_times(&entries);
        for e in &entries {
            write(out, e);
        }
    }

    fn render(&mut self, prev: Option<&(CalLayout, ReadResult)>) -> String {
        let Some((layout, _)) = prev else {
            return self.render_fresh();
        };
        let rec = self.recurrence();
        // Overrides first: which cancelled ones are kept decides the EXDATE line.
        let mut kept_cancelled: Vec<String> = Vec::new();
        let mut override_out: Vec<(usize, Option<String>)> = Vec::new();
        let mut seen_rids: Vec<String> = Vec::new();
        for (idx, ov) in &layout.overrides {
            let Ok((rid, full, cancelled)) = read_override(ov, &layout.ctx, &self.master) else {
                override_out.push((*idx, None));
                continue;
            };
            let rid_text = rid.to_field();
            seen_rids.push(rid_text.clone());
            if cancelled {
                let keep = rec.exdates.contains(&rid_text) && !self.style_changed;
                if keep {
                    kept_cancelled.push(rid_text);
                }
                override_out.push((*idx, keep.then(|| raw(ov))));
                continue;
            }
            let desired = rec.overrides.iter().find(|o| o.recurrence_id == rid_text);
            let text = match desired {
                Some(d) if full.normalize(&self.master) == *d && !self.style_changed => Some(raw(ov)),
                Some(d) => Some(self.rewrite_override(ov, d)),
                None => None,
            };
            override_out.push((*idx, text));
        }
        let new_overrides: Vec<String> = rec
            .overrides
            .iter()
            .filter(|o| !seen_rids.contains(&o.recurrence_id))
            .map(|o| self.new_override(o, Some(&layout.master)))
            .collect();
        let master = self.render_master(&layout.master, &kept_cancelled);

        let mut body = String::new();
        let mut master_written = false;
        for (idx, node) in layout.root.children.iter().enumerate() {
            match node {
                Node::Prop(p) => body.push_str(&p.raw),
                Node::Comp(_) if idx == layout.master_at => {
                    body.push_str(&master);
                    master_written = true;
                }
                Node::Comp(c) => match override_out.iter().find(|(i, _)| *i == idx) {
                    Some((_, Some(text))) => body.push_str(text),
                    Some((_, None)) => {}
                    None => c.write_raw(&mut body),
                },
            }
            let last_event = layout.overrides.iter().map(|(i, _)| *i).chain([layout.master_at]).max();
            if master_written && Some(idx) == last_event {
                for o in &new_overrides {
                    body.push_str(o);
                }
            }
        }
        let defined: Vec<String> = layout
            .root
            .components()
            .filter(|c| c.name == "VTIMEZONE")
            .filter_map(|c| c.prop("TZID").map(|l| l.value_text().trim().to_string()))
            .collect();
        let timezones = self.missing_timezones(&defined);
        let mut out = String::new();
        out.push_str(&layout.root.begin.raw);
        if timezones.is_empty() {
            out.push_str(&body);
        } else {
            // New VTIMEZONEs go before the first event/task, as clients expect.
            let marker = format!("BEGIN:{}", self.component.as_str());
            let at = find_line_start(&body, &marker).unwrap_or(body.len());
            out.push_str(&body[..at]);
            out.push_str(&timezones);
            out.push_str(&body[at..]);
        }
        out.push_str(&layout.root.end.raw);
        out
    }

    fn render_fresh(&mut self) -> String {
        let rec = self.recurrence();
        let mut master = format!("BEGIN:{}\r\n", self.component.as_str());
        self.write_slot(&mut master, ISlot::Uid, false, &[]);
        write(&mut master, &utc_entry(ICalendarProperty::Dtstamp, self.ctx.now));
        for slot in ISlot::all(self.component) {
            match slot {
                ISlot::Uid | ISlot::Alarm => {}
                ISlot::Participants => self.write_new_participants(&mut master, &[], true),
                _ => self.write_slot(&mut master, slot, false, &[]),
            }
        }
        self.write_new_alarm(&mut master);
        master.push_str(&format!("END:{}\r\n", self.component.as_str()));
        let overrides: Vec<String> = rec.overrides.iter().map(|o| self.new_override(o, None)).collect();
        let mut out = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crmsync//crmsync//EN\r\n");
        out.push_str(&self.missing_timezones(&[]));
        out.push_str(&master);
        for o in overrides {
            out.push_str(&o);
        }
        out.push_str("END:VCALENDAR\r\n");
        out
    }

    fn render_master(&mut self, view: &CompView, kept_cancelled: &[String]) -> String {
        let any_change = !self.changed.is_empty();
        let mut out = view.comp.begin.raw.clone();
        let with_lines: Vec<ISlot> = view.props.iter().filter_map(|(_, _, s)| *s).collect();
        let mut emitted: Vec<ISlot> = Vec::new();
        let mut pending_written = false;
        let mut prop_iter = view.props.iter();
        let mut comp_index = 0;
        let desired = participants::from_json(self.fields.get("participants"));
        let mut handled: Vec<String> = Vec::new();
        let mut organizer_written = false;
        let had_sequence = view.prop("SEQUENCE").is_some();
        let had_dtstamp = view.prop("DTSTAMP").is_some();
        for node in &view.comp.children {
            match node {
                Node::Prop(_) => {
                    let Some((line, entry, slot)) = prop_iter.next() else {
                        continue;
                    };
                    match (slot, entry) {
                        (Some(ISlot::Participants), Some(entry)) if self.changed(ISlot::Participants) => {
                            self.rewrite_participant(
                                &mut out,
                                line,
                                entry,
                                &desired,
                                &mut handled,
                                &mut organizer_written,
                            );
                        }
                        (Some(s), _) if self.changed(*s) && *s != ISlot::Participants => {
                            if !emitted.contains(s) {
                                emitted.push(*s);
                                self.write_slot(&mut out, *s, true, kept_cancelled);
                            }
                        }
                        _ if line.is("DTSTAMP") && any_change && !self.ctx.keep_schedule => {
                            write(&mut out, &utc_entry(ICalendarProperty::Dtstamp, self.ctx.now));
                        }
                        _ if line.is("LAST-MODIFIED") && any_change => {
                            write(&mut out, &utc_entry(ICalendarProperty::LastModified, self.ctx.now));
                        }
                        (_, Some(e)) if line.is("SEQUENCE") && self.significant_change() => {
                            let n = e.values.first().and_then(ICalendarValue::as_integer).unwrap_or(0);
                            write(&mut out, &int_entry(ICalendarProperty::Sequence, n + 1));
                        }
                        _ => out.push_str(&line.raw),
                    }
                }
                Node::Comp(c) => {
                    if !pending_written {
                        pending_written = true;
                        self.write_pending(
                            &mut out,
                            &with_lines,
                            &handled,
                            organizer_written,
                            had_sequence,
                            had_dtstamp,
                            any_change,
                        );
                    }
                    if Some(comp_index) == view.alarm && self.changed(ISlot::Alarm) {
                        self.rewrite_alarm(&mut out, c);
                    } else {
                        c.write_raw(&mut out);
                    }
                    comp_index += 1;
                }
            }
        }
        if !pending_written {
            self.write_pending(
                &mut out,
                &with_lines,
                &handled,
                organizer_written,
                had_sequence,
                had_dtstamp,
                any_change,
            );
        }
        if view.alarm.is_none() && self.changed(ISlot::Alarm) {
            self.write_new_alarm(&mut out);
        }
        out.push_str(&view.comp.end.raw);
        out
    }

    /// Lines of changed slots the previous version did not have, written
    /// after the existing properties.
    #[allow(clippy::too_many_arguments)]
    fn write_pending(
        &mut self,
        out: &mut String,
        with_lines: &[ISlot],
        handled: &[String],
        organizer_written: bool,
        had_sequence: bool,
        had_dtstamp: bool,
        any_change: bool,
    ) {
        if any_change && !had_dtstamp {
            write(out, &utc_entry(ICalendarProperty::Dtstamp, self.ctx.now));
        }
        if self.significant_change() && !had_sequence {
            write(out, &int_entry(ICalendarProperty::Sequence, 1));
        }
        let changed = self.changed.clone();
        for slot in changed {
            match slot {
                ISlot::Alarm => {}
                ISlot::Participants => {
                    let skip: Vec<String> = handled.to_vec();
                    self.write_new_participants(out, &skip, !organizer_written);
                }
                s if !with_lines.contains(&s) => self.write_slot(out, s, false, &[]),
                _ => {}
            }
        }
    }

    fn write_new_participants(&self, out: &mut String, handled: &[String], with_organizer: bool) {
        let mut desired = participants::from_json(self.fields.get("participants"));
        // The organizer first, as clients write it.
        desired.sort_by_key(|p| p.role != "organizer");
        for p in &desired {
            if handled.contains(&p.email) {
                continue;
            }
            let name = self.ctx.directory.party_for_email(&p.email).name;
            if p.role == "organizer" {
                if with_organizer {
                    write(out, &participants::new_organizer(&p.email, name.as_deref()));
                }
            } else {
                let response = p.response.as_deref().unwrap_or("needs_action");
                write(
                    out,
                    &participants::new_attendee(&p.email, name.as_deref(), &p.role, response),
                );
            }
        }
    }

    /// One previous ORGANIZER/ATTENDEE line against the desired list: kept
    /// byte for byte when its mapped values are equal, otherwise updated
    /// in place with its other parameters kept, or dropped.
    fn rewrite_participant(
        &self,
        out: &mut String,
        line: &crate::content_line::RawLine,
        entry: &calcard::icalendar::ICalendarEntry,
        desired: &[MappedParticipant],
        handled: &mut Vec<String>,
        organizer_written: &mut bool,
    ) {
        let Some(email) = participants::entry_email(entry) else {
            out.push_str(&line.raw);
            return;
        };
        let organizer = desired.iter().find(|p| p.role == "organizer");
        if line.is("ORGANIZER") {
            match organizer {
                Some(o) if o.email == email => out.push_str(&line.raw),
                Some(o) => {
                    let name = self.ctx.directory.party_for_email(&o.email).name;
                    write(out, &participants::new_organizer(&o.email, name.as_deref()));
                }
                None => return,
            }
            *organizer_written = true;
            if let Some(o) = organizer {
                handled.push(o.email.clone());
            }
            return;
        }
        if organizer.is_some_and(|o| o.email == email) {
            // The organizer listed as attendee: its response is not compared.
            out.push_str(&line.raw);
            return;
        }
        let Some(want) = desired.iter().find(|p| p.email == email && p.role != "organizer") else {
            return;
        };
        handled.push(email);
        let role_now = participants::attendee_role(entry);
        let response_now = participants::attendee_response(entry);
        let want_response = want.response.as_deref().unwrap_or("needs_action");
        if role_now == want.role && response_now == want_response {
            out.push_str(&line.raw);
        } else {
            let role = (role_now != want.role).then_some(want.role.as_str());
            let response = (response_now != want_response).then_some(want_response);
            write(out, &participants::update_attendee(entry, role, response));
        }
    }

    fn reminder(&self) -> Option<i64> {
        self.fields.get("reminder_minutes").and_then(|m| m.parse().ok())
    }

    /// A task without start reminds relative to its due time.
    fn related_end(&self) -> bool {
        self.component == CalendarComponent::Todo
            && self.fields.get("start").is_none()
            && self.fields.get("due").is_some()
    }

    fn write_new_alarm(&self, out: &mut String) {
        if let Some(m) = self.reminder() {
            out.push_str(&new_alarm(m, self.related_end()));
        }
    }

    fn rewrite_alarm(&self, out: &mut String, alarm: &crate::content_line::RawComponent) {
        let Some(minutes) = self.reminder() else { return };
        out.push_str(&alarm.begin.raw);
        for child in &alarm.children {
            match child {
                Node::Prop(p) if p.is("TRIGGER") => {
                    let old = super::read::parse_entry(p);
                    write(out, &trigger_entry(minutes, self.related_end(), old.as_ref()));
                }
                Node::Prop(p) => out.push_str(&p.raw),
                Node::Comp(c) => c.write_raw(out),
            }
        }
        out.push_str(&alarm.end.raw);
    }

    /// Full values of an occurrence: what the override says, else the master's.
    fn override_lines(&mut self, o: &MappedOverride) -> Vec<(ISlot, Vec<calcard::icalendar::ICalendarEntry>)> {
        let rid = Moment::from_field(&o.recurrence_id);
        let start = o.start.as_deref().and_then(Moment::from_field).or(rid);
        let end = o
            .end
            .as_deref()
            .and_then(Moment::from_field)
            .or(start.map(|s| s.plus(self.master.duration)));
        let text_or = |v: &Option<String>, m: &str| v.clone().unwrap_or_else(|| m.to_string());
        let subject = text_or(&o.subject, &self.master.subject);
        let location = text_or(&o.location, &self.master.location);
        let description = text_or(&o.description, &self.master.description);
        let mut v = Vec::new();
        if let Some(s) = start {
            v.push((
                ISlot::Start,
                vec![time_entry(ICalendarProperty::Dtstart, &[s], &self.style)],
            ));
        }
        if self.component == CalendarComponent::Event
            && let Some(e) = end
        {
            v.push((
                ISlot::End,
                vec![time_entry(ICalendarProperty::Dtend, &[e], &self.style)],
            ));
        }
        let text = |name: ICalendarProperty, value: &str| {
            if value.is_empty() {
                vec![]
            } else {
                vec![text_entry(name, value)]
            }
        };
        v.push((ISlot::Summary, text(ICalendarProperty::Summary, &subject)));
        v.push((ISlot::Location, text(ICalendarProperty::Location, &location)));
        v.push((ISlot::Description, text(ICalendarProperty::Description, &description)));
        for (_, entries) in &v {
            for e in entries {
                if let Some(tzid) = e.tz_id() {
                    self.used_tzids.insert(tzid.to_string());
                }
            }
        }
        v
    }

    fn rewrite_override(&mut self, ov: &CompView, desired: &MappedOverride) -> String {
        let lines = self.override_lines(desired);
        let mut out = ov.comp.begin.raw.clone();
        let mut emitted: Vec<ISlot> = Vec::new();
        let mut props = ov.props.iter();
        for node in &ov.comp.children {
            match node {
                Node::Prop(_) => {
                    let Some((line, old, slot)) = props.next() else {
                        continue;
                    };
                    let owned = slot.and_then(|s| lines.iter().find(|(ls, _)| *ls == s));
                    if let (Some(s), Some((_, entries))) = (slot, owned) {
                        if emitted.contains(s) {
                            continue;
                        }
                        emitted.push(*s);
                        // A value that stays the same keeps its line (and its LANGUAGE, X- params).
                        let same = matches!((old, entries.as_slice()), (Some(o), [n]) if o.values == n.values && o.tz_id() == n.tz_id());
                        if same {
                            out.push_str(&line.raw);
                        } else {
                            entries.iter().for_each(|e| write(&mut out, e));
                        }
                    } else if line.is("DTSTAMP") && !self.ctx.keep_schedule {
                        write(&mut out, &utc_entry(ICalendarProperty::Dtstamp, self.ctx.now));
                    } else if line.is("RECURRENCE-ID") && self.style_changed {
                        if let Some(rid) = Moment::from_field(&desired.recurrence_id) {
                            write(
                                &mut out,
                                &time_entry(ICalendarProperty::RecurrenceId, &[rid], &self.style),
                            );
                        }
                    } else {
                        out.push_str(&line.raw);
                    }
                }
                Node::Comp(c) => c.write_raw(&mut out),
            }
        }
        for (slot, entries) in &lines {
            if !emitted.contains(slot) {
                entries.iter().for_each(|e| write(&mut out, e));
            }
        }
        out.push_str(&ov.comp.end.raw);
        out
    }

    /// A new overridden occurrence; it repeats the master's participants
    /// so the occurrence keeps its attendees.
    fn new_override(&mut self, o: &MappedOverride, prev_master: Option<&CompView>) -> String {
        let name = self.component.as_str();
        let mut out = format!("BEGIN:{name}\r\n");
        write(&mut out, &text_entry(ICalendarProperty::Uid, self.uid));
        if let Some(rid) = Moment::from_field(&o.recurrence_id) {
            let e = time_entry(ICalendarProperty::RecurrenceId, &[rid], &self.style);
            if let Some(t) = e.tz_id() {
                self.used_tzids.insert(t.to_string());
            }
            write(&mut out, &e);
        }
        write(&mut out, &utc_entry(ICalendarProperty::Dtstamp, self.ctx.now));
        for (_, entries) in self.override_lines(o) {
            entries.iter().for_each(|e| write(&mut out, e));
        }
        match prev_master {
            Some(m) if !self.changed(ISlot::Participants) => {
                for (line, _, slot) in &m.props {
                    if *slot == Some(ISlot::Participants) || line.is("SEQUENCE") {
                        out.push_str(&line.raw);
                    }
                }
            }
            _ if self.component == CalendarComponent::Event => self.write_new_participants(&mut out, &[], true),
            _ => {}
        }
        out.push_str(&format!("END:{name}\r\n"));
        out
    }

    /// VTIMEZONE definitions for TZIDs the new lines use and the item lacks,
    /// generated by calcard from the IANA database.
    fn missing_timezones(&self, defined: &[String]) -> String {
        let mut out = String::new();
        let instants: Vec<i64> = self.moments.iter().map(|m| m.as_instant().timestamp()).collect();
        let from = instants.iter().min().copied().unwrap_or(self.ctx.now.timestamp()) - 366 * 86400;
        let to = instants.iter().max().copied().unwrap_or(self.ctx.now.timestamp()) + 366 * 86400;
        for tzid in &self.used_tzids {
            if defined.iter().any(|d| d == tzid) {
                continue;
            }
            let mut cal = ICalendar {
                components: vec![ICalendarComponent {
                    component_type: ICalendarComponentType::VCalendar,
                    entries: vec![],
                    component_ids: vec![],
                }],
            };
            if cal.add_timezone(tzid, from, to).is_none() {
                continue;
            }
            let text = cal.to_string();
            if let (Some(a), Some(b)) = (text.find("BEGIN:VTIMEZONE"), text.rfind("END:VTIMEZONE")) {
                out.push_str(&text[a..b]);
                out.push_str("END:VTIMEZONE\r\n");
            }
        }
        out
    }
}

/// Would the slot's new lines equal the previous ones, value for value?
fn same_lines(
    slot: ISlot,
    view: &CompView,
    fields: &FieldMap,
    uid: &str,
    component: CalendarComponent,
    style: &TimeStyle,
) -> bool {
    if matches!(slot, ISlot::Participants | ISlot::Alarm | ISlot::Uid) {
        return false;
    }
    let cx = SlotContext {
        fields,
        uid,
        component,
        style,
        had_previous: true,
        exdates_elsewhere: &[],
    };
    let new = slot_lines(slot, &cx);
    let old: Vec<_> = view.all(slot).map(|(_, e)| e).collect();
    old.len() == new.len()
        && old
            .iter()
            .zip(&new)
            .all(|(o, n)| o.name == n.name && value_key(o) == value_key(n) && o.tz_id() == n.tz_id())
}

/// Values in comparable form: a rule read by calcard and a rule written as
/// text compare by their canonical text.
fn value_key(e: &calcard::icalendar::ICalendarEntry) -> Vec<String> {
    e.values
        .iter()
        .map(|v| match v {
            ICalendarValue::RecurrenceRule(r) => normalize_rule(&r.to_string()),
            ICalendarValue::Text(t) if e.name == ICalendarProperty::Rrule => normalize_rule(t),
            other => format!("{other:?}"),
        })
        .collect()
}

fn raw(view: &CompView) -> String {
    let mut s = String::new();
    view.comp.write_raw(&mut s);
    s
}

fn find_line_start(body: &str, marker: &str) -> Option<usize> {
    if body.starts_with(marker) {
        return Some(0);
    }
    body.find(&format!("\n{marker}")).map(|i| i + 1)
}

/// The style new times are written in: dates for all-day items; else the
/// zone the item already uses, unless the FieldMap or the CRM names another;
/// UTC as the last resort.
fn choose_style(fields: &FieldMap, prev: Option<TimeStyle>, hint: Option<&str>) -> TimeStyle {
    if fields.get("all_day") == Some("true") {
        return TimeStyle::Date;
    }
    let wanted = fields.get("time_zone").or(hint);
    match (prev, wanted) {
        (Some(p @ TimeStyle::Zoned { .. }), None) => p,
        (Some(p @ TimeStyle::Zoned { .. }), Some(w))
            if p.zone_name().as_deref() == TimeStyle::for_zone(w).and_then(|s| s.zone_name()).as_deref() =>
        {
            p
        }
        (_, Some(w)) => TimeStyle::for_zone(w).unwrap_or(TimeStyle::Utc),
        _ => TimeStyle::Utc,
    }
}
