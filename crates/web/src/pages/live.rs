//! Live home page (R-WEB-12): `GET /events` is a server-sent event stream
//! with one `run-finished` event (data: the profile's name) whenever a run
//! ends for a profile the user may see (R-OPS-2), in this process or any
//! other on the database (the run feed, R-WEB-21). The home page's small script (`/assets/live.js`) fetches the
//! page again and swaps the profile list in; without JavaScript the page
//! works as before (reload to refresh). The stream ends at the first run
//! after the session ended (sign-out, expiry, a rotated token: R-WEB-1).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use crmsync_model::Actor;
use crmsync_ops::ProfileSource;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;

use crate::WebState;
use crate::error::WebError;
use crate::session::SignedIn;

/// The event the page listens for.
pub const RUN_FINISHED: &str = "run-finished";

/// What the stream carries from one event to the next.
struct Listener {
    runs: Receiver<String>,
    source: ProfileSource,
    actor: Actor,
    state: WebState,
    /// The session cookie the stream was opened with.
    cookie: String,
}

impl Listener {
    /// The next finished run the user may see; `None` when the feed is
    /// gone or the session has ended.
    async fn next(&mut self) -> Option<String> {
        loop {
            let profile = match self.runs.recv().await {
                Ok(profile) => profile,
                // Missed events: something finished, so refresh anyway.
                Err(RecvError::Lagged(_)) => String::new(),
                Err(RecvError::Closed) => return None,
            };
            if !self.signed_in().await {
                return None;
            }
            if profile.is_empty() || self.may_see(&profile).await {
                return Some(profile);
            }
        }
    }

    /// Whether the session is still live (a database error counts as not:
    /// the browser reconnects and signs in again if it must).
    async fn signed_in(&self) -> bool {
        let now = self.state.clock.now();
        matches!(
            self.state.store.records().web_session(&self.cookie, now).await,
            Ok(Some(_))
        )
    }

    async fn may_see(&self, profile: &str) -> bool {
        matches!(self.source.profile(profile).await, Ok(Some(p)) if p.visible_to(&self.actor))
    }
}

pub async fn events(State(state): State<WebState>, who: SignedIn) -> Result<Response, WebError> {
    // No profiles served here: nothing will ever finish. 204 tells the
    // browser not to reconnect. Without a scheduler of its own the server
    // still hears the runs of other processes (R-WEB-21).
    let Some(source) = &state.profiles else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let listener = Listener {
        runs: state.runs.subscribe().await?,
        source: source.clone(),
        actor: who.actor(),
        state: state.clone(),
        cookie: who.cookie.clone(),
    };
    let stream = futures_util::stream::unfold(listener, |mut l| async move {
        let profile = l.next().await?;
        Some((
            Ok::<_, Infallible>(Event::default().event(RUN_FINISHED).data(profile)),
            l,
        ))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
