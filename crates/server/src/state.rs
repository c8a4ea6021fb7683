//! What every handler shares.

use std::sync::Arc;

use crmsync_service::{Clock, ConnectorFactory, DefaultConnectorFactory, ProfileCatalog, Scheduler, SystemClock};
use crmsync_store::Store;

use crate::push_limit::{PER_CLIENT, PER_TOKEN, PushLimiter};

/// Default request body limit (R-API-11): the configuration's
/// `server.max_body_bytes` default, defined once there.
pub const DEFAULT_MAX_BODY_BYTES: usize = crmsync_config::DEFAULT_MAX_BODY_BYTES as usize;

/// Shared state of the HTTP API. Build it with [`AppState::new`]; fields are
/// public so that tests and the CLI can adjust them.
// Debug is safe to derive: the store's own Debug replaces the password, the
// catalog's key and the directory print no secret.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// Bodies larger than this are refused with 413 before they are parsed.
    pub max_body_bytes: usize,
    /// The sync profiles the `/sync` routes operate; `None`: they answer 404.
    pub profiles: Option<crate::sync::ProfileSource>,
    /// The stored profiles of `/profiles` and the push routes.
    pub service: ServiceState,
    /// The dashboard's cookies are `Secure` (R-WEB-1): it is reached over TLS.
    pub secure_cookies: bool,
    /// Who may sign in to the dashboard (R-WEB-15); the API token by default.
    pub authenticator: Arc<dyn crmsync_web::Authenticator>,
    /// How often the dashboard looks for runs other processes finished
    /// (`server.live_poll_millis`, R-WEB-21).
    pub live_poll: std::time::Duration,
}

/// The server-mode parts the profile routes use.
#[derive(Clone)]
pub struct ServiceState {
    pub catalog: ProfileCatalog,
    pub factory: Arc<dyn ConnectorFactory>,
    /// Time for saves and triggers (tests drive a `ManualClock`).
    pub clock: Arc<dyn Clock>,
    /// The scheduler of this process, when it runs one: pushes go through
    /// it (its clock, its metrics); without one they mark the profile due
    /// in the database and whichever worker runs picks it up.
    pub scheduler: Option<Scheduler>,
    /// For a profile created without `pull_interval_secs`
    /// (`scheduler.default_pull_interval_secs`).
    pub default_pull_interval_secs: u64,
    /// The push webhook's rate limit (R-API-15), on `clock`.
    pub push_limit: PushLimiter,
}

impl std::fmt::Debug for ServiceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceState")
            .field("scheduler", &self.scheduler)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Store) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        AppState {
            service: ServiceState {
                catalog: ProfileCatalog::new(store.clone(), None),
                factory: Arc::new(DefaultConnectorFactory),
                push_limit: PushLimiter::new(clock.clone(), PER_TOKEN, PER_CLIENT),
                clock,
                scheduler: None,
                default_pull_interval_secs: 900,
            },
            store,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            profiles: None,
            secure_cookies: false,
            authenticator: Arc::new(crmsync_web::TokenAuthenticator),
            live_poll: std::time::Duration::from_millis(crmsync_config::DEFAULT_LIVE_POLL_MILLIS),
        }
    }

    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.max_body_bytes = max_body_bytes;
        self
    }

    /// Signs dashboard users in with `authenticator` instead of the API token
    /// (R-WEB-15), e.g. single sign-on.
    pub fn with_authenticator(mut self, authenticator: Arc<dyn crmsync_web::Authenticator>) -> Self {
        self.authenticator = authenticator;
        self
    }

    /// Looks for runs other processes finished this often (R-WEB-21).
    pub fn with_live_poll(mut self, every: std::time::Duration) -> Self {
        self.live_poll = every;
        self
    }

    /// Marks the dashboard's cookies `Secure` (served behind TLS).
    pub fn with_secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = secure;
        self
    }

    /// Serves these sync profiles on the `/sync` routes.
    pub fn with_profiles(mut self, profiles: Arc<dyn crate::sync::ProfileDirectory>) -> Self {
        self.profiles = Some(crate::sync::ProfileSource(profiles));
        self
    }

    /// Uses this catalog (with its security key) for `/profiles`, and serves
    /// its profiles on the `/sync` routes too.
    pub fn with_catalog(mut self, catalog: ProfileCatalog) -> Self {
        self.service.catalog = catalog;
        self.profiles = Some(crate::sync::ProfileSource(Arc::new(
            crate::sync::CatalogDirectory::new(self.service.catalog.clone(), self.service.factory.clone()),
        )));
        self
    }

    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.service.scheduler = Some(scheduler);
        self
    }

    pub fn with_default_pull_interval_secs(mut self, secs: u64) -> Self {
        self.service.default_pull_interval_secs = secs;
        self
    }

    /// Uses `clock` for saves, triggers and the push rate limit.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.service.push_limit = PushLimiter::new(clock.clone(), PER_TOKEN, PER_CLIENT);
        self.service.clock = clock;
        self
    }
}
