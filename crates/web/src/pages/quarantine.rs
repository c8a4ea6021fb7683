//! Quarantine (R-WEB-7, R-WEB-14): the groupware items sync cannot read
//! (R-SAFE-4), with the error that names what to fix. Sync reads an item
//! again as soon as it changes; *Retry* (one item) and *Retry all* (a
//! profile's) make it read an unchanged one again, for when the cause is gone
//! without the item changing, and run the profile now.

use axum::extract::{Path, State};
use crmsync_ops::{RetryError, RetryReport, RetryScope, retry_quarantined};
use crmsync_store::status::QuarantineRow;
use crmsync_sync::RunOptions;
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::actions::{run_summary, run_visible};
use crate::pages::{issued_text, layout, visible_profile, with_any};
use crate::session::{Posted, SignedIn};

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let mut lists: Vec<(String, Vec<QuarantineRow>)> = Vec::new();
    for name in with_any(&state, &who, |o| o.quarantined).await? {
        lists.push((name.clone(), state.store.sync_state().quarantined(&name).await?));
    }
    let body = html! {
        h1 { "Quarantine" }
        @if lists.is_empty() { p { "Every groupware item could be read." } }
        @else {
            p { "Sync could not read these groupware items, so it leaves them alone: nothing is deleted or overwritten (R-SAFE-4). Correct or remove the item in the groupware; the next run reads it again as soon as it changes. When the cause is gone but the item did not change (a read that failed for a passing reason, a copy whose twin now has another UID, a newer crmsync), Retry reads it again now." }
        }
        @for (name, items) in &lists { (list(&who, name, items)) }
    };
    Ok(layout::page("Quarantine", Some(&who), body))
}

fn list(who: &SignedIn, name: &str, items: &[QuarantineRow]) -> Markup {
    html! {
        section.quarantine id=(format!("quarantine-{name}")) aria-labelledby=(format!("quarantine-{name}-title")) {
            h2 id=(format!("quarantine-{name}-title")) { (name) }
            form method="post" action=(format!("/profiles/{name}/quarantine/retry-all")) {
                (layout::csrf_field(who))
                button type="submit" aria-label=(format!("Retry all quarantined items of {name}")) { "Retry all" }
            }
            div.table-wrap {
                table {
                    thead { tr { th scope="col" { "Collection" } th scope="col" { "Item" } th scope="col" { "What is wrong" } th scope="col" { "Since" } th scope="col" { "Action" } } }
                    tbody {
                        @for q in items {
                            tr {
                                td { (q.collection) } td { code { (q.href) } } td { (q.error) } td { (layout::when(q.at)) }
                                td {
                                    @if q.etag == crmsync_store::status::RETRY_ETAG { "Read again at the next run" }
                                    @else {
                                        form method="post" action=(format!("/profiles/{name}/quarantine/retry")) {
                                            (layout::csrf_field(who))
                                            input type="hidden" name="collection" value=(q.collection);
                                            input type="hidden" name="href" value=(q.href);
                                            button type="submit" aria-label=(format!("Retry {}", q.href)) { "Retry" }
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
}

#[derive(Debug, Deserialize)]
pub struct RetryForm {
    collection: String,
    href: String,
}

/// Nothing but the CSRF token: every quarantined item of the profile.
#[derive(Debug, Deserialize)]
pub struct RetryAllForm {}

/// R-WEB-14 for one item.
pub async fn retry_item(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<RetryForm>,
) -> Result<Markup, WebError> {
    let RetryForm { collection, href } = &posted.fields;
    if !issued_text(collection) || !issued_text(href) {
        return Err(WebError::NotFound("quarantined item"));
    }
    let scope = RetryScope::Item { collection, href };
    retry(&state, &name, &posted.signed_in, scope).await
}

/// R-WEB-14 for every quarantined item of a profile.
pub async fn retry_all(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<RetryAllForm>,
) -> Result<Markup, WebError> {
    retry(&state, &name, &posted.signed_in, RetryScope::All).await
}

/// Marks the items, then runs the profile now; a run already going on is
/// no failure: the mark stays and the next run reads the items.
async fn retry(state: &WebState, name: &str, who: &SignedIn, scope: RetryScope<'_>) -> Result<Markup, WebError> {
    let info = visible_profile(state, who, name).await?;
    let report: RetryReport = retry_quarantined(&state.store.sync_state(), &info.name, scope)
        .await
        .map_err(|e| match e {
            RetryError::NotQuarantined { .. } => WebError::NotFound("quarantined item"),
            RetryError::Store(e) => WebError::Store(e),
        })?;
    let run = match run_visible(state, &info, &RunOptions::default()).await {
        Ok(run) => run_summary(&run),
        Err(WebError::Conflict(busy)) => html! { p { (busy) "; the items are read again at the next run." } },
        Err(e) => return Err(e),
    };
    let still = state.store.sync_state().quarantined(&info.name).await?;
    Ok(layout::outcome(
        who,
        "Retried",
        html! {
            p data-retried=(report.items.len()) { "Asked to read " (report.items.len()) " item(s) of " (info.name) " again:" }
            ul { @for item in &report.items { li { code { (item) } } } }
            @let retried: std::collections::HashSet<&str> = report.items.iter().map(String::as_str).collect();
            @let left = still.iter().filter(|q| retried.contains(format!("{}/{}", q.collection, q.href).as_str())).count();
            p data-still-quarantined=(left) { (left) " of them still cannot be read." }
            (run)
        },
        ("/quarantine", "Back to the quarantine"),
    ))
}
