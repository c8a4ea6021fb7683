//! Home (R-WEB-3): the user's profiles (an admin's: all) with their state,
//! last and next run, what waits for them, and for a failing or held
//! profile the cause and the fix with the button that applies it.

use axum::extract::{Query, State};
use std::collections::HashMap;

use crmsync_ops::{Health, ProfileOverview, ScheduleState, ScheduleView, profiles_overview};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{layout, page_number, visible};
use crate::session::SignedIn;

/// Profiles per home page: the figures are read, and the HTML rendered,
/// for one page only (R-WEB-3-PAGE).
pub const PAGE_SIZE: usize = 100;

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    /// 1-based; absent: the first.
    #[serde(default)]
    page: Option<String>,
}

pub async fn page(
    State(state): State<WebState>,
    who: SignedIn,
    Query(query): Query<HomeQuery>,
) -> Result<Markup, WebError> {
    let mut visible = visible(&state, &who).await?;
    visible.sort_by(|a, b| a.name.cmp(&b.name));
    let pages = visible.len().div_ceil(PAGE_SIZE).max(1);
    let page = page_number(query.page.as_deref(), pages)?;
    let mut schedules: HashMap<String, ScheduleView> = state
        .catalog
        .schedules_for(&who.actor())
        .await
        .map_err(|e| WebError::Failed {
            transient: true,
            message: e.to_string(),
        })?
        .iter()
        .map(|v| (v.name.clone(), ScheduleView::from(v)))
        .collect();
    let counts = Counts::of(visible.len(), &schedules);
    let shown = &visible[((page - 1) * PAGE_SIZE).min(visible.len())..(page * PAGE_SIZE).min(visible.len())];
    // One query for the figures of the profiles on this page, however many
    // there are (R-WEB-3-ONE-QUERY), and one read of their schedules.
    let mut statuses = profiles_overview(&state.store.sync_state(), shown).await?;
    for status in &mut statuses {
        status.schedule = schedules.remove(&status.profile);
    }
    let body = html! {
        h1 { "Sync profiles" }
        @if statuses.is_empty() {
            p { "You have no sync profiles yet. Create one under " a href="/profiles/new" { "Settings" } " (or " code { "POST /api/v1/profiles" } ")." }
        } @else {
            p #profile-counts { (counts.text()) }
        }
        div #profiles { @for s in &statuses { (profile(&who, s)) } }
        @if pages > 1 { (layout::pager("Pages of profiles", page, pages, |n| format!("/?page={n}"))) }
        // Swaps in the fresh list when a run finishes (R-WEB-12).
        script src="/assets/live.js" defer {}
    };
    Ok(layout::page("Sync profiles", Some(&who), body))
}

/// How many profiles the user has, and how many the scheduler marks
/// failing or paused: the line above the list, over every page.
struct Counts {
    total: usize,
    failing: usize,
    paused: usize,
}

impl Counts {
    fn of(total: usize, schedules: &HashMap<String, ScheduleView>) -> Counts {
        Counts {
            total,
            failing: schedules
                .values()
                .filter(|s| s.enabled && s.state == ScheduleState::Failing)
                .count(),
            paused: schedules.values().filter(|s| !s.enabled).count(),
        }
    }

    fn text(&self) -> String {
        let profiles = if self.total == 1 { "profile" } else { "profiles" };
        format!(
            "{} {profiles}: {} failing, {} paused.",
            self.total, self.failing, self.paused
        )
    }
}

fn profile(who: &SignedIn, s: &ProfileOverview) -> Markup {
    let health = s.health();
    let id = format!("profile-{}", s.profile);
    html! {
        section.profile id=(id) aria-labelledby=(format!("{id}-name")) {
            h2 id=(format!("{id}-name")) {
                (s.profile) " "
                span class=(format!("state state-{}", health.as_str().replace(' ', "-"))) data-state=(health.as_str()) {
                    (health.as_str())
                }
            }
            dl {
                @if who.actor().is_admin() { dt { "User" } dd { (s.user_id) } }
                dt { "Last run" }
                dd {
                    @match &s.last_run {
                        Some(r) => {
                            a href=(format!("/runs/{}", r.id)) { (r.outcome.to_string()) } ", "
                            (r.finished_at.map(layout::when).unwrap_or_else(|| format!("started {}", layout::when(r.started_at))))
                            @if let Some(summary) = s.last_run_summary() { br; (summary) }
                        }
                        None => { "never" }
                    }
                }
                @if let Some(sched) = &s.schedule {
                    dt { "Next run" }
                    dd {
                        @if !sched.enabled { "none (paused)" }
                        @else if let Some(w) = &sched.running_on { "running now on " (w) }
                        @else { (layout::when(sched.next_run_at)) }
                    }
                    dt { "Push" } dd { @if sched.push && sched.enabled { "on" } @else { "off" } }
                }
                dt { "Open conflicts" }
                dd {
                    @if s.open_conflicts > 0 { a href=(format!("/conflicts?profile={}#in-{}", layout::encode(&s.profile), s.profile)) { (s.open_conflicts) } }
                    @else { "0" }
                }
                dt { "Quarantined items" } dd { (count_link(s.quarantined, &format!("/quarantine#quarantine-{}", s.profile))) }
                dt { "Duplicate groups" } dd { (count_link(s.duplicate_groups, "/duplicates")) }
                dt { "Removed by the user" } dd { (count_link(s.removed_by_user, &format!("/removed#removed-{}", s.profile))) }
            }
            (fix(who, s, health))
        }
    }
}

/// A count, linked to the page that lists them when there are any.
fn count_link(n: u64, href: &str) -> Markup {
    html! {
        @if n > 0 { a href=(href) { (n) } } @else { "0" }
    }
}

/// The cause and the fix in words, with the buttons that do it.
fn fix(who: &SignedIn, s: &ProfileOverview, health: Health) -> Markup {
    let name = &s.profile;
    let run_now = html! {
        form method="post" action=(format!("/profiles/{name}/run")) {
            (layout::csrf_field(who))
            button.primary type="submit" { "Run now" }
        }
    };
    html! {
        @match health {
            Health::Failing => {
                div.fix role="status" {
                    p { strong { "Cause: " } (s.failing.as_deref()
                        .or(s.schedule.as_ref().and_then(|x| x.state_reason.as_deref()))
                        .unwrap_or("the last runs failed")) }
                    p { "Fix: correct what the message names (password, server address, collection), then run it now to check." }
                }
                div.actions { (run_now) }
            }
            Health::Held => {
                div.fix role="status" {
                    p { strong { "Cause: " } "the mass-delete guard (R-SAFE-3) held the last run: it would have deleted many items at once." }
                    p { "Fix: if one side lost its items by mistake, reset the collection: the pairs are forgotten (never data) and the next run re-creates what is missing, without duplicates. Only if the deletions are wanted, confirm them." }
                }
                div.actions {
                    @for c in s.held_collections() {
                        form method="post" action=(format!("/profiles/{name}/reset")) {
                            (layout::csrf_field(who))
                            input type="hidden" name="collection" value=(c);
                            button.primary type="submit" { "Reset " (c) }
                        }
                    }
                    form method="post" action=(format!("/profiles/{name}/run")) {
                        (layout::csrf_field(who))
                        input type="hidden" name="confirm_mass_delete" value="true";
                        button type="submit" { "Confirm mass delete" }
                    }
                }
            }
            _ => { div.actions { (run_now) } }
        }
    }
}
