//! crmsync-service: server mode.
//!
//! - [`ProfileCatalog`]: sync profiles stored in the database (`sync_profiles`),
//!   credentials sealed with the `[security]` key ([`SecretKey`]), the config
//!   file's profiles imported at start, R-PERM-1 checked on save and run.
//! - [`build_sync_profile`]: the one profile factory every entry point uses
//!   (R-PERM-1 on every path); [`ConnectorFactory`] opens a profile's
//!   [`ConnectorSpec`] (kinds: `crmsync-connector-registry`).
//! - [`Scheduler`]: runs each profile on its interval with jitter (R-SCHED-1),
//!   at once on CRM changes that concern it (R-SCHED-2), with back-off on
//!   failure, over any number of workers sharing PostgreSQL row leases
//!   (R-SCHED-3). Time comes from a [`Clock`]. Push profiles that track
//!   e-mail also run when their mail folder changes (IMAP IDLE, bounded by
//!   `max_idle_connections`, R-TRACK-MAIL-11), and when their groupware
//!   server sends a change notification (subscriptions the scheduler holds
//!   at `server.public_url`, Microsoft Graph, R-SCHED-2).
//! - [`Metrics`]: Prometheus counters and histograms, rendered as text.
//!
//! Decisions the SPEC leaves open are in `docs/RULES.md`, "crmsync-service".

mod catalog;
mod clock;
mod definition;
mod error;
mod factory;
mod health;
mod mail_push;
mod manual_run;
mod metrics;
mod profile_api;
mod profile_factory;
mod profile_run;
mod push_subscriptions;
mod schedule_policy;
mod scheduler;
mod secret_key;
mod settings;
mod setup;
mod sign_in_vault;
mod triggers;

pub use catalog::{ProfileCatalog, ProfileView, find_user};
pub use clock::{Clock, ManualClock, SystemClock};
pub use crmsync_connector_registry::ConnectorSpec;
pub use definition::{MAX_PULL_INTERVAL, MIN_PULL_INTERVAL, ProfileDefinition, ProfileSource, crm_rights};
pub use error::ServiceError;
pub use factory::{ConnectorFactory, DefaultConnectorFactory, OneShotConnectorFactory};
pub use health::readiness;
pub use mail_push::{DEFAULT_MAX_IDLE_CONNECTIONS, MAX_IDLE_CONNECTIONS, MailPushReport, MailPushSettings};
pub use manual_run::{MANUAL_LEASE, manual_worker_id, retry_after_secs, run_holding_lease, run_profile_now};
pub use metrics::Metrics;
pub use profile_api::{CreatedProfile, ProfileInput, PushTarget};
pub use profile_factory::build_sync_profile;
pub use push_subscriptions::{Received, SubscriptionReport, SubscriptionSettings};
pub use schedule_policy::{NextRun, SchedulePolicy};
pub use scheduler::{RunEvent, RunResult, Scheduler, SchedulerParts, SchedulerSettings, TickReport};
pub use secret_key::{SecretKey, Unsealable};
pub use settings::SecretFields;
pub use setup::scheduler_from_config;
pub use sign_in_vault::SealedVault;
pub use triggers::ChangeWatcher;
