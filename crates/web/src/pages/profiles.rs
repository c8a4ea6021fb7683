//! Profile settings (R-WEB-10): the profiles the user may manage (an
//! admin: all) with edit, connection test and disable/enable. Every change
//! is the API's call (`ProfileCatalog::create_for`/`replace_for`), so the
//! rights, the checks and the kept secrets are the API's.

use axum::extract::{Path, State};
use crmsync_service::ProfileView;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::WebState;
use crate::error::WebError;
use crate::pages::profile_input::{ProfileForm, number, unchanged};
use crate::pages::{issued_text, layout};
use crate::session::{Posted, SignedIn};

/// `ProfileSource::Config`'s name: such profiles are changed in the file.
const FROM_CONFIG: &str = "config";

/// The profile `name` if `who` may manage it; another user's is 404.
pub async fn managed(state: &WebState, who: &SignedIn, name: &str) -> Result<ProfileView, WebError> {
    if !issued_text(name) {
        return Err(WebError::NotFound("sync profile"));
    }
    Ok(state.catalog.view_for(&who.actor(), name).await?)
}

/// Where a profile's connector points, as the list shows it.
pub fn destination(view: &ProfileView) -> String {
    ["url", "root", "base_url", "host"]
        .iter()
        .find_map(|k| view.connector.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string()
}

pub async fn list(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let views = state.catalog.views_for(&who.actor()).await?;
    let admin = who.actor().is_admin();
    let body = html! {
        h1 { "Profile settings" }
        p { a.button href="/profiles/new" { "New profile" } }
        @if views.is_empty() { p { "No profiles yet." } }
        @else {
            table {
                thead { tr {
                    th scope="col" { "Profile" }
                    @if admin { th scope="col" { "User" } }
                    th scope="col" { "Kind" }
                    th scope="col" { "Server" }
                    th scope="col" { "Enabled" }
                    th scope="col" { "Actions" }
                } }
                tbody {
                    @for v in &views {
                        tr id=(format!("settings-{}", v.name)) data-enabled=(v.enabled) {
                            th scope="row" { (v.name) }
                            @if admin { td { (v.user_id) } }
                            td { (v.connector_kind) }
                            td { (destination(v)) }
                            td { @if v.enabled { "yes" } @else { "no (disabled)" } }
                            td.actions { (actions(&who, v)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page("Profile settings", Some(&who), body))
}

fn actions(who: &SignedIn, v: &ProfileView) -> Markup {
    let name = &v.name;
    html! {
        a href=(format!("/profiles/{}/test", layout::encode(name))) { "Test connection" }
        @if v.source == FROM_CONFIG {
            " · managed by the configuration file"
        } @else {
            " · " a href=(format!("/profiles/{}/edit", layout::encode(name))) { "Edit " span.visually-hidden { (name) } }
            form method="post" action=(format!("/profiles/{}/enabled", layout::encode(name))) {
                (layout::csrf_field(who))
                input type="hidden" name="version" value=(v.version);
                input type="hidden" name="enabled" value=(!v.enabled);
                button type="submit" {
                    @if v.enabled { "Disable" } @else { "Enable" }
                    span.visually-hidden { " " (name) }
                }
            }
        }
    }
}

pub async fn new_form(State(state): State<WebState>, who: SignedIn) -> Result<Markup, WebError> {
    let body = html! {
        h1 { "New profile" }
        (form(&who, None, state.default_pull_interval_secs))
    };
    Ok(layout::page("New profile", Some(&who), body))
}

pub async fn edit_form(
    State(state): State<WebState>,
    who: SignedIn,
    Path(name): Path<String>,
) -> Result<Markup, WebError> {
    let view = managed(&state, &who, &name).await?;
    let title = format!("Edit {name}");
    let body = html! {
        h1 { (title) }
        (form(&who, Some(&view), state.default_pull_interval_secs))
    };
    Ok(layout::page(&title, Some(&who), body))
}

/// The form for a new profile (`view` none) or for editing `view`.
fn form(who: &SignedIn, view: Option<&ProfileView>, default_pull: u64) -> Markup {
    let text = |key: &str| {
        view.and_then(|v| v.connector.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let kind = view.map(|v| v.connector_kind.as_str());
    let action = match view {
        Some(v) => format!("/profiles/{}/edit", layout::encode(&v.name)),
        None => "/profiles".to_string(),
    };
    let admin = who.actor().is_admin();
    html! {
        form.settings method="post" action=(action) {
            (layout::csrf_field(who))
            @match view {
                Some(v) => { input type="hidden" name="version" value=(v.version); }
                None => {
                    label for="f-name" { "Name" }
                    input id="f-name" name="name" required;
                    @if admin {
                        label for="f-user" { "For user (id or name; empty: you)" }
                        input id="f-user" name="user";
                    }
                    label for="f-kind" { "Kind" }
                    select id="f-kind" name="kind" {
                        option value="dav" selected { "CardDAV/CalDAV server (dav)" }
                        @if admin { option value="vdir" { "Folder on the crmsync host (vdir)" } }
                    }
                }
            }
            @if kind.is_none() || kind == Some("dav") {
                fieldset {
                    legend { "CardDAV/CalDAV server" }
                    label for="f-url" { "Server URL" }
                    input id="f-url" name="url" type="url" value=(text("url")) placeholder="https://dav.example.org/";
                    label for="f-username" { "User name" }
                    input id="f-username" name="username" value=(text("username")) autocomplete="username";
                    label for="f-password" {
                        "Password"
                        @if view.is_some_and(|v| v.has_credentials) { " (empty: keep the stored one while server and user stay)" }
                    }
                    input id="f-password" name="password" type="password" autocomplete="new-password";
                }
            }
            @if kind.is_none() && admin || kind == Some("vdir") {
                fieldset {
                    legend { "Folder (vdir only)" }
                    label for="f-root" { "Folder on the crmsync host" }
                    input id="f-root" name="root" value=(text("root"));
                }
            }
            @if kind.is_some_and(|k| k != "dav" && k != "vdir") {
                p { "The " (kind.unwrap_or_default()) " connector's settings are changed over the API (" code { "PUT /api/v1/profiles/<name>" } "); they stay as they are here." }
            }
            label for="f-interval" { "Seconds between scheduled runs (60 to 2,592,000)" }
            input id="f-interval" name="pull_interval_secs" inputmode="numeric"
                value=(view.map_or(default_pull, |v| u64::try_from(v.pull_interval_secs).unwrap_or_default()));
            label { input type="checkbox" name="push" checked[view.is_none_or(|v| v.push)]; " Push: run at once on changes" }
            label { input type="checkbox" name="enabled" checked[view.is_none_or(|v| v.enabled)]; " Enabled" }
            button.primary type="submit" { @if view.is_some() { "Save" } @else { "Create" } }
        }
    }
}

pub async fn create(State(state): State<WebState>, posted: Posted<ProfileForm>) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let input = posted.fields.into_new(state.default_pull_interval_secs)?;
    let created = state.catalog.create_for(&who.actor(), input, state.clock.now()).await?;
    let name = &created.view.name;
    let text = html! {
        p { "Profile " strong { (name) } " is created and runs as soon as a worker is free." }
        p { "Its push address, shown this once (a groupware server notifies it): "
            code { "/api/v1/push/" (created.push_token) } }
        p { a href=(format!("/profiles/{}/test", layout::encode(name))) { "Test its connection" } }
    };
    Ok(layout::outcome(
        who,
        "Profile created",
        text,
        ("/profiles", "Back to the profile settings"),
    ))
}

pub async fn save(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<ProfileForm>,
) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let view = managed(&state, who, &name).await?;
    let (version, input) = posted.fields.into_edit(&view)?;
    replace(&state, who, &name, version, input).await?;
    Ok(saved(who, &name, "saved"))
}

#[derive(Debug, Deserialize)]
pub struct EnabledForm {
    enabled: String,
    #[serde(default)]
    version: Option<String>,
}

/// Disables or enables a profile: a disabled one is kept but never scheduled.
pub async fn set_enabled(
    State(state): State<WebState>,
    Path(name): Path<String>,
    posted: Posted<EnabledForm>,
) -> Result<Markup, WebError> {
    let who = &posted.signed_in;
    let view = managed(&state, who, &name).await?;
    let version = number("version", &posted.fields.version)?;
    let enabled = match posted.fields.enabled.as_str() {
        "true" => true,
        "false" => false,
        other => {
            return Err(WebError::BadForm(format!(
                "enabled: `{other}` is neither true nor false"
            )));
        }
    };
    let mut input = unchanged(&view);
    input.enabled = enabled;
    replace(&state, who, &name, version, input).await?;
    Ok(saved(who, &name, if enabled { "enabled" } else { "disabled" }))
}

/// Saves `input` over version `version` of `name`: the API's replace.
pub async fn replace(
    state: &WebState,
    who: &SignedIn,
    name: &str,
    version: i64,
    input: crmsync_service::ProfileInput,
) -> Result<(), WebError> {
    state
        .catalog
        .replace_for(&who.actor(), name, version, input, state.clock.now())
        .await?;
    Ok(())
}

pub fn saved(who: &SignedIn, name: &str, what: &str) -> Markup {
    layout::outcome(
        who,
        &format!("Profile {what}"),
        html! { p { "Profile " strong { (name) } " is " (what) "; a changed profile runs as soon as a worker is free." } },
        ("/profiles", "Back to the profile settings"),
    )
}
