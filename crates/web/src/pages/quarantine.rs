//! Quarantine (R-WEB-7): the groupware items sync cannot read (R-SAFE-4),
//! with the error that names what to fix. Sync reads an item again as soon
//! as it changes, so the fix is in the groupware; there is no button.

use axum::extract::State;
use crmsync_store::status::QuarantineRow;
use maud::{Markup, html};

use crate::WebState;
use crate::error::WebError;
use crate::pages::{layout, with_any};
use crate::session::SignedIn;

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let mut lists: Vec<(String, Vec<QuarantineRow>)> = Vec::new();
    for name in with_any(&state, &who, |o| o.quarantined).await? {
        lists.push((name.clone(), state.store.sync_state().quarantined(&name).await?));
    }
    let body = html! {
        h1 { "Quarantine" }
        @if lists.is_empty() { p { "Every groupware item could be read." } }
        @else {
            p { "Sync could not read these groupware items, so it leaves them alone: nothing is deleted or overwritten (R-SAFE-4). Correct or remove the item in the groupware; the next run reads it again as soon as it changes." }
        }
        @for (name, items) in &lists {
            section.quarantine id=(format!("quarantine-{name}")) aria-labelledby=(format!("quarantine-{name}-title")) {
                h2 id=(format!("quarantine-{name}-title")) { (name) }
                div.table-wrap {
                    table {
                        thead { tr { th scope="col" { "Collection" } th scope="col" { "Item" } th scope="col" { "What is wrong" } th scope="col" { "Since" } } }
                        tbody {
                            @for q in items {
                                tr { td { (q.collection) } td { code { (q.href) } } td { (q.error) } td { (layout::when(q.at)) } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Quarantine", Some(&who), body))
}
