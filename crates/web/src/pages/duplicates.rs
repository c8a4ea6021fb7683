//! Duplicates (R-WEB-7): each group of the latest duplicates reports of the
//! user's profiles (R-PAIR-2), with Link (one chosen record with one chosen
//! item) and Keep apart; each is the ops call the API and the CLI make and
//! is recorded in the history (R-OPS-16).

use axum::extract::{Path, State};
use crmsync_ops::ResolveDuplicatesError;
use crmsync_ops::duplicates::{self, DuplicatesReport};
use crmsync_ops::duplicates_resolve::{self, DuplicatesResolution};
use maud::{Markup, html};
use serde::Deserialize;

use crate::WebState;
use crate::error::WebError;
use crate::pages::{layout, visible_profile, with_any};
use crate::session::{Posted, SignedIn};

pub async fn page(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let mut reports = Vec::new();
    for name in with_any(&state, &who, |o| o.duplicate_groups).await? {
        let report = duplicates::read(&state.store.sync_state(), &name).await?;
        if report.collections.iter().any(|c| !c.groups.is_empty()) {
            reports.push(report);
        }
    }
    let body = html! {
        h1 { "Duplicates" }
        @if reports.is_empty() { p { "No possible duplicates wait for a choice." } }
        @else {
            p { "At the first sync these records and items matched each other ambiguously, so none was merged. Link the CRM record and the groupware item that are the same, or keep the group apart: then each syncs on its own." }
        }
        @for r in &reports { (report(&who, r)) }
    };
    Ok(layout::page("Duplicates", Some(&who), body))
}

fn report(who: &SignedIn, r: &DuplicatesReport) -> Markup {
    let name = &r.profile;
    html! {
        @for c in &r.collections {
            @for (i, g) in c.groups.iter().enumerate() {
                @let id = format!("dup-{name}-{}-{i}", c.collection);
                section.duplicates id=(id) aria-labelledby=(format!("{id}-title")) data-profile=(name) {
                    h2 id=(format!("{id}-title")) { (c.collection) " of " (name) ", matched by " (g.matched_by) }
                    ul {
                        @for crm in &g.crm_ids {
                            li { "CRM record " a href=(layout::record_href(name, crm)) { code { (crm) } } }
                        }
                        @for href in &g.hrefs { li { "Groupware item " code { (href) } } }
                    }
                    @if !g.crm_ids.is_empty() && !g.hrefs.is_empty() {
                        form.link method="post" action=(format!("/profiles/{name}/duplicates/link")) {
                            (layout::csrf_field(who))
                            input type="hidden" name="collection" value=(c.collection);
                            label for=(format!("{id}-record")) { "CRM record" }
                            select id=(format!("{id}-record")) name="record_id" {
                                @for crm in &g.crm_ids { option value=(crm) { (crm) } }
                            }
                            label for=(format!("{id}-href")) { "Groupware item" }
                            select id=(format!("{id}-href")) name="href" {
                                @for href in &g.hrefs { option value=(href) { (href) } }
                            }
                            button.primary type="submit" { "Link" }
                        }
                    }
                    @if let Some(member) = g.crm_ids.first().or(g.hrefs.first()) {
                        form method="post" action=(format!("/profiles/{name}/duplicates/keep-apart")) {
                            (layout::csrf_field(who))
                            input type="hidden" name="collection" value=(c.collection);
                            input type="hidden" name="member" value=(member);
                            button type="submit" { "Keep apart" }
                        }
                    }
                }
            }
        }
    }
}

fn from_resolve(e: ResolveDuplicatesError) -> WebError {
    match e {
        ResolveDuplicatesError::UnknownCollection(m) => WebError::BadForm(m),
        e @ (ResolveDuplicatesError::NotInReport { .. } | ResolveDuplicatesError::AlreadyPaired { .. }) => {
            WebError::Conflict(e.to_string())
        }
        ResolveDuplicatesError::Store(e) => WebError::Store(e),
    }
}

fn resolved(who: &SignedIn, done: &DuplicatesResolution) -> Markup {
    let title = if done.resolution == "linked" {
        "Linked"
    } else {
        "Kept apart"
    };
    layout::outcome(
        who,
        title,
        html! {
            p data-resolution=(done.resolution) {
                (title) " in " (done.collection) " of " (done.profile) ": "
                (done.crm_ids.iter().map(|c| format!("CRM {c}")).chain(done.hrefs.iter().map(|h| format!("groupware {h}"))).collect::<Vec<_>>().join(", "))
            }
            p { "Next: " (done.next) "." }
        },
        ("/duplicates", "Back to the duplicates"),
    )
}

#[derive(Debug, Deserialize)]
pub struct LinkForm {
    collection: String,
    record_id: String,
    href: String,
}

/// R-OPS-16 `link`: pairs the chosen record and item.
pub async fn link(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<LinkForm>,
) -> Result<Markup, WebError> {
    let info = visible_profile(&state, &posted.signed_in, &name).await?;
    let f = &posted.fields;
    let done = duplicates_resolve::link(
        &state.store.sync_state(),
        &info.name,
        &f.collection,
        &f.record_id,
        &f.href,
    )
    .await
    .map_err(from_resolve)?;
    Ok(resolved(&posted.signed_in, &done))
}

#[derive(Debug, Deserialize)]
pub struct KeepApartForm {
    collection: String,
    member: String,
}

/// R-OPS-16 `keep-apart`: the group's members sync on their own for good.
pub async fn keep_apart(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<KeepApartForm>,
) -> Result<Markup, WebError> {
    let info = visible_profile(&state, &posted.signed_in, &name).await?;
    let f = &posted.fields;
    let done = duplicates_resolve::keep_apart(&state.store.sync_state(), &info.name, &f.collection, &f.member)
        .await
        .map_err(from_resolve)?;
    Ok(resolved(&posted.signed_in, &done))
}
