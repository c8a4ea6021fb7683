//! The runner's one door to the mapping: CRM records and groupware bodies of
//! one entity class to `FieldMap`s and back. Keeping it in one place means the
//! rest of the runner never branches on vCard versus iCalendar versus Graph
//! JSON: the collection's content type picks the format (ARCHITECTURE.md).

use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use crmsync_connector::ContentType;
use crmsync_engine::EntityClass;
use crmsync_mapping::{CalendarComponent, CardVersion, Format, GraphResource, IcalContext, MappingError};
use crmsync_model::fields::keys;
use crmsync_model::{Activity, ActivityFields, ActivityKind, Contact, ContactFields, FieldMap, JournalEntry};

use crate::directory::{BatchDirectory, Directory, Needs};
use crate::error::SyncError;
use crate::report::MappingWork;

/// A CRM record of any class the runner syncs. Held one per touched record
/// for the length of a pass; boxing the larger variant would buy nothing.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum CrmRecord {
    Contact(Contact),
    Activity(Activity),
}

impl CrmRecord {
    pub(crate) fn id(&self) -> &str {
        match self {
            CrmRecord::Contact(c) => c.id(),
            CrmRecord::Activity(a) => a.id(),
        }
    }
    pub(crate) fn version(&self) -> i64 {
        match self {
            CrmRecord::Contact(c) => c.version(),
            CrmRecord::Activity(a) => a.version(),
        }
    }
    pub(crate) fn modified_at(&self) -> DateTime<Utc> {
        match self {
            CrmRecord::Contact(c) => c.meta.modified_at,
            CrmRecord::Activity(a) => a.meta.modified_at,
        }
    }
    /// The class this record belongs to (an activity's kind decides).
    pub(crate) fn class(&self) -> EntityClass {
        match self {
            CrmRecord::Contact(_) => EntityClass::Contacts,
            CrmRecord::Activity(a) => EntityClass::for_activity(a.fields.kind),
        }
    }
}

/// An activity's facts for the engine, with a series' end found by
/// expanding it (R-ENG-4: a series whose last occurrence is past is
/// completed; the model alone cannot expand rules).
pub(crate) fn activity_facts(activity: &Activity, actor: &crmsync_model::Actor) -> crmsync_engine::CrmFacts {
    let mut facts = crmsync_engine::CrmFacts::of_activity(activity, actor);
    if let Some(a) = facts.activity.as_mut() {
        a.last_moment = crmsync_mapping::activity_last_moment(&activity.fields);
    }
    facts
}

/// A groupware body read into fields.
#[derive(Debug, Clone)]
pub(crate) struct ParsedItem {
    pub fields: FieldMap,
    pub uid: String,
    pub last_modified: Option<DateTime<Utc>>,
}

/// How often a pass used the mapping (R-PERF-1): CRM records mapped to
/// fields, groupware bodies parsed, bodies rendered. Exact counts, so tests
/// can say "a no-change pass parses nothing" instead of timing it.
#[derive(Debug, Default)]
pub(crate) struct MappingCounts {
    mapped: AtomicUsize,
    parsed: AtomicUsize,
    rendered: AtomicUsize,
    /// Users, contacts and accounts the directory read (R-SCALE-8).
    directory_rows: AtomicUsize,
}

impl MappingCounts {
    fn bump(counter: &AtomicUsize) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Moves `other`'s counts into these (a side codec's, `stream.rs`).
    pub(crate) fn absorb(&self, other: &MappingCounts) {
        for (mine, theirs) in [
            (&self.mapped, &other.mapped),
            (&self.parsed, &other.parsed),
            (&self.rendered, &other.rendered),
            (&self.directory_rows, &other.directory_rows),
        ] {
            mine.fetch_add(theirs.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> MappingWork {
        MappingWork {
            mapped: self.mapped.load(Ordering::Relaxed),
            parsed: self.parsed.load(Ordering::Relaxed),
            rendered: self.rendered.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn directory_rows(&self) -> usize {
        self.directory_rows.load(Ordering::Relaxed)
    }
}

pub(crate) struct Codec<'a> {
    pub class: EntityClass,
    /// Filled for each batch before it is mapped ([`Codec::prepare`], R-SCALE-8).
    pub directory: &'a BatchDirectory,
    /// The vCard version new cards are written in (R-MAP-4: the server's).
    pub vcard_version: CardVersion,
    /// The collection's body format: vCard/iCalendar by class, or Graph JSON.
    pub format: ContentType,
    pub counts: MappingCounts,
}

impl Codec<'_> {
    /// Looks up what a batch's mapping will ask, in place of the previous
    /// batch's lookups: every path that maps calls this first with the
    /// batch's [`Needs`] (R-SCALE-8).
    pub(crate) async fn prepare(&self, needs: Needs) -> Result<(), SyncError> {
        let rows = self.directory.prepare(needs).await?;
        self.counts.directory_rows.fetch_add(rows, Ordering::Relaxed);
        Ok(())
    }

    /// Adds to the current batch's lookups what `needs` names beyond them
    /// (a CRM record read only while applying).
    pub(crate) async fn top_up(&self, needs: Needs) -> Result<(), crmsync_store::StoreError> {
        let rows = self.directory.top_up(needs).await?;
        self.counts.directory_rows.fetch_add(rows, Ordering::Relaxed);
        Ok(())
    }

    fn dir(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.directory.get()
    }

    /// The Graph resource of this class when the collection holds Graph JSON.
    fn graph(&self) -> Option<GraphResource> {
        (self.format == ContentType::GraphJson).then_some(match self.class {
            EntityClass::Contacts => GraphResource::Contact,
            EntityClass::Events => GraphResource::Event,
            _ => GraphResource::Task,
        })
    }

    /// The fields of a CRM record as the engine compares them, with the
    /// journal part of the notes (R-FIELD-5).
    pub(crate) fn record_fields(&self, record: &CrmRecord, journal: &[JournalEntry]) -> FieldMap {
        MappingCounts::bump(&self.counts.mapped);
        let dir = self.dir();
        let mut fields = match record {
            // R-FIELD-2: a linked contact shows its account's name as company.
            CrmRecord::Contact(c) => match c.fields.account_id.as_deref().and_then(|id| dir.account_name(id)) {
                Some(name) if c.fields.company.as_deref() != Some(name) => {
                    let mut linked = c.fields.clone();
                    linked.company = Some(name.to_string());
                    crmsync_mapping::contact_to_fields(&linked)
                }
                _ => crmsync_mapping::contact_to_fields(&c.fields),
            },
            CrmRecord::Activity(a) => {
                let mut f = crmsync_mapping::activity_to_fields(&a.fields, &*dir);
                // An activity born in the CRM is written under its id as UID
                // (see `uid_for`); saying so here lets pairing by UID find its
                // item after a reset. The engine never merges the UID.
                if f.get(keys::UID).is_none() {
                    f.set(keys::UID, a.id());
                }
                f
            }
        };
        fields.set(keys::JOURNAL, crmsync_mapping::journal_text(journal));
        let mut fields = match self.graph() {
            // Only what a Graph item can hold is compared (R-GRAPH-7).
            Some(resource) => crmsync_mapping::graph_comparable(resource, &fields),
            None => fields,
        };
        drop(dir);
        self.split_own(&mut fields);
        fields
    }

    /// R-CAL-7: the profile user's own answer to a meeting is compared on
    /// its own key (see `crmsync_mapping::split_own_response`).
    fn split_own(&self, fields: &mut FieldMap) {
        if let (EntityClass::Events, Some(email)) = (self.class, self.dir().own_email()) {
            crmsync_mapping::split_own_response(fields, email);
        }
    }

    /// The inverse of `split_own`, before fields leave the engine's form.
    fn joined(&self, fields: &FieldMap) -> FieldMap {
        match (self.class, self.dir().own_email()) {
            (EntityClass::Events, Some(email)) => crmsync_mapping::join_own_response(fields, email),
            _ => fields.clone(),
        }
    }

    /// The UID a CRM record's item carries: an activity keeps the UID it came
    /// with; otherwise the CRM id, which is a UUID and so globally unique.
    pub(crate) fn uid_for(&self, crm_id: &str, fields: &FieldMap) -> String {
        fields
            .get(keys::UID)
            .map(str::to_string)
            .unwrap_or_else(|| crm_id.to_string())
    }

    pub(crate) fn parse(&self, body: &[u8]) -> Result<ParsedItem, MappingError> {
        MappingCounts::bump(&self.counts.parsed);
        let mut parsed = self.parse_own_form(body)?;
        self.split_own(&mut parsed.fields);
        Ok(parsed)
    }

    fn parse_own_form(&self, body: &[u8]) -> Result<ParsedItem, MappingError> {
        if let Some(resource) = self.graph() {
            let item = crmsync_mapping::parse_graph(resource, body)?;
            return Ok(ParsedItem {
                fields: item.fields,
                uid: item.uid,
                last_modified: item.last_modified,
            });
        }
        match self.class {
            EntityClass::Contacts => {
                let card = crmsync_mapping::parse_vcard_bytes(body)?;
                Ok(ParsedItem {
                    fields: card.fields,
                    uid: card.uid,
                    last_modified: card.last_modified,
                })
            }
            _ => {
                let item = crmsync_mapping::parse_ical_bytes(body)?;
                let wanted = if self.class == EntityClass::Tasks {
                    CalendarComponent::Todo
                } else {
                    CalendarComponent::Event
                };
                if item.component != wanted {
                    return Err(MappingError::WrongComponent {
                        format: Format::ICalendar,
                        expected: wanted.as_str().to_string(),
                        found: item.component.as_str().to_string(),
                    });
                }
                Ok(ParsedItem {
                    fields: item.fields,
                    uid: item.uid,
                    last_modified: item.last_modified,
                })
            }
        }
    }

    /// The body to write for `fields`; with `previous`, a rewrite of it that
    /// keeps everything crmsync does not map (R-MAP-6).
    /// `revert`: the write only puts the CRM's state back (R-CAL-5: no new
    /// DTSTAMP or SEQUENCE for that).
    pub(crate) fn render(
        &self,
        fields: &FieldMap,
        uid: &str,
        previous: Option<&str>,
        revert: bool,
    ) -> Result<String, MappingError> {
        MappingCounts::bump(&self.counts.rendered);
        let fields = &self.joined(fields);
        if let Some(resource) = self.graph() {
            return crmsync_mapping::render_graph(resource, fields, uid, previous);
        }
        match self.class {
            EntityClass::Contacts => crmsync_mapping::render_vcard(fields, uid, self.vcard_version, previous),
            _ => {
                let dir = self.dir();
                let ctx = IcalContext {
                    now: Utc::now(),
                    time_zone: fields.get("time_zone"),
                    directory: &*dir,
                    keep_schedule: revert,
                };
                crmsync_mapping::render_ical(fields, uid, previous, &ctx)
            }
        }
    }

    /// Contact fields for the CRM from merged `fields` over `base`.
    pub(crate) fn contact_fields(&self, fields: &FieldMap, base: &ContactFields) -> ContactFields {
        match self.graph() {
            Some(resource) => {
                let crm = crmsync_mapping::contact_to_fields(base);
                crmsync_mapping::fields_to_contact(&crmsync_mapping::graph_overlay(resource, fields, &crm), base)
            }
            None => crmsync_mapping::fields_to_contact(fields, base),
        }
    }

    /// Activity fields for the CRM from merged `fields` over `base`.
    pub(crate) fn activity_fields(&self, fields: &FieldMap, base: &ActivityFields) -> ActivityFields {
        let fields = &self.joined(fields);
        let dir = self.dir();
        match self.graph() {
            Some(resource) => {
                let crm = crmsync_mapping::activity_to_fields(base, &*dir);
                let full = crmsync_mapping::graph_overlay(resource, fields, &crm);
                crmsync_mapping::fields_to_activity(&full, base, &*dir)
            }
            None => crmsync_mapping::fields_to_activity(fields, base, &*dir),
        }
    }

    /// The blank activity a groupware item becomes before its fields apply:
    /// an event is an appointment; a task keeps its CRM type (R-MAP-5).
    pub(crate) fn blank_activity(&self, fields: &FieldMap) -> ActivityFields {
        let kind = match self.class {
            EntityClass::Events => ActivityKind::Appointment,
            _ => fields
                .get(keys::KIND)
                .and_then(ActivityKind::parse)
                .unwrap_or(ActivityKind::Task),
        };
        ActivityFields::new(kind, "")
    }
}
