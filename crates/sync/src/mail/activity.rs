//! A parsed message → the CRM e-mail activity (R-TRACK-8), and adding a
//! tracking user to an existing one (R-TRACK-5).

use chrono::{DateTime, Utc};
use crmsync_mapping::ParsedEmail;
use crmsync_model::{
    ActivityFields, ActivityKind, ActivityState, EmailDetails, EmailDirection, Participant, ParticipantRole,
    ParticipantSyncStatus, Party, PartyKind, RecordRef, ResponseStatus,
};

use super::parties::Parties;
use crate::error::SyncError;
use crate::stores::RunStores;

/// Builds the e-mail activity of `parsed`, with `user_id` (the tracking
/// user) among the participants and `regarding` carried from the thread.
pub(crate) async fn email_activity(
    store: &RunStores,
    parties: &mut Parties,
    parsed: &ParsedEmail,
    user_id: &str,
    received_at: Option<DateTime<Utc>>,
    regarding: Option<RecordRef>,
) -> Result<ActivityFields, SyncError> {
    let from = match &parsed.from {
        Some(a) => Some(parties.resolve(store, a).await?),
        None => None,
    };
    let mut to = Vec::new();
    for a in &parsed.to {
        to.push(parties.resolve(store, a).await?);
    }
    let mut cc = Vec::new();
    for a in &parsed.cc {
        cc.push(parties.resolve(store, a).await?);
    }
    // Sent by someone of the CRM's own organisation: outgoing.
    let direction = match &from {
        Some(p) if p.kind == PartyKind::User => EmailDirection::Outgoing,
        _ => EmailDirection::Incoming,
    };
    let mut participants = Vec::new();
    let mut add = |party: &Party, role| {
        if !participants.iter().any(|p: &Participant| same_party(&p.party, party)) {
            participants.push(participant(party.clone(), role));
        }
    };
    if let Some(p) = &from {
        add(p, ParticipantRole::Organizer);
    }
    for p in &to {
        add(p, ParticipantRole::Required);
    }
    for p in &cc {
        add(p, ParticipantRole::Optional);
    }
    let mut fields = ActivityFields::new(
        ActivityKind::Email,
        parsed.subject.clone().unwrap_or_else(|| "(no subject)".into()),
    );
    fields.participants = participants;
    add_user(&mut fields, user_id);
    fields.state = ActivityState::Completed;
    fields.start = parsed.sent_at.or(received_at);
    fields.message_id = parsed.message_id.clone();
    fields.regarding = regarding;
    fields.email = Some(EmailDetails {
        direction,
        from,
        to,
        cc,
        sent_at: parsed.sent_at,
        received_at,
        text_body: parsed.text_body.clone(),
        html_body: parsed.html_body.clone(),
        attachments: parsed.attachments.clone(),
        in_reply_to: parsed.in_reply_to.clone(),
        references: parsed.references.clone(),
    });
    Ok(fields)
}

/// Makes `user_id` a participant; false when it already was one.
pub(crate) fn add_user(fields: &mut ActivityFields, user_id: &str) -> bool {
    if fields.participants.iter().any(|p| p.is_user(user_id)) {
        return false;
    }
    fields.participants.push(participant(
        Party {
            kind: PartyKind::User,
            id: Some(user_id.to_string()),
            email: None,
            name: None,
        },
        ParticipantRole::Optional,
    ));
    true
}

/// Adds `user_id` to the CRM e-mail `id` (compare-and-set, re-read on a race).
pub(crate) async fn link_user(store: &RunStores, id: &str, user_id: &str) -> Result<bool, SyncError> {
    for _ in 0..5 {
        let mut email: crmsync_model::Activity = store.records().get(id).await?;
        if !add_user(&mut email.fields, user_id) {
            return Ok(false);
        }
        match store.records().update(id, email.meta.version, email.fields).await {
            Ok(_) => return Ok(true),
            Err(crmsync_store::StoreError::VersionConflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(SyncError::Store(crmsync_store::StoreError::Conflict(format!(
        "e-mail {id} kept changing while a tracking user was added; the next run adds it"
    ))))
}

fn same_party(a: &Party, b: &Party) -> bool {
    match (&a.id, &b.id) {
        (Some(x), Some(y)) => a.kind == b.kind && x == y,
        _ => a.email.as_deref().map(str::to_lowercase) == b.email.as_deref().map(str::to_lowercase),
    }
}

fn participant(party: Party, role: ParticipantRole) -> Participant {
    Participant {
        party,
        role,
        // E-mails never travel to calendars: no invites.
        invite: false,
        response: ResponseStatus::NeedsAction,
        sync_status: ParticipantSyncStatus::NotSynced,
    }
}
