//! Sign-in with the API token and sign-out (R-WEB-1).

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maud::{Markup, html};
use rand::RngCore;
use serde::Deserialize;

use crate::error::WebError;
use crate::pages::layout;
use crate::session::{
    CSRF_FIELD, Posted, SESSION_COOKIE, SIGN_IN_COOKIE, SignedIn, cleared_cookie, cookie, same_secret, session_cookie,
    sign_in_cookie,
};
use crate::{Prompt, WebState};

fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn form_page(prompt: Prompt, form_token: &str, problem: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Sign in" }
        @if let Some(problem) = problem { p.error role="alert" { (problem) } }
        form method="post" action="/sign-in" {
            input type="hidden" name=(CSRF_FIELD) value=(form_token);
            label for="token" { (prompt.label) }
            input id="token" name="token" type="password" autocomplete="current-password" required autofocus;
            p { (prompt.hint) }
            button.primary type="submit" { "Sign in" }
        }
    };
    layout::page("Sign in", None, body)
}

/// A fresh form with its double-submit token.
fn fresh_form(state: &WebState, status: StatusCode, problem: Option<&str>) -> Response {
    let form_token = random_value();
    (
        status,
        [(header::SET_COOKIE, sign_in_cookie(state, &form_token))],
        form_page(state.authenticator.prompt(), &form_token, problem),
    )
        .into_response()
}

pub async fn form(State(state): State<WebState>, who: Result<SignedIn, WebError>) -> Response {
    if who.is_ok() {
        return Redirect::to("/").into_response();
    }
    fresh_form(&state, StatusCode::OK, None)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

pub async fn submit(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    // The form must come from our own sign-in page (R-WEB-2): another site
    // could otherwise sign the browser into an account of its choosing.
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_secret(expected, &form.csrf) {
        return Err(WebError::Csrf);
    }
    let now = state.clock.now();
    // R-WEB-15: the server's authenticator; the API token's is the same
    // check as the API's bearer token (R-PERM-2), in the store.
    let opened = state
        .authenticator
        .open_session(&state.store, &form.token, now, now + state.session_ttl)
        .await?;
    let Some(session) = opened else {
        return Ok(fresh_form(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("That is not valid, or its user is deactivated. Check it and try again."),
        ));
    };
    let mut response = Redirect::to("/").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        session_cookie(&state, &session.cookie)
            .parse()
            .expect("cookie text is ASCII"),
    );
    headers.append(
        header::SET_COOKIE,
        cleared_cookie(&state, SIGN_IN_COOKIE)
            .parse()
            .expect("cookie text is ASCII"),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct NoFields {}

pub async fn sign_out(State(state): State<WebState>, posted: Posted<NoFields>) -> Result<Response, WebError> {
    state
        .store
        .records()
        .close_web_session(&posted.signed_in.cookie)
        .await?;
    Ok((
        [(header::SET_COOKIE, cleared_cookie(&state, SESSION_COOKIE))],
        Redirect::to("/sign-in"),
    )
        .into_response())
}
