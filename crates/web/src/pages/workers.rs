//! Workers and leases (R-WEB-13, admins only): this server's scheduler
//! (its worker id and what it runs now) and every profile lease in the
//! database, live or expired, by worker (R-SCHED-3), read in one query.

use std::collections::BTreeMap;

use axum::extract::State;
use maud::{Markup, html};

use crate::WebState;
use crate::error::WebError;
use crate::pages::layout;
use crate::session::SignedIn;

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    if !who.actor().is_admin() {
        return Err(WebError::NotFound("page"));
    }
    let now = state.clock.now();
    let rows = state.store.catalog().profile_rows(None).await?;
    let leases: Vec<_> = rows
        .iter()
        .filter_map(|r| {
            let s = &r.status;
            Some((
                r.definition.name.as_str(),
                s.lease_owner.as_deref()?,
                s.lease_until?,
                s.lease_token,
            ))
        })
        .collect();
    let mut live: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, worker, until, _) in &leases {
        if *until > now {
            *live.entry(worker).or_default() += 1;
        }
    }
    let body = html! {
        h1 { "Workers and leases" }
        h2 { "This server" }
        @match &state.scheduler {
            Some(s) => {
                p { "Scheduler " code { (s.worker_id()) } " runs "
                    @let running = s.running();
                    @if running.is_empty() { "nothing now." } @else { (running.join(", ")) "." } }
            }
            None => { p { "This server runs no scheduler (" code { "[scheduler] enabled = false" } "); workers elsewhere run the profiles." } }
        }
        h2 { "Workers holding leases" }
        @if live.is_empty() { p { "No worker holds a lease now: no profile is running." } }
        @else {
            table {
                thead { tr { th scope="col" { "Worker" } th scope="col" { "Live leases" } } }
                tbody { @for (worker, n) in &live { tr { th scope="row" { code { (worker) } } td { (n) } } } }
            }
        }
        h2 { "Leases" }
        p { "A worker holds a profile's lease while it runs it and renews it; an expired lease is taken over by the next worker that claims the profile (R-SCHED-3). The token fences the writes of a worker that lost its lease (R-SCHED-4)." }
        @if leases.is_empty() { p { "No profile has been leased yet." } }
        @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { "Profile" } th scope="col" { "Worker" } th scope="col" { "Until" } th scope="col" { "State" } th scope="col" { "Token" } } }
                tbody {
                    @for (profile, worker, until, token) in &leases {
                        tr data-profile=(profile) {
                            th scope="row" { (profile) }
                            td { code { (worker) } }
                            td { (layout::when(*until)) }
                            td { @if *until > now { "live" } @else { "expired" } }
                            td { (token) }
                        }
                    }
                }
            } }
        }
    };
    Ok(layout::page("Workers and leases", Some(&who), body))
}
