//! Tracked e-mails (R-WEB-16..19): the CRM e-mails a user's mail profiles
//! track, and what a user does to one: set its regarding (R-TRACK-7),
//! convert it (R-TRACK-3) or untrack it (R-DEL-13). The dashboard calls
//! these; each act is checked as the API checks it and recorded in the
//! e-mail's history in that profile.

use chrono::Utc;
use crmsync_model::{
    Access, AccountFields, Activity, ActivityFields, Actor, CaseFields, ContactFields, ConvertTarget, EntityKind,
    LeadFields, OpportunityFields, Record, RecordRef, Validate,
};
use crmsync_store::status::{HistoryEntry, ListedMail};
use crmsync_store::{Conversion, Entity, Store, StoreError};

use crate::convert::{self, ConvertError, ConvertRequest};

/// The history's collection for tracked mail (the runner's report name).
pub const MAIL_COLLECTION: &str = "mail";

/// Whether the profile still tracks the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailState {
    Tracked,
    /// It left the tracking folder or lost the keyword (R-TRACK-10).
    Untracked,
    /// A user untracked it (R-WEB-19): never tracked again.
    UntrackedByUser,
}

/// One tracked message and its CRM e-mail as the list shows it.
#[derive(Debug, Clone)]
pub struct TrackedEmail {
    pub profile: String,
    pub message_key: String,
    pub folder: String,
    /// `folder`, `keyword`, `reply` or `contact`.
    pub trigger: String,
    pub state: MailState,
    pub activity_id: String,
    /// `None`: the CRM e-mail was deleted, or the user may not read it.
    pub email: Option<Activity>,
}

/// One page of the profiles' tracked e-mails, newest first (the caller
/// counts all of them first, to know which pages there are:
/// `SyncState::tracked_mail_count`).
pub async fn tracked_emails(
    store: &Store,
    actor: &Actor,
    profiles: &[String],
    offset: u64,
    limit: u64,
) -> Result<Vec<TrackedEmail>, StoreError> {
    let rows = store.sync_state().tracked_mail_page(profiles, offset, limit).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.row.activity_id.clone()).collect();
    let emails = store.records().get_many::<ActivityFields>(&ids).await?;
    let list = rows
        .into_iter()
        .map(|r| {
            let email = emails
                .iter()
                .find(|e| e.meta.id == r.row.activity_id && e.readable_by(actor))
                .cloned();
            view(r, email)
        })
        .collect();
    Ok(list)
}

fn view(r: ListedMail, email: Option<Activity>) -> TrackedEmail {
    let state = match (r.row.tracked, r.released) {
        (true, _) => MailState::Tracked,
        (false, true) => MailState::UntrackedByUser,
        (false, false) => MailState::Untracked,
    };
    TrackedEmail {
        profile: r.profile,
        message_key: r.row.message_key,
        folder: r.row.folder,
        trigger: r.row.trigger,
        state,
        activity_id: r.row.activity_id,
        email,
    }
}

/// Why an act on a tracked e-mail was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum EmailActionError {
    /// No such message in the profile, its CRM e-mail is gone, or the user
    /// may not read it (R-API-2: one answer).
    #[error("no tracked e-mail {0} that you may read in this profile")]
    NotFound(String),
    /// The record to regard does not exist or the user may not read it.
    #[error("no {kind} {id} that you may read")]
    NoTarget { kind: EntityKind, id: String },
    #[error("only the e-mail's owner or an admin may change it")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// A stale version, or (convert) another regarding: see the message.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The profile's message with `message_key` and its CRM e-mail, readable
/// by `actor`.
async fn find(
    store: &Store,
    actor: &Actor,
    profile: &str,
    message_key: &str,
) -> Result<(ListedMail, Activity), EmailActionError> {
    let not_found = || EmailActionError::NotFound(message_key.to_string());
    let row = store
        .sync_state()
        .tracked_mail_row(profile, message_key)
        .await?
        .ok_or_else(not_found)?;
    match store.records().get::<ActivityFields>(&row.row.activity_id).await {
        Ok(a) if a.readable_by(actor) => Ok((row, a)),
        Ok(_) | Err(StoreError::NotFound { .. }) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// The record a regarding names, if `actor` may read it.
async fn readable_target(store: &Store, actor: &Actor, target: &RecordRef) -> Result<(), EmailActionError> {
    async fn one<F: Entity>(store: &Store, actor: &Actor, id: &str) -> Result<bool, StoreError>
    where
        Record<F>: Access,
    {
        match store.records().get::<F>(id).await {
            Ok(r) => Ok(r.readable_by(actor)),
            Err(StoreError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    let id = target.id.as_str();
    let readable = match target.entity {
        EntityKind::Account => one::<AccountFields>(store, actor, id).await?,
        EntityKind::Contact => one::<ContactFields>(store, actor, id).await?,
        EntityKind::Lead => one::<LeadFields>(store, actor, id).await?,
        EntityKind::Opportunity => one::<OpportunityFields>(store, actor, id).await?,
        EntityKind::Case => one::<CaseFields>(store, actor, id).await?,
        other => {
            return Err(EmailActionError::Invalid(format!(
                "an e-mail regards an account, contact, lead, opportunity or case, not a {other}"
            )));
        }
    };
    if readable {
        Ok(())
    } else {
        Err(EmailActionError::NoTarget {
            kind: target.entity,
            id: target.id.clone(),
        })
    }
}

/// What setting the regarding did.
#[derive(Debug, Clone)]
pub struct RegardingSet {
    pub email: Activity,
    /// `false`: it already regarded that record (nothing written).
    pub changed: bool,
}

/// R-WEB-17 (R-TRACK-7): the e-mail regards `target` (`None`: nothing)
/// from now on, written as the API's activity update writes it: the user
/// must be able to change the e-mail, and `expected_version` must be its
/// version (else a version conflict). Setting what is already set writes
/// nothing.
pub async fn set_regarding(
    store: &Store,
    actor: &Actor,
    profile: &str,
    message_key: &str,
    target: Option<RecordRef>,
    expected_version: i64,
) -> Result<RegardingSet, EmailActionError> {
    let (row, email) = find(store, actor, profile, message_key).await?;
    if !email.writable_by(actor) {
        return Err(EmailActionError::Forbidden);
    }
    if let Some(t) = &target {
        readable_target(store, actor, t).await?;
    }
    if email.fields.regarding == target {
        return Ok(RegardingSet { email, changed: false });
    }
    let mut fields = email.fields.clone();
    fields.regarding = target.clone();
    fields
        .validate()
        .map_err(|e| EmailActionError::Invalid(e.to_string()))?;
    let updated = store
        .records()
        .update::<ActivityFields>(&email.meta.id, expected_version, fields)
        .await?;
    let message = match &target {
        Some(t) => format!(
            "regarding set by {} to {} {} (R-WEB-17)",
            actor_name(actor),
            t.entity,
            t.id
        ),
        None => format!("regarding cleared by {} (R-WEB-17)", actor_name(actor)),
    };
    history(store, &row, "crm regarding", "R-TRACK-7", message).await?;
    Ok(RegardingSet {
        email: updated,
        changed: true,
    })
}

/// R-WEB-18 (R-TRACK-3): converts the e-mail as `POST …/convert` does,
/// owned by `actor`, at `expected_version`; a conversion that creates the
/// record is recorded in the history, a repeated one (R-TRACK-3-ONCE)
/// answers the earlier record and writes nothing.
pub async fn convert_email(
    store: &Store,
    actor: &Actor,
    profile: &str,
    message_key: &str,
    to: ConvertTarget,
    replace_regarding: bool,
    expected_version: i64,
) -> Result<Conversion, EmailActionError> {
    let (row, _) = find(store, actor, profile, message_key).await?;
    let activity = convert::convertible(store, actor, &row.row.activity_id).await?;
    let request = ConvertRequest {
        to,
        fields: None,
        replace_regarding,
    };
    let prepared = convert::prepare(store, activity, request).await?;
    let outcome = prepared.commit(store, expected_version, &actor.user_id).await?;
    if let Conversion::Created { target, .. } = &outcome {
        let message = format!(
            "converted by {} into {} {}, which the e-mail now regards (R-WEB-18)",
            actor_name(actor),
            target.entity,
            target.id
        );
        history(store, &row, "crm convert", "R-TRACK-3", message).await?;
    }
    Ok(outcome)
}

/// What untracking did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailUntracked {
    pub activity_id: String,
    /// `false`: the user had untracked it already.
    pub released: bool,
    pub deleted_in_crm: bool,
}

/// R-WEB-19 (R-DEL-13, R-TRACK-10): the profile stops tracking the message
/// for good (its row is `released`: the runner neither fetches it nor makes
/// a CRM e-mail of it again, wherever it is filed; the mailbox keeps the
/// message and its `$CRMTracked` mark). With `delete_in_crm` the CRM
/// e-mail is deleted too, which only a user who may change it may ask
/// (checked before anything is done); it is released first, so a delete
/// refused because the e-mail changed meanwhile leaves it untracked and
/// kept. A repeat changes nothing; an e-mail already deleted counts as
/// deleted.
pub async fn untrack_email(
    store: &Store,
    actor: &Actor,
    profile: &str,
    message_key: &str,
    delete_in_crm: bool,
) -> Result<EmailUntracked, EmailActionError> {
    let state = store.sync_state();
    let row = state
        .tracked_mail_row(profile, message_key)
        .await?
        .ok_or_else(|| EmailActionError::NotFound(message_key.to_string()))?;
    let email = match store.records().get::<ActivityFields>(&row.row.activity_id).await {
        Ok(a) if a.readable_by(actor) => Some(a),
        Ok(_) => return Err(EmailActionError::NotFound(message_key.to_string())),
        // Deleted already: untracking it is still the user's to do (only
        // someone who sees the profile gets here).
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if delete_in_crm && email.as_ref().is_some_and(|e| !e.writable_by(actor)) {
        return Err(EmailActionError::Forbidden);
    }
    let released = state.release_tracked_mail(profile, message_key).await?;
    if released {
        let message = format!(
            "untracked by {} (R-WEB-19): the profile no longer tracks this message and never tracks it again; the \
             message stays in the mailbox",
            actor_name(actor)
        );
        history(store, &row, "crm untrack", "R-DEL-13", message).await?;
    }
    let deleted_in_crm = match (delete_in_crm, email) {
        (true, Some(e)) => {
            store
                .records()
                .delete::<ActivityFields>(&e.meta.id, Some(e.meta.version))
                .await?;
            let message = format!("CRM e-mail deleted by {} on untracking (R-WEB-19)", actor_name(actor));
            history(store, &row, "crm delete", "R-DEL-13", message).await?;
            true
        }
        (true, None) => true,
        (false, _) => false,
    };
    Ok(EmailUntracked {
        activity_id: row.row.activity_id,
        released,
        deleted_in_crm,
    })
}

fn actor_name(actor: &Actor) -> String {
    format!("user {}", actor.user_id)
}

async fn history(store: &Store, row: &ListedMail, action: &str, rule: &str, message: String) -> Result<(), StoreError> {
    store
        .sync_state()
        .add_history(&HistoryEntry {
            profile: row.profile.clone(),
            collection: MAIL_COLLECTION.into(),
            crm_id: Some(row.row.activity_id.clone()),
            href: None,
            run_id: None,
            at: Utc::now(),
            action: action.into(),
            rule: rule.into(),
            message,
            detail: None,
        })
        .await
}
