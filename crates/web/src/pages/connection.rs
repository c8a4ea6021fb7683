//! The connection test of a profile (R-WEB-10): each step (DNS, TCP, TLS,
//! sign-in, collections) with what failed and what to do, then the
//! mailbox's collections (R-COL-3) with a button per class to use one.

use axum::extract::{Path, State};
use crmsync_ops::{CheckStep, ConnectionCheck, Endpoint, ProfileInfo, StepOutcome, check_collection, check_connection};
use crmsync_service::ProfileView;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::WebState;
use crate::error::WebError;
use crate::pages::profile_input::{choose_collection, number, unchanged};
use crate::pages::profiles::{managed, replace, saved};
use crate::pages::{layout, ready};
use crate::session::{Posted, SignedIn};

pub async fn test(State(state): State<WebState>, who: SignedIn, Path(name): Path<String>) -> Result<Markup, WebError> {
    let view = managed(&state, &who, &name).await?;
    let check = run_check(&state, &view).await?;
    let title = format!("Connection test: {name}");
    let body = html! {
        h1 { (title) }
        @match check.failure() {
            Some((step, why)) => p.error role="alert" data-failed-step=(step.as_str()) {
                strong { "Failed at " (step.as_str()) ": " } (why)
            },
            None => p role="status" data-failed-step="" { "Every step passed." },
        }
        ol.steps {
            @for (step, outcome) in &check.steps { (step_line(*step, outcome)) }
        }
        (collections(&who, &view, &check))
        p { a href="/profiles" { "Back to the profile settings" } }
    };
    Ok(layout::page(&title, Some(&who), body))
}

/// Opens the profile's connector as a run would, with its reach (R-SEC-1),
/// and tests it.
async fn run_check(state: &WebState, view: &ProfileView) -> Result<ConnectionCheck, WebError> {
    let info = ProfileInfo {
        name: view.name.clone(),
        user_id: view.user_id.clone(),
    };
    let profile = ready(state, &info).await?;
    let endpoint = match view.connector.get("url").and_then(Value::as_str) {
        Some(url) => Some(Endpoint::from_url(url).map_err(WebError::BadForm)?),
        None => None,
    };
    let user = state.catalog.user(&view.name, &view.user_id).await?;
    let reach = state.catalog.reach_of(&view.source, &user);
    Ok(check_connection(&state.store, &profile, endpoint.as_ref().map(|e| (e, &reach))).await?)
}

fn step_line(step: CheckStep, outcome: &StepOutcome) -> Markup {
    let (word, text) = match outcome {
        StepOutcome::Passed(t) => ("passed", t),
        StepOutcome::Failed(t) => ("failed", t),
        StepOutcome::NotRun(t) => ("not-run", t),
    };
    html! {
        li data-step=(step.as_str()) data-outcome=(word) {
            strong { (step.as_str()) } ": "
            span class=(format!("step-{word}")) { (word.replace('-', " ")) } " — " (text)
        }
    }
}

/// The classes a collection can hold, by its kind and components.
fn classes_for(kind: &str, components: &[&str]) -> Vec<&'static str> {
    match kind {
        "address-book" => vec!["contacts"],
        _ => {
            let mut v = Vec::new();
            if components.contains(&"VEVENT") {
                v.push("calendar");
            }
            if components.contains(&"VTODO") {
                v.push("tasks");
            }
            v
        }
    }
}

fn collections(who: &SignedIn, view: &ProfileView, check: &ConnectionCheck) -> Markup {
    let Some(listing) = &check.listing else {
        return html! {};
    };
    let editable = view.source != "config";
    let classes: Vec<&str> = listing.classes.iter().map(|c| c.class).collect();
    html! {
        h2 { "Collections in the mailbox" }
        @if listing.collections.is_empty() { p { "None yet: crmsync creates its own at the first sync." } }
        @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Path" } th scope="col" { "Kind" }
                    th scope="col" { "Used for" } th scope="col" { "Use it" }
                } }
                tbody {
                    @for c in &listing.collections {
                        tr data-href=(c.href) {
                            td { (c.display_name) }
                            td { code { (c.href) } }
                            td { (c.kind) @if !c.components.is_empty() { " (" (c.components.join(", ")) ")" } }
                            td { (c.used_for.join(", ")) }
                            td {
                                @for class in classes_for(c.kind, &c.components) {
                                    @if editable && classes.contains(&class) && !c.used_for.contains(&class) {
                                        form method="post" action=(format!("/profiles/{}/collection", layout::encode(&view.name))) {
                                            (layout::csrf_field(who))
                                            input type="hidden" name="version" value=(view.version);
                                            input type="hidden" name="class" value=(class);
                                            input type="hidden" name="href" value=(c.href);
                                            button type="submit" { "Use for " (class) span.visually-hidden { ": " (c.display_name) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            } }
        }
        h2 { "What each class uses" }
        table {
            thead { tr { th scope="col" { "Class" } th scope="col" { "Named by the profile" } th scope="col" { "In use" } th scope="col" { "Note" } } }
            tbody {
                @for c in &listing.classes {
                    tr { th scope="row" { (c.class) } td { (c.chosen.as_deref().unwrap_or("—")) } td { (c.href.as_deref().unwrap_or("—")) } td { (c.note) } }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ChooseForm {
    class: String,
    href: String,
    #[serde(default)]
    version: Option<String>,
}

/// Names a listed collection as the one a class uses (R-COL-1): the
/// profile's `collections.<class>`, saved as the API's replace does.
pub async fn choose(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<ChooseForm>,
) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let view = managed(&state, who, &name).await?;
    let f = &posted.fields;
    check_collection(&f.class).map_err(WebError::BadForm)?;
    let version = number("version", &f.version)?;
    let mut input = unchanged(&view);
    choose_collection(&mut input, &f.class, &f.href);
    replace(&state, who, &name, version, input).await?;
    Ok(saved(who, &name, &format!("set to use {} for {}", f.href, f.class)))
}
