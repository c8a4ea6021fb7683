//! crmsync's web dashboard (issue #16): server-rendered HTML over the
//! operator layer (`crmsync-ops`), served by `crmsync serve` at `/` on the
//! API's port. Every page reads without JavaScript; forms are plain HTML
//! posts, each carrying the session's CSRF token (R-WEB-2).
//!
//! The dashboard holds no business logic: what a page shows comes from
//! `crmsync-ops` (status, conflicts, explain) and what a button does is the
//! same ops call the API and the CLI make. Permissions are the API's
//! (R-OPS-2): a user sees and operates only their own profiles, an admin all.
//!
//! Dependencies point inward: the server crate mounts [`router`]; this crate
//! knows nothing of the JSON API.

mod assets;
mod authenticator;
mod error;
mod pages;
mod run_feed;
mod session;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use crmsync_ops::ProfileSource;
use crmsync_service::{Clock, ProfileCatalog};
use crmsync_store::Store;

pub use authenticator::{Authenticator, Prompt, TokenAuthenticator};
pub use error::WebError;
pub use run_feed::RunFeed;
pub use session::{CSRF_FIELD, SESSION_COOKIE, SIGN_IN_COOKIE};

/// How long a dashboard session lasts after sign-in unless configured.
pub const DEFAULT_SESSION_TTL: chrono::Duration = chrono::Duration::hours(8);

/// What the dashboard's handlers share.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    /// The profiles the server serves; `None`: the dashboard shows none.
    pub profiles: Option<ProfileSource>,
    /// The stored profiles' schedule (next run, paused, push).
    pub catalog: ProfileCatalog,
    /// The server's clock: session expiry and manual runs (tests drive it).
    pub clock: Arc<dyn Clock>,
    /// Mark cookies `Secure` (R-WEB-1): set when the dashboard is reached
    /// over TLS, e.g. behind a reverse proxy (`server.secure_cookies`).
    pub secure_cookies: bool,
    pub session_ttl: chrono::Duration,
    /// The interval a new profile's form starts with, and a profile created
    /// without one gets (`scheduler.default_pull_interval_secs`, as the API).
    pub default_pull_interval_secs: u64,
    /// This process's scheduler (the workers page, manual runs); `None`:
    /// an API-only server.
    pub scheduler: Option<crmsync_service::Scheduler>,
    /// The runs that end in any process on the database, which the home
    /// page hears of (R-WEB-12, R-WEB-21).
    pub runs: RunFeed,
    /// Who may sign in (R-WEB-15): the API token unless the server is
    /// given another.
    pub authenticator: Arc<dyn Authenticator>,
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("secure_cookies", &self.secure_cookies)
            .field("session_ttl", &self.session_ttl)
            .finish_non_exhaustive()
    }
}

/// The dashboard's routes with their state, ready to merge into any router.
pub fn router<S: Clone + Send + Sync + 'static>(state: WebState) -> Router<S> {
    Router::new()
        .route("/", get(pages::home::page))
        .route("/sign-in", get(pages::sign_in::form).post(pages::sign_in::submit))
        .route("/sign-out", post(pages::sign_in::sign_out))
        .route("/conflicts", get(pages::conflicts::page))
        .route("/conflicts/{id}/resolve", post(pages::conflicts::resolve))
        .route("/profiles/{name}/run", post(pages::actions::run_now))
        .route("/profiles/{name}/reset", post(pages::actions::reset))
        .route("/profiles", get(pages::profiles::list).post(pages::profiles::create))
        .route("/profiles/new", get(pages::profiles::new_form))
        .route(
            "/profiles/{name}/edit",
            get(pages::profiles::edit_form).post(pages::profiles::save),
        )
        .route("/profiles/{name}/enabled", post(pages::profiles::set_enabled))
        .route("/profiles/{name}/test", get(pages::connection::test))
        .route("/profiles/{name}/collection", post(pages::connection::choose))
        .route("/runs", get(pages::runs::list))
        .route("/runs/{id}", get(pages::runs::report))
        .route("/duplicates", get(pages::duplicates::page))
        .route("/profiles/{name}/duplicates/link", post(pages::duplicates::link))
        .route(
            "/profiles/{name}/duplicates/keep-apart",
            post(pages::duplicates::keep_apart),
        )
        .route("/removed", get(pages::removed::page))
        .route("/profiles/{name}/restore", post(pages::removed::restore_item))
        .route("/quarantine", get(pages::quarantine::page))
        .route("/profiles/{name}/quarantine/retry", post(pages::quarantine::retry_item))
        .route(
            "/profiles/{name}/quarantine/retry-all",
            post(pages::quarantine::retry_all),
        )
        .route("/emails", get(pages::emails::page))
        .route("/profiles/{name}/emails/regarding", post(pages::emails::regarding))
        .route("/profiles/{name}/emails/convert", post(pages::emails::convert))
        .route("/profiles/{name}/emails/untrack", post(pages::emails::untrack))
        .route("/record", get(pages::record::page))
        .route("/admin/workers", get(pages::workers::page))
        .route("/admin/metrics", get(pages::metrics::page))
        .route("/events", get(pages::live::events))
        .route("/assets/style.css", get(assets::style))
        .route("/assets/live.js", get(assets::live))
        .with_state(state)
}
