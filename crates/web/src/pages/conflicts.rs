//! Conflicts (R-WEB-4): each held conflict side by side (base, CRM,
//! groupware) per field, with take-CRM / take-groupware, or a choice per
//! field (R-WEB-4-PER-FIELD) that may be a value of one's own
//! (R-EDIT-3-THIRD, written into the CRM at once); the next run writes the
//! choice (R-EDIT-3 `manual`).

use std::collections::{HashMap, HashSet};

use axum::extract::{Path, Query, State};
use crmsync_model::FieldMap;
use crmsync_ops::{ConflictChoice, ConflictView, holds_own_value, resolve_conflict, resolve_conflict_editing};
use crmsync_store::status::{ConflictResolution, ConflictRow};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, page_number, ready, visible, visible_profile};
use crate::session::{Posted, SignedIn};

fn shown(v: &Option<String>) -> Markup {
    match v {
        Some(s) => html! { (s) },
        None => html! { em { "(empty)" } },
    }
}

/// Conflicts per page: what is read into HTML per request stays bounded
/// however many wait (R-WEB-4-PAGE).
pub const PAGE_SIZE: usize = 50;

#[derive(Debug, Deserialize)]
pub struct ConflictsQuery {
    /// Only this profile's conflicts (the home page links them so).
    #[serde(default)]
    profile: Option<String>,
    /// 1-based; absent: the first.
    #[serde(default)]
    page: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    who: SignedIn,
    Query(query): Query<ConflictsQuery>,
) -> Result<Markup, WebError> {
    let only = query.profile.as_deref().filter(|p| !p.is_empty());
    let names: HashSet<String> = match only {
        Some(name) => HashSet::from([visible_profile(&state, &who, name).await?.name]),
        None => visible(&state, &who).await?.into_iter().map(|p| p.name).collect(),
    };
    let all: Vec<ConflictRow> = state
        .store
        .sync_state()
        .open_conflicts(only)
        .await?
        .into_iter()
        .filter(|c| names.contains(&c.profile))
        .collect();
    let pages = all.len().div_ceil(PAGE_SIZE).max(1);
    let page = page_number(query.page.as_deref(), pages)?;
    let total = all.len();
    let conflicts: Vec<ConflictView> = all
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(ConflictView::from)
        .collect();
    // The home page links `#in-<profile>`: the first conflict of each
    // profile carries that id, so ids stay unique.
    let mut seen = HashSet::new();
    let firsts: Vec<bool> = conflicts.iter().map(|c| seen.insert(c.profile.as_str())).collect();
    let link = |n: usize| match only {
        Some(p) => format!("/conflicts?profile={}&page={n}", layout::encode(p)),
        None => format!("/conflicts?page={n}"),
    };
    let body = html! {
        h1 { "Conflicts" }
        @if conflicts.is_empty() { p { "No conflict waits for a choice." } }
        @else {
            p #conflict-counts {
                (total) " open" @if let Some(p) = only { " in " (p) } "."
                @if only.is_some() { " " a href="/conflicts" { "All profiles" } }
            }
            p { "Both sides changed these fields differently since the last sync. Choose the side to keep, or edit a value of your own; the next run writes it to the other side and records it in the history." }
        }
        @for (c, first) in conflicts.iter().zip(&firsts) { (conflict(&who, c, *first)) }
        @if pages > 1 { (layout::pager("Pages of conflicts", page, pages, link)) }
    };
    Ok(layout::page("Conflicts", Some(&who), body))
}

fn conflict(who: &SignedIn, c: &ConflictView, anchor: bool) -> Markup {
    let id = format!("conflict-{}", c.id);
    html! {
        section.conflict id=(id) aria-labelledby=(format!("{id}-title")) data-profile=(c.profile) {
            h2 id=(format!("{id}-title")) {
                (c.collection) " of "
                @if anchor { span id=(format!("in-{}", c.profile)) { (c.profile) } } @else { (c.profile) }
            }
            p { "CRM record " code { (c.record_id) } ", groupware item " code { (c.href) } ", since " (layout::when(c.created_at)) }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "Field" } th scope="col" { "Before (base)" } th scope="col" { "CRM" } th scope="col" { "Groupware" } } }
                    tbody {
                        @for f in &c.fields {
                            tr { th scope="row" { (f.key) } td { (shown(&f.base)) } td.crm { (shown(&f.crm)) } td.groupware { (shown(&f.groupware)) } }
                        }
                    }
                }
            }
            (per_field(who, c))
            div.actions {
                @for (take, label) in [("crm", "Take CRM"), ("groupware", "Take groupware")] {
                    form method="post" action=(format!("/conflicts/{}/resolve", c.id)) {
                        (layout::csrf_field(who))
                        input type="hidden" name="take" value=(take);
                        button type="submit" name="submit" value=(take) { (label) }
                    }
                }
            }
        }
    }
}

/// The prefix of a per-field choice's form field (`field.<key>`).
const FIELD_PREFIX: &str = "field.";
/// The prefix of a per-field value of one's own (`edit.<key>`), taken when
/// the field's choice is `edit`.
const EDIT_PREFIX: &str = "edit.";

/// One choice per field: the CRM's, the groupware's, or a value typed in
/// (no script needed), CRM first.
fn per_field(who: &SignedIn, c: &ConflictView) -> Markup {
    html! {
        form.per-field method="post" action=(format!("/conflicts/{}/resolve", c.id)) {
            (layout::csrf_field(who))
            input type="hidden" name="take" value="fields";
            @for (i, f) in c.fields.iter().enumerate() {
                fieldset {
                    legend { (f.key) }
                    @for (side, label, value) in [("crm", "CRM", &f.crm), ("groupware", "Groupware", &f.groupware)] {
                        @let id = format!("conflict-{}-{i}-{side}", c.id);
                        input type="radio" id=(id) name=(format!("{FIELD_PREFIX}{}", f.key)) value=(side) checked[side == "crm"];
                        label for=(id) { (label) ": " (shown(value)) }
                    }
                    @let edit = format!("conflict-{}-{i}-edit", c.id);
                    input type="radio" id=(edit) name=(format!("{FIELD_PREFIX}{}", f.key)) value="edit";
                    label for=(edit) { "Edit:" }
                    input type="text" id=(format!("{edit}-value")) name=(format!("{EDIT_PREFIX}{}", f.key))
                        value=(f.crm.as_deref().unwrap_or_default()) aria-label=(format!("Your value of {}", f.key));
                }
            }
            button type="submit" { "Take the chosen values" }
            p.hint { "A value of your own is written into the CRM record now and reaches the groupware at the next run." }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    /// `crm`, `groupware`, or `fields` with a `field.<key>` choice per field.
    take: String,
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

/// The values chosen per field, as the merged values `ops` takes: the CRM's,
/// the groupware's or the one typed in (empty: no value). A field left
/// without a choice refuses the form.
fn chosen_values(view: &ConflictView, form: &HashMap<String, String>) -> Result<FieldMap, WebError> {
    let mut values = FieldMap::new();
    for f in &view.fields {
        let value = match form.get(&format!("{FIELD_PREFIX}{}", f.key)).map(String::as_str) {
            Some("crm") => f.crm.clone(),
            Some("groupware") => f.groupware.clone(),
            Some("edit") => form
                .get(&format!("{EDIT_PREFIX}{}", f.key))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            _ => {
                return Err(WebError::BadForm(format!(
                    "choose the CRM's or the groupware's value of {}, or edit it",
                    f.key
                )));
            }
        };
        values.set_opt(f.key.clone(), value);
    }
    Ok(values)
}

pub async fn resolve(
    State(state): State<WebState>,
    Path(id): Path<String>,
    posted: Posted<ResolveForm>,
) -> Result<Markup, WebError> {
    if !issued_text(&id) {
        return Err(WebError::NotFound("conflict"));
    }
    let conflict = state
        .store
        .sync_state()
        .conflict(&id)
        .await?
        .ok_or(WebError::NotFound("conflict"))?;
    // Another user's conflict is as missing (R-OPS-2).
    let info = visible_profile(&state, &posted.signed_in, &conflict.profile)
        .await
        .map_err(|e| match e {
            WebError::NotFound(_) => WebError::NotFound("conflict"),
            e => e,
        })?;
    if conflict.resolved_at.is_some() {
        return Err(WebError::Conflict(format!(
            "this conflict is already resolved ({}); nothing was changed",
            conflict.resolution.map_or("?", ConflictResolution::as_str)
        )));
    }
    let choice = match posted.fields.take.as_str() {
        "fields" => {
            let view = ConflictView::from(conflict.clone());
            ConflictChoice::Merged(chosen_values(&view, &posted.fields.rest)?)
        }
        take => take.parse().map_err(WebError::BadForm)?,
    };
    let resolved = match &choice {
        // A value of one's own is written into the CRM as the profile maps
        // it, by someone who may change the record (R-EDIT-3-THIRD).
        ConflictChoice::Merged(_) if holds_own_value(&conflict, &choice) => {
            let profile = ready(&state, &info).await?;
            let editor = posted.signed_in.actor();
            resolve_conflict_editing(&state.store, &profile, &editor, &id, &choice).await
        }
        _ => resolve_conflict(&state.store.sync_state(), &id, &choice).await,
    };
    resolved.map_err(resolve_error)?;
    let side = match posted.fields.take.as_str() {
        "crm" => "the CRM's",
        "fields" => "the chosen",
        _ => "the groupware's",
    };
    let body = html! {
        h1 { "Conflict resolved" }
        p role="status" { "You kept " (side) " values for " (conflict.collection) " of " (conflict.profile) ". The next run writes them to the other side." }
        p { a href="/conflicts" { "Back to the conflicts" } " · " a href="/" { "Profiles" } }
    };
    Ok(layout::page("Conflict resolved", Some(&posted.signed_in), body))
}

/// A refused resolution as the page says it: a record changed since the
/// conflict is a conflict (409), a record the user may not change is 403,
/// a value the CRM refuses is a bad form; each says what to do.
fn resolve_error(e: crmsync_sync::SyncError) -> WebError {
    use crmsync_store::StoreError;
    match e {
        crmsync_sync::SyncError::Store(StoreError::Conflict(m)) => WebError::Conflict(m),
        crmsync_sync::SyncError::Store(StoreError::Forbidden(m)) => WebError::Forbidden(m),
        crmsync_sync::SyncError::Store(StoreError::Validation(v)) => {
            WebError::BadForm(format!("{v}; correct the value and resolve again"))
        }
        e => WebError::Failed {
            transient: e.is_transient(),
            message: e.to_string(),
        },
    }
}
