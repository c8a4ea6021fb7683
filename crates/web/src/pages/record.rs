//! Record (R-WEB-5): explain and history of one CRM record for one profile
//! (R-EXPLAIN-1): which rule decided, what the next sync would do, every
//! change with the values kept and lost. Found by name, e-mail or subject
//! (`ops::find_records`) or by its CRM id.

use axum::extract::{Query, State};
use crmsync_ops::{explain_record, explains_nothing, find_records, record_readable};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, ready, visible, visible_profile};
use crate::session::SignedIn;

#[derive(Debug, Deserialize)]
pub struct RecordQuery {
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    id: Option<String>,
    /// A name, e-mail or subject to find the record by.
    #[serde(default)]
    q: Option<String>,
}

/// Matches listed at most.
const FOUND_LISTED: usize = 50;

pub async fn page(
    State(state): State<WebState>,
    who: SignedIn,
    Query(q): Query<RecordQuery>,
) -> Result<Markup, WebError> {
    let profiles = visible(&state, &who).await?;
    let id = q.id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let chosen = q.profile.as_deref().or(profiles.first().map(|p| p.name.as_str()));
    let form = html! {
        h1 { "Record" }
        form method="get" action="/record" {
            label for="profile" { "Profile" }
            select id="profile" name="profile" {
                @for p in &profiles {
                    option value=(p.name) selected[Some(p.name.as_str()) == chosen] { (p.name) }
                }
            }
            label for="q" { "Name, e-mail or subject" }
            input id="q" name="q" type="text" value=(q.q.as_deref().unwrap_or(""));
            label for="id" { "or the CRM record id" }
            input id="id" name="id" type="text" value=(id.unwrap_or(""));
            p { button type="submit" { "Find" } }
        }
    };
    let Some(profile) = chosen else {
        return Ok(layout::page("Record", Some(&who), form));
    };
    let Some(id) = id else {
        let Some(text) = q.q.as_deref().filter(|t| !t.trim().is_empty()) else {
            return Ok(layout::page("Record", Some(&who), form));
        };
        // Only records this user may read are searched (R-PERM-2).
        let found = find_records(&state.store, &who.actor(), text, FOUND_LISTED).await?;
        let body = html! {
            (form)
            h2 { "Found" }
            @if found.is_empty() { p { "No record you may read matches." } }
            ul.found {
                @for f in &found {
                    li { a href=(layout::record_href(profile, &f.id)) { (f.label) } " (" (f.kind) ")" }
                }
            }
        };
        return Ok(layout::page("Record", Some(&who), body));
    };
    let info = visible_profile(&state, &who, profile).await?;
    if !issued_text(id) {
        return Err(WebError::NotFound("record"));
    }
    // A user learns nothing about records they may not read (R-API-2).
    let actor = who.actor();
    if !actor.is_admin() && record_readable(&state.store, &actor, id).await? == Some(false) {
        return Err(WebError::NotFound("record"));
    }
    let sync_profile = ready(&state, &info).await?;
    let explanation = explain_record(&state.store, &sync_profile, id, state.clock.now())
        .await
        .map_err(|e| WebError::Failed {
            transient: false,
            message: format!("{e}; {}", crmsync_ops::what_to_do(&e)),
        })?;
    if explains_nothing(&explanation) {
        return Err(WebError::NotFound("record"));
    }
    let body = html! {
        (form)
        h2 { "Record " code { (id) } " in " (info.name) }
        pre { (explanation.to_string()) }
        h2 { "History" }
        @if explanation.history.is_empty() { p { "Sync has not changed this record yet." } }
        @else {
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Action" } th scope="col" { "Rule" } th scope="col" { "What happened" } } }
                    tbody {
                        @for h in &explanation.history {
                            tr { td { (layout::when(h.at)) } td { (h.action) } td { (h.rule) } td { (h.message) } }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Record", Some(&who), body))
}
