use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use crmsync_connector::Href;
use crmsync_engine::{CollectionInput, EntityClass, Explanation, GroupwareSide, ItemRef, PairState, PairedItem};
use crmsync_mapping::CardVersion;
use crmsync_mapping::ParticipantDirectory;
use crmsync_model::{ActivityFields, ContactFields, EntityKind, ParticipantSyncStatus, ResponseStatus};
use crmsync_store::StoreError;
use crmsync_store::status::TextColumn;
use serde::Serialize;

use crate::codec::Codec;
use crate::collect::engine_record;
use crate::crm_side::{self, CrmState};
use crate::directory::{BatchDirectory, Needs};
use crate::error::SyncError;
use crate::ops::field_values::{self, FieldValues};
use crate::pair_codec::to_status;
use crate::profile::{SyncProfile, collection_name};
use crate::stores::RunStores;

/// One history line as `explain` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryLine {
    pub at: DateTime<Utc>,
    pub action: String,
    pub rule: String,
    pub message: String,
    /// Per field, the value kept and the value lost, with their sides and
    /// the rule (R-EDIT-3: nothing is overwritten silently).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<FieldValues>,
}

/// R-EXPLAIN-1: whether a record syncs for a profile, which filter, rule and
/// policy decided, what the next sync would do, and everything sync did to it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordExplanation {
    pub profile: String,
    pub record_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<EntityClass>,
    /// The record's state in the CRM: `present`, `deleted` or `unknown`.
    pub crm: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair_state: Option<PairState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
    /// An appointment's participants: each one's sync status and answer (R-CAL-3).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<ParticipantLine>,
    pub history: Vec<HistoryLine>,
}

/// One participant of an explained appointment.
#[derive(Debug, Clone, Serialize)]
pub struct ParticipantLine {
    /// The participant's address, else their CRM id.
    pub who: String,
    pub invite: bool,
    pub sync_status: ParticipantSyncStatus,
    pub response: ResponseStatus,
}

impl fmt::Display for RecordExplanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "record {} for profile {}", self.record_id, self.profile)?;
        if let Some(class) = self.class {
            writeln!(f, "  collection: {}", collection_name(class))?;
        }
        writeln!(f, "  in the CRM: {}", self.crm)?;
        match (&self.href, &self.pair_state) {
            (Some(href), Some(state)) => writeln!(f, "  paired with {href} ({})", state.as_text())?,
            _ => writeln!(f, "  not paired with any groupware item")?,
        }
        match &self.explanation {
            Some(e) => {
                for line in e.to_string().lines() {
                    writeln!(f, "  {line}")?;
                }
            }
            None => writeln!(f, "  nothing to decide: the record is unknown to this profile")?,
        }
        if !self.participants.is_empty() {
            writeln!(f, "  participants (R-CAL-3):")?;
            for p in &self.participants {
                let status = serde_json::to_value(p.sync_status).unwrap_or_default();
                let response = serde_json::to_value(p.response).unwrap_or_default();
                let invited = if p.invite { "invited" } else { "not invited" };
                writeln!(
                    f,
                    "    {}: {invited}, {}, answer {}",
                    p.who,
                    status.as_str().unwrap_or_default(),
                    response.as_str().unwrap_or_default()
                )?;
            }
        }
        if self.history.is_empty() {
            writeln!(f, "  history: none")?;
        } else {
            writeln!(f, "  history:")?;
            for h in &self.history {
                writeln!(
                    f,
                    "    {} {} ({}): {}",
                    h.at.format("%Y-%m-%d %H:%M:%S"),
                    h.action,
                    h.rule,
                    h.message
                )?;
                for v in &h.values {
                    writeln!(f, "      {v}")?;
                }
            }
        }
        Ok(())
    }
}

/// Explains one CRM record for one profile, reading both sides as a sync
/// would (the groupware item is fetched when the record is paired) and
/// changing nothing.
pub async fn explain_record(
    store: impl Into<RunStores>,
    profile: &SyncProfile,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<RecordExplanation, SyncError> {
    let store = &store.into();
    let pairs = store.sync_state().pairs_of_record(&profile.name, record_id).await?;
    let (class, crm) = match class_of(store, record_id).await? {
        Some(c) => (Some(c), "present"),
        None if store
            .records()
            .tombstone(EntityKind::Contact, record_id)
            .await?
            .is_some()
            || store
                .records()
                .tombstone(EntityKind::Activity, record_id)
                .await?
                .is_some() =>
        {
            let class = pairs.first().and_then(|p| class_of_collection(&p.collection));
            (class, "deleted")
        }
        None => (
            pairs.first().and_then(|p| class_of_collection(&p.collection)),
            "unknown",
        ),
    };
    let pair = pairs.first();
    let history = store
        .sync_state()
        .history(&profile.name, Some(record_id), pair.map(|p| p.href.as_str()))
        .await?
        .into_iter()
        .map(|h| HistoryLine {
            at: h.at,
            action: h.action,
            values: field_values::from_detail(h.detail.as_deref()),
            rule: h.rule,
            message: h.message,
        })
        .collect();
    let mut out = RecordExplanation {
        profile: profile.name.clone(),
        record_id: record_id.to_string(),
        class,
        crm,
        href: pair.map(|p| p.href.clone()),
        pair_state: pair.map(|p| p.state),
        explanation: None,
        participants: Vec::new(),
        history,
    };
    let Some(class) = class else { return Ok(out) };

    let directory = BatchDirectory::new(store, &profile.actor);
    let codec = Codec {
        class,
        directory: &directory,
        vcard_version: CardVersion::V3,
        // Explains the CRM side; the class's own format is enough for that.
        format: crate::profile::collection_kind(class)
            .map_or(crmsync_connector::ContentType::ICalendar, |k| k.content_type()),
        counts: Default::default(),
    };
    let paired: BTreeSet<String> = pair.iter().map(|p| p.crm_id.clone()).collect();
    // A full CRM pass restricted to this record: `load` with no cursor reads
    // all candidates; the record's own facts are what matter here.
    let crm_state: CrmState = crm_side::load_one(store, profile, &codec, record_id, &paired).await?;
    let mut input = CollectionInput::new(class, collection_name(class));
    match pair {
        Some(row) => {
            let status = to_status(row)?;
            let groupware = fetch_item(profile, class, &row.href, &codec).await?;
            let crm = crate::collect::crm_side_of(&status, &crm_state);
            input.pairs.push(PairedItem {
                pair: status,
                crm,
                groupware,
            });
        }
        None => {
            input.unpaired_crm = crm_state
                .present
                .values()
                .filter(|r| r.facts.readable)
                .map(engine_record)
                .collect();
        }
    }
    if class == EntityClass::Events
        && let Ok(activity) = store.records().get::<ActivityFields>(record_id).await
    {
        let mut needs = Needs::default();
        needs.of_activity(&activity.fields);
        directory.prepare(needs).await?;
        let dir = directory.get();
        out.participants = activity
            .fields
            .participants
            .iter()
            .map(|p| ParticipantLine {
                who: dir
                    .email_of(&p.party)
                    .or_else(|| p.party.id.clone())
                    .unwrap_or_default(),
                invite: p.invite,
                sync_status: p.sync_status,
                response: p.response,
            })
            .collect();
    }
    out.explanation = Some(crmsync_engine::explain(
        &profile.rules,
        now,
        &input,
        &ItemRef::Crm(record_id.to_string()),
    ));
    Ok(out)
}

async fn class_of(store: &RunStores, id: &str) -> Result<Option<EntityClass>, SyncError> {
    match store.records().get::<ContactFields>(id).await {
        Ok(_) => return Ok(Some(EntityClass::Contacts)),
        Err(StoreError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    match store.records().get::<ActivityFields>(id).await {
        Ok(a) => Ok(Some(EntityClass::for_activity(a.fields.kind))),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn class_of_collection(name: &str) -> Option<EntityClass> {
    [EntityClass::Contacts, EntityClass::Events, EntityClass::Tasks]
        .into_iter()
        .find(|c| collection_name(*c) == name)
}

async fn fetch_item(
    profile: &SyncProfile,
    class: EntityClass,
    href: &str,
    codec: &Codec<'_>,
) -> Result<GroupwareSide, SyncError> {
    let Some(collection) = crate::runner::find_collection(profile, class, false).await? else {
        return Ok(GroupwareSide::Deleted);
    };
    let fetched = profile.connector.get_many(&collection.id, &[Href::new(href)]).await?;
    let item = fetched.found.into_iter().next();
    if item.is_some() {
        // Parsing asks for the profile user's own address (R-CAL-7).
        codec.prepare(Needs::default()).await?;
    }
    Ok(match item {
        Some(item) => match codec.parse(&item.body) {
            Ok(parsed) => GroupwareSide::Present(crmsync_engine::GroupwareItem {
                href: href.to_string(),
                etag: item.etag.as_str().to_string(),
                fields: parsed.fields,
                last_modified: parsed.last_modified,
            }),
            // Malformed: explain what sync would do, which is to leave it be.
            Err(_) => GroupwareSide::Unchanged,
        },
        None if fetched.failed.is_empty() => GroupwareSide::Deleted,
        None => GroupwareSide::Unchanged,
    })
}
