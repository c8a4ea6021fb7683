//! Removed items (R-WEB-7): the records users removed from the groupware
//! that stay in the CRM (R-DEL-1), each with Restore, which brings the item
//! back at the next run without touching the record (R-DEL-2) and is
//! recorded in the history (`ops::restore`).

use axum::extract::{Path, State};
use crmsync_ops::removed::removed_by_user;
use crmsync_ops::{RemovedByUser, RestoreError, restore};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, visible_profile, with_any};
use crate::session::{Posted, SignedIn};

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let mut lists = Vec::new();
    for name in with_any(&state, &who, |o| o.removed_by_user).await? {
        lists.push((name.clone(), removed_by_user(&state.store.sync_state(), &name).await?));
    }
    let body = html! {
        h1 { "Removed items" }
        @if lists.is_empty() { p { "Nobody removed a synced item from the groupware: nothing to restore." } }
        @else {
            p { "These items were deleted in the groupware; their CRM records were kept (R-DEL-1). Restore brings an item back at the next run; the CRM record is not changed." }
        }
        @for (name, items) in &lists { (list(&who, name, items)) }
    };
    Ok(layout::page("Removed items", Some(&who), body))
}

fn list(who: &SignedIn, name: &str, items: &[RemovedByUser]) -> Markup {
    html! {
        section.removed id=(format!("removed-{name}")) aria-labelledby=(format!("removed-{name}-title")) {
            h2 id=(format!("removed-{name}-title")) { (name) }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "Collection" } th scope="col" { "CRM record" } th scope="col" { "Was" } th scope="col" { "Removed" } th scope="col" { "Action" } } }
                    tbody {
                        @for r in items {
                            tr id=(format!("removed-{name}-{}", r.record_id)) {
                                td { (r.collection) }
                                td { a href=(layout::record_href(name, &r.record_id)) { code { (r.record_id) } } }
                                td { code { (r.href) } }
                                td { (layout::when(r.since)) }
                                td {
                                    form method="post" action=(format!("/profiles/{name}/restore")) {
                                        (layout::csrf_field(who))
                                        input type="hidden" name="record_id" value=(r.record_id);
                                        button type="submit" { "Restore" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RestoreForm {
    record_id: String,
}

/// R-DEL-2 by choice, recorded in the history (R-WEB-7).
pub async fn restore_item(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<RestoreForm>,
) -> Result<Markup, WebError> {
    let info = visible_profile(&state, &posted.signed_in, &name).await?;
    let record_id = &posted.fields.record_id;
    if !issued_text(record_id) {
        return Err(WebError::NotFound("removed record"));
    }
    let report = restore(&state.store.sync_state(), &info.name, record_id)
        .await
        .map_err(|e| match e {
            e @ RestoreError::NotRemoved { .. } => WebError::Conflict(e.to_string()),
            RestoreError::Store(e) => WebError::Store(e),
        })?;
    Ok(layout::outcome(
        &posted.signed_in,
        "Restored",
        html! {
            p data-restored=(record_id) { "Record " code { (record_id) } " of " (info.name) " comes back into the groupware at the next run." }
            p { (report.next) "." }
        },
        ("/removed", "Back to the removed items"),
    ))
}
