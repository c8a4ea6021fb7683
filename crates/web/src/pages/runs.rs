//! Runs (R-WEB-8): a profile's latest runs with their timing and outcome,
//! and per run its report: every item it touched, what was done and the
//! rule that decided it (the run's history rows), filterable by collection,
//! action, rule and text. Read-only, so the filters are a plain GET form.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use crmsync_store::status::{HistoryEntry, RunRow};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{issued_text, layout, visible, visible_profile};
use crate::session::SignedIn;

/// Runs listed per profile.
const RUNS_LISTED: u32 = 50;

#[derive(Debug, Deserialize)]
pub struct RunsQuery {
    #[serde(default)]
    profile: Option<String>,
}

/// How long a run took, in words ("1.234 s"), or that it has not finished.
fn took(started: DateTime<Utc>, finished: Option<DateTime<Utc>>) -> String {
    match finished {
        Some(end) => format!("{:.3} s", (end - started).num_milliseconds() as f64 / 1000.0),
        None => "not finished".to_string(),
    }
}

pub async fn list(
    State(state): State<WebState>,
    who: SignedIn,
    Query(q): Query<RunsQuery>,
) -> Result<Markup, WebError> {
    let profiles = visible(&state, &who).await?;
    let chosen = match q.profile.as_deref().filter(|p| !p.is_empty()) {
        Some(name) => Some(visible_profile(&state, &who, name).await?.name),
        None => profiles.first().map(|p| p.name.clone()),
    };
    let runs = match &chosen {
        Some(name) => state.store.sync_state().runs(name, RUNS_LISTED).await?,
        None => Vec::new(),
    };
    let body = html! {
        h1 { "Runs" }
        form method="get" action="/runs" {
            label for="profile" { "Profile" }
            select id="profile" name="profile" {
                @for p in &profiles {
                    option value=(p.name) selected[Some(&p.name) == chosen.as_ref()] { (p.name) }
                }
            }
            button type="submit" { "Show" }
        }
        @if runs.is_empty() { p { "No runs yet." } }
        @else {
            div.table-wrap {
                table id="runs" {
                    caption { "The latest " (runs.len()) " runs of " (chosen.as_deref().unwrap_or("")) ", newest first" }
                    thead { tr { th scope="col" { "Started" } th scope="col" { "Took" } th scope="col" { "Outcome" } th scope="col" { "Report" } } }
                    tbody {
                        @for r in &runs {
                            tr {
                                td { (layout::when(r.started_at)) }
                                td { (took(r.started_at, r.finished_at)) }
                                td data-outcome=(r.outcome.as_str()) { (r.outcome.as_str()) }
                                td { a href=(format!("/runs/{}", r.id)) { "Report" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Runs", Some(&who), body))
}

#[derive(Debug, Default, Deserialize)]
pub struct ReportFilter {
    #[serde(default)]
    collection: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    rule: String,
    /// Text in the item, the record id or the message.
    #[serde(default)]
    q: String,
}

impl ReportFilter {
    fn keeps(&self, e: &HistoryEntry) -> bool {
        let q = self.q.trim().to_lowercase();
        (self.collection.is_empty() || e.collection == self.collection)
            && (self.action.is_empty() || e.action == self.action)
            && (self.rule.is_empty() || e.rule == self.rule)
            && (q.is_empty()
                || [e.crm_id.as_deref(), e.href.as_deref(), Some(e.message.as_str())]
                    .into_iter()
                    .flatten()
                    .any(|t| t.to_lowercase().contains(&q)))
    }
}

/// One run's report; another user's run is "not found" (R-WEB-6).
pub async fn report(
    State(state): State<WebState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(filter): Query<ReportFilter>,
) -> Result<Markup, WebError> {
    if !issued_text(&id) {
        return Err(WebError::NotFound("run"));
    }
    let run = state
        .store
        .sync_state()
        .run(&id)
        .await?
        .ok_or(WebError::NotFound("run"))?;
    visible_profile(&state, &who, &run.profile).await.map_err(|e| match e {
        WebError::NotFound(_) => WebError::NotFound("run"),
        e => e,
    })?;
    let entries = state.store.sync_state().run_history(&run.id).await?;
    let choices = |f: fn(&HistoryEntry) -> &str| entries.iter().map(f).collect::<BTreeSet<&str>>();
    let collections = choices(|e| e.collection.as_str());
    let actions = choices(|e| e.action.as_str());
    let rules = choices(|e| e.rule.as_str());
    let shown: Vec<&HistoryEntry> = entries.iter().filter(|e| filter.keeps(e)).collect();
    let title = format!("Run of {}", run.profile);
    let body = html! {
        h1 { (title) }
        (timing(&run))
        form.filters method="get" action=(format!("/runs/{}", run.id)) {
            (choice("collection", "Collection", &collections, &filter.collection))
            (choice("action", "Action", &actions, &filter.action))
            (choice("rule", "Rule", &rules, &filter.rule))
            label for="q" { "Text" }
            input id="q" name="q" type="search" value=(filter.q);
            button type="submit" { "Filter" }
        }
        p role="status" { (shown.len()) " of " (entries.len()) " item(s) shown." }
        @if !shown.is_empty() {
            div.table-wrap {
                table id="report" {
                    thead { tr {
                        th scope="col" { "Time" } th scope="col" { "Collection" } th scope="col" { "Item" }
                        th scope="col" { "Done" } th scope="col" { "Rule" } th scope="col" { "Why" }
                    } }
                    tbody {
                        @for e in &shown {
                            tr {
                                td { (layout::when(e.at)) }
                                td { (e.collection) }
                                td {
                                    @if let Some(crm) = &e.crm_id { a href=(layout::record_href(&run.profile, crm)) { code { (crm) } } br; }
                                    @if let Some(href) = &e.href { code { (href) } }
                                }
                                td { (e.action) }
                                td { code { (e.rule) } }
                                td { (e.message) }
                            }
                        }
                    }
                }
            }
        }
        p { a href=(format!("/runs?profile={}", layout::encode(&run.profile))) { "All runs of " (run.profile) } }
    };
    Ok(layout::page(&title, Some(&who), body))
}

fn timing(run: &RunRow) -> Markup {
    html! {
        dl {
            dt { "Outcome" } dd data-outcome=(run.outcome.as_str()) { (run.outcome.as_str()) }
            dt { "Started" } dd { (layout::when(run.started_at)) }
            dt { "Finished" } dd { (run.finished_at.map(layout::when).unwrap_or_else(|| "not yet".into())) }
            dt { "Took" } dd { (took(run.started_at, run.finished_at)) }
            @if let Some(error) = &run.error { dt { "Error" } dd.error { (error) } }
        }
    }
}

/// A select of the values present in the report, "any" first.
fn choice(name: &str, label: &str, values: &BTreeSet<&str>, chosen: &str) -> Markup {
    html! {
        label for=(name) { (label) }
        select id=(name) name=(name) {
            option value="" { "any" }
            @for v in values { option value=(v) selected[*v == chosen] { (v) } }
        }
    }
}
