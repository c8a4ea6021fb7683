//! Tracked e-mails (R-WEB-16): the CRM e-mails the user's mail profiles
//! track (an admin: every profile's), newest first, with Set regarding,
//! Convert and Untrack (R-WEB-17..19). What each button does is an
//! `ops::emails` call, checked as the API checks it and recorded in the
//! e-mail's history.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use crmsync_model::{ConvertTarget, EmailDetails, EntityKind, Party, RecordRef};
use crmsync_ops::ConvertError;
use crmsync_ops::emails::{
    EmailActionError, MailState, TrackedEmail, convert_email, set_regarding, tracked_emails, untrack_email,
};
use crmsync_store::{Conversion, StoreError};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, page_of, visible, visible_profile};
use crate::session::{Posted, SignedIn};

/// E-mails per page: what is read into HTML per request stays bounded.
pub const PAGE_SIZE: usize = 50;

/// What a tracked e-mail can regard (R-TRACK-7).
const REGARDING_KINDS: [EntityKind; 5] = [
    EntityKind::Account,
    EntityKind::Contact,
    EntityKind::Lead,
    EntityKind::Opportunity,
    EntityKind::Case,
];

#[derive(Debug, Deserialize)]
pub struct EmailsQuery {
    /// 1-based; absent: the first.
    #[serde(default)]
    page: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    who: SignedIn,
    Query(query): Query<EmailsQuery>,
) -> Result<Markup, WebError> {
    let profiles: Vec<String> = visible(&state, &who).await?.into_iter().map(|p| p.name).collect();
    let total = state.store.sync_state().tracked_mail_count(&profiles).await? as usize;
    let (page, pages) = page_of(query.page.as_deref(), total, PAGE_SIZE)?;
    let offset = ((page - 1) * PAGE_SIZE) as u64;
    let emails = tracked_emails(&state.store, &who.actor(), &profiles, offset, PAGE_SIZE as u64).await?;
    let body = html! {
        h1 { "Tracked e-mails" }
        @if emails.is_empty() {
            p { "Your profiles track no e-mail. A mail profile tracks the messages of its tracking folder, those with its keyword and replies to them." }
        } @else {
            p #email-count { (total) " tracked e-mails, the newest first. Untrack stops tracking a message for good: the message stays in the mailbox (with its " code { "$CRMTracked" } " mark) and is never made a CRM e-mail again." }
            div.table-wrap {
                table {
                    thead { tr {
                        th scope="col" { "Subject" } th scope="col" { "From" } th scope="col" { "To" }
                        th scope="col" { "Direction" } th scope="col" { "Sent / received" } th scope="col" { "Tracked by" }
                        th scope="col" { "Regarding" } th scope="col" { "State" } th scope="col" { "Actions" }
                    } }
                    tbody { @for (i, e) in emails.iter().enumerate() { (row(&who, i, e)) } }
                }
            }
        }
        @if pages > 1 { (layout::pager("Pages of e-mails", page, pages, |n| format!("/emails?page={n}"))) }
    };
    Ok(layout::page("Tracked e-mails", Some(&who), body))
}

fn row(who: &SignedIn, i: usize, e: &TrackedEmail) -> Markup {
    let details = e.email.as_ref().and_then(|a| a.fields.email.as_ref());
    html! {
        tr id=(format!("email-{}", e.activity_id)) data-email=(e.activity_id) {
            td {
                @match &e.email {
                    Some(a) => a href=(layout::record_href(&e.profile, &e.activity_id)) { (a.fields.subject) },
                    None => { "(CRM e-mail deleted)" },
                }
            }
            td { @if let Some(from) = details.and_then(|d| d.from.as_ref()) { (party(from)) } }
            td { @if let Some(d) = details { (parties(&d.to)) } }
            td { @if let Some(d) = details { (direction(d)) } }
            td { @if let Some(d) = details { (times(d)) } }
            td { (e.profile) " · " (e.folder) " (" (e.trigger) ")" }
            td {
                @match e.email.as_ref().and_then(|a| a.fields.regarding.as_ref()) {
                    Some(r) => a href=(layout::record_href(&e.profile, &r.id)) { (r.entity) " " code { (r.id) } },
                    None => { "—" },
                }
            }
            td { (state_text(e.state)) }
            td { @if let Some(a) = &e.email { (actions(who, i, e, a.meta.version, a.fields.regarding.is_some())) }
                 @else if e.state != MailState::UntrackedByUser { (untrack_form(who, i, e)) } }
        }
    }
}

fn actions(who: &SignedIn, i: usize, e: &TrackedEmail, version: i64, regards: bool) -> Markup {
    let base = format!("/profiles/{}/emails", e.profile);
    html! {
        form method="post" action=(format!("{base}/regarding")) {
            (hidden(who, e, version))
            select name="kind" aria-label=(format!("Kind of record to regard ({})", i + 1)) {
                @for k in REGARDING_KINDS { option value=(k.as_str()) { (k) } }
            }
            input type="text" name="id" aria-label=(format!("Id of the record to regard ({})", i + 1)) placeholder="record id";
            button type="submit" { "Set regarding" }
        }
        @if regards {
            form method="post" action=(format!("{base}/regarding")) {
                (hidden(who, e, version))
                input type="hidden" name="clear" value="true";
                button type="submit" { "Clear regarding" }
            }
        }
        form method="post" action=(format!("{base}/convert")) {
            (hidden(who, e, version))
            select name="to" aria-label=(format!("Convert into ({})", i + 1)) {
                option value="opportunity" { "opportunity" }
                option value="lead" { "lead" }
                option value="case" { "case" }
            }
            button type="submit" { "Convert" }
        }
        @if e.state != MailState::UntrackedByUser { (untrack_form(who, i, e)) }
    }
}

fn untrack_form(who: &SignedIn, i: usize, e: &TrackedEmail) -> Markup {
    html! {
        form method="post" action=(format!("/profiles/{}/emails/untrack", e.profile)) {
            (layout::csrf_field(who))
            input type="hidden" name="key" value=(e.message_key);
            select name="crm" aria-label=(format!("The CRM e-mail on untracking ({})", i + 1)) {
                option value="keep" { "keep the CRM e-mail" }
                option value="delete" { "delete the CRM e-mail" }
            }
            button type="submit" { "Untrack" }
        }
    }
}

fn hidden(who: &SignedIn, e: &TrackedEmail, version: i64) -> Markup {
    html! {
        (layout::csrf_field(who))
        input type="hidden" name="key" value=(e.message_key);
        input type="hidden" name="version" value=(version);
    }
}

fn party(p: &Party) -> String {
    match (&p.name, &p.email) {
        (Some(n), Some(e)) => format!("{n} <{e}>"),
        (Some(n), None) => n.clone(),
        (None, Some(e)) => e.clone(),
        (None, None) => "?".into(),
    }
}

fn parties(ps: &[Party]) -> String {
    ps.iter().map(party).collect::<Vec<_>>().join(", ")
}

fn direction(d: &EmailDetails) -> &'static str {
    match d.direction {
        crmsync_model::EmailDirection::Incoming => "incoming",
        crmsync_model::EmailDirection::Outgoing => "outgoing",
    }
}

fn times(d: &EmailDetails) -> Markup {
    html! {
        @if let Some(t) = d.sent_at { "sent " (layout::when(t)) }
        @if d.sent_at.is_some() && d.received_at.is_some() { br; }
        @if let Some(t) = d.received_at { "received " (layout::when(t)) }
    }
}

fn state_text(s: MailState) -> &'static str {
    match s {
        MailState::Tracked => "tracked",
        MailState::Untracked => "untracked (left the folder or lost the keyword)",
        MailState::UntrackedByUser => "untracked by a user",
    }
}

#[derive(Debug, Deserialize)]
pub struct RegardingForm {
    key: String,
    version: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    clear: Option<String>,
}

/// R-WEB-17: Set regarding / Clear regarding.
pub async fn regarding(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<RegardingForm>,
) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let info = visible_profile(&state, who, &name).await?;
    let f = &posted.fields;
    let key = issued(&f.key)?;
    let version = version(&f.version)?;
    let target = if f.clear.is_some() {
        None
    } else {
        let kind = f
            .kind
            .as_deref()
            .and_then(EntityKind::parse)
            .filter(|k| REGARDING_KINDS.contains(k))
            .ok_or_else(|| WebError::BadForm("kind: choose account, contact, lead, opportunity or case".into()))?;
        let id = f.id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let id = id.ok_or_else(|| WebError::BadForm("id: give the id of the record to regard".into()))?;
        if !issued_text(id) {
            return Err(WebError::NotFound("record"));
        }
        Some(RecordRef {
            entity: kind,
            id: id.to_string(),
        })
    };
    let done = set_regarding(&state.store, &who.actor(), &info.name, key, target.clone(), version)
        .await
        .map_err(from_action)?;
    let text = match (&target, done.changed) {
        (Some(t), true) => {
            html! { p data-regarding=(t.id) { "The e-mail “" (done.email.fields.subject) "” now regards " (t.entity) " " a href=(layout::record_href(&info.name, &t.id)) { code { (t.id) } } "." } }
        }
        (Some(t), false) => {
            html! { p data-regarding=(t.id) { "The e-mail already regarded " (t.entity) " " code { (t.id) } ": nothing changed." } }
        }
        (None, true) => {
            html! { p data-regarding="" { "The e-mail “" (done.email.fields.subject) "” regards nothing now." } }
        }
        (None, false) => html! { p data-regarding="" { "The e-mail regarded nothing: nothing changed." } },
    };
    Ok(layout::outcome(
        who,
        "Regarding set",
        text,
        ("/emails", "Back to the tracked e-mails"),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ConvertForm {
    key: String,
    version: String,
    to: String,
    #[serde(default)]
    replace: Option<String>,
}

/// R-WEB-18: Convert; "already regards another record" offers the replace.
pub async fn convert(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<ConvertForm>,
) -> Result<Response, WebError> {
    let who = &posted.signed_in;
    let info = visible_profile(&state, who, &name).await?;
    let f = &posted.fields;
    let key = issued(&f.key)?;
    let version = version(&f.version)?;
    let to: ConvertTarget = serde_json::from_value(serde_json::Value::String(f.to.clone()))
        .map_err(|_| WebError::BadForm("to: choose opportunity, lead or case".into()))?;
    let replace = f.replace.is_some();
    let outcome = match convert_email(&state.store, &who.actor(), &info.name, key, to, replace, version).await {
        Err(EmailActionError::Store(StoreError::Conflict(message))) if !replace => {
            return Ok(replace_choice(who, &info.name, f, &message).into_response());
        }
        other => other.map_err(from_action)?,
    };
    let (target, created) = match &outcome {
        Conversion::Created { target, .. } => (target, true),
        Conversion::Existing { target, .. } => (target, false),
    };
    let text = html! {
        p data-converted=(target.id) {
            @if created { "Converted: the new " } @else { "Converted before: the " }
            (target.entity) " " a href=(layout::record_href(&info.name, &target.id)) { code { (target.id) } }
            " is what the e-mail regards."
        }
    };
    Ok(layout::outcome(who, "Converted", text, ("/emails", "Back to the tracked e-mails")).into_response())
}

/// The 409 of a conversion whose e-mail regards another record, with the
/// button that replaces that link (R-TRACK-3-REPLACE).
fn replace_choice(who: &SignedIn, profile: &str, f: &ConvertForm, message: &str) -> (StatusCode, Markup) {
    let body = html! {
        h1 { "Already regarding another record" }
        p.error role="alert" { (message) }
        form method="post" action=(format!("/profiles/{profile}/emails/convert")) {
            (layout::csrf_field(who))
            input type="hidden" name="key" value=(f.key);
            input type="hidden" name="version" value=(f.version);
            input type="hidden" name="to" value=(f.to);
            input type="hidden" name="replace" value="true";
            button type="submit" { "Convert and replace the regarding" }
        }
        p { a href="/emails" { "Back to the tracked e-mails" } }
    };
    (
        StatusCode::CONFLICT,
        layout::page("Already regarding another record", Some(who), body),
    )
}

#[derive(Debug, Deserialize)]
pub struct UntrackForm {
    key: String,
    crm: String,
}

/// R-WEB-19: Untrack, keeping or deleting the CRM e-mail.
pub async fn untrack(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<UntrackForm>,
) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let info = visible_profile(&state, who, &name).await?;
    let key = issued(&posted.fields.key)?;
    let delete = match posted.fields.crm.as_str() {
        "keep" => false,
        "delete" => true,
        _ => return Err(WebError::BadForm("crm: choose keep or delete".into())),
    };
    let done = untrack_email(&state.store, &who.actor(), &info.name, key, delete)
        .await
        .map_err(from_action)?;
    let text = html! {
        p data-untracked=(done.activity_id) {
            @if done.released { (info.name) " no longer tracks this message and never tracks it again." }
            @else { (info.name) " had stopped tracking this message already: nothing changed." }
            " The message stays in the mailbox; its " code { "$CRMTracked" } " mark stays too."
        }
        p { @if done.deleted_in_crm { "The CRM e-mail is deleted." } @else { "The CRM e-mail is kept." } }
    };
    Ok(layout::outcome(
        who,
        "Untracked",
        text,
        ("/emails", "Back to the tracked e-mails"),
    ))
}

fn issued(key: &str) -> Result<&str, WebError> {
    if issued_text(key) {
        Ok(key)
    } else {
        Err(WebError::NotFound("tracked e-mail"))
    }
}

fn version(v: &str) -> Result<i64, WebError> {
    v.trim()
        .parse()
        .map_err(|_| WebError::BadForm(format!("version: `{v}` is not a version")))
}

fn from_action(e: EmailActionError) -> WebError {
    let text = e.to_string();
    match e {
        EmailActionError::NotFound(_) => WebError::NotFound("tracked e-mail"),
        EmailActionError::NoTarget { .. } => WebError::NotFound("record to regard"),
        EmailActionError::Forbidden => WebError::Forbidden(text),
        EmailActionError::Invalid(_) => WebError::BadForm(text),
        EmailActionError::Convert(ConvertError::NotFound(_)) => WebError::NotFound("tracked e-mail"),
        EmailActionError::Convert(ConvertError::Forbidden) => WebError::Forbidden(text),
        EmailActionError::Convert(ConvertError::Store(e)) | EmailActionError::Store(e) => from_store(e),
        EmailActionError::Convert(_) => WebError::BadForm(text),
    }
}

/// A stale version or a refused write is 409 with the store's words.
fn from_store(e: StoreError) -> WebError {
    match e {
        e @ (StoreError::VersionConflict { .. } | StoreError::Conflict(_)) => WebError::Conflict(e.to_string()),
        e => WebError::Store(e),
    }
}
