//! Conflicts (R-WEB-4): each held conflict side by side (base, CRM,
//! groupware) per field, with take-CRM / take-groupware; the next run
//! writes the choice (R-EDIT-3 `manual`).

use axum::extract::{Path, State};
use crmsync_ops::{ConflictChoice, ConflictView, resolve_conflict};
use crmsync_store::status::ConflictResolution;
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, visible, visible_profile};
use crate::session::{Posted, SignedIn};

fn shown(v: &Option<String>) -> Markup {
    match v {
        Some(s) => html! { (s) },
        None => html! { em { "(empty)" } },
    }
}

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let names: Vec<String> = visible(&state, &who).await?.into_iter().map(|p| p.name).collect();
    let conflicts: Vec<ConflictView> = state
        .store
        .sync_state()
        .open_conflicts(None)
        .await?
        .into_iter()
        .filter(|c| names.contains(&c.profile))
        .map(ConflictView::from)
        .collect();
    let body = html! {
        h1 { "Conflicts" }
        @if conflicts.is_empty() { p { "No conflict waits for a choice." } }
        @else {
            p { "Both sides changed these fields differently since the last sync. Choose the side to keep; the next run writes it to the other side and records it in the history." }
        }
        @for c in &conflicts { (conflict(&who, c)) }
    };
    Ok(layout::page("Conflicts", Some(&who), body))
}

fn conflict(who: &SignedIn, c: &ConflictView) -> Markup {
    let id = format!("conflict-{}", c.id);
    html! {
        section.conflict id=(id) aria-labelledby=(format!("{id}-title")) data-profile=(c.profile) {
            h2 id=(format!("{id}-title")) { (c.collection) " of " span id=(format!("in-{}", c.profile)) { (c.profile) } }
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

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    take: String,
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
    visible_profile(&state, &posted.signed_in, &conflict.profile)
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
    let choice: ConflictChoice = posted.fields.take.parse().map_err(WebError::BadForm)?;
    resolve_conflict(&state.store.sync_state(), &id, &choice)
        .await
        .map_err(|e| WebError::Failed {
            transient: false,
            message: e.to_string(),
        })?;
    let side = if posted.fields.take == "crm" {
        "the CRM's"
    } else {
        "the groupware's"
    };
    let body = html! {
        h1 { "Conflict resolved" }
        p role="status" { "You kept " (side) " values for " (conflict.collection) " of " (conflict.profile) ". The next run writes them to the other side." }
        p { a href="/conflicts" { "Back to the conflicts" } " · " a href="/" { "Profiles" } }
    };
    Ok(layout::page("Conflict resolved", Some(&posted.signed_in), body))
}
