//! The shape of the configuration file. Every section has defaults, so an empty
//! file (or none) is a valid configuration: SQLite next to the process, the API
//! on 127.0.0.1:8080.

use serde::{Deserialize, Serialize};

use crmsync_connector_registry::ConnectorSpec;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub security: SecurityConfig,
    pub scheduler: SchedulerConfig,
    #[serde(rename = "profile", skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<ProfileConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://FILE` (created on first start) or `postgres://…`.
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://crmsync.db".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Largest request body the API accepts; larger ones get 413.
    pub max_body_bytes: u64,
    /// Mark the dashboard's cookies `Secure` (R-WEB-1): set it when users
    /// reach the server over HTTPS (a TLS-terminating reverse proxy).
    pub secure_cookies: bool,
    /// The address the groupware servers reach this API at (e.g.
    /// `https://crmsync.example.com`), for the change notification
    /// subscriptions push profiles get (R-SCHED-2, Microsoft Graph). Empty:
    /// no subscriptions; those profiles are polled.
    pub public_url: String,
    /// How often the dashboard's run feed looks for runs other processes
    /// finished (R-WEB-21), in milliseconds: one query per interval for the
    /// whole server, however many pages are open.
    pub live_poll_millis: u64,
}

/// `server.live_poll_millis` unless configured.
pub const DEFAULT_LIVE_POLL_MILLIS: u64 = 1000;
/// `server.live_poll_millis` allowed: from a tenth of a second (the
/// database is asked that often) to a minute (a page that lags more than
/// that is no longer live).
pub const LIVE_POLL_MILLIS: std::ops::RangeInclusive<u64> = 100..=60_000;

/// The API's request body limit unless configured (R-API-11): room for a
/// contact with the largest photo the model allows (4 MiB, `MAX_PHOTO_LEN`)
/// and the rest of its fields. The one place this number is written: the
/// server's default is this constant.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 5 * 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secure_cookies: false,
            public_url: String::new(),
            live_poll_millis: DEFAULT_LIVE_POLL_MILLIS,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `crmsync_sync=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info".into(),
        }
    }
}

/// One sync profile: a CRM user linked to one mailbox (SPEC §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Unique name, used on the command line (`--profile NAME`).
    pub name: String,
    /// The CRM user's name (or id) whose records this profile syncs.
    pub user: String,
    /// The connector kind and its own settings (`crmsync-connector-registry`).
    pub connector: ConnectorSpec,
    /// A mail connector beside `connector` (`kind = "imap"`): the same
    /// profile then syncs contacts and calendars over `connector` and tracks
    /// e-mail over this one (SPEC §10). Absent: no mail, or `connector` is
    /// itself the mail connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<ConnectorSpec>,
    /// Engine policies per entity (direction, conflicts, deletion, filters,
    /// calendar window), as the engine defines them; absent keys take the
    /// SPEC's defaults.
    #[serde(default)]
    pub rules: toml::Table,
    /// Seconds between scheduled pulls in server mode (R-SCHED-1); absent:
    /// `scheduler.default_pull_interval_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_interval_secs: Option<u64>,
    /// Run at once on CRM changes and groupware notifications (R-SCHED-2); default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<bool>,
    /// A disabled profile is kept but never scheduled; default on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// Secrets at rest: `key` (base64 of 32 random bytes, e.g. from
/// `openssl rand -base64 32`) seals the credentials of stored profiles.
/// Usually given as `CRMSYNC_SECURITY_KEY` rather than in the file.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    pub key: String,
    /// Internal hosts that profiles of non-admin users may reach (R-SEC-1):
    /// host names, addresses or networks (`"dav.lan"`, `"10.0.0.0/8"`).
    /// Without an entry they reach only public addresses; profiles of this
    /// file and of admins reach anything.
    /// `CRMSYNC_SECURITY_ALLOWED_HOSTS`: the same, comma-separated.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key decrypts every stored credential: never print it.
        let shown = if self.key.is_empty() { "<unset>" } else { "***" };
        f.debug_struct("SecurityConfig")
            .field("key", &shown)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

/// Server mode's scheduler (`crmsync serve`, `crmsync worker`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Off: `crmsync serve` runs the API only.
    pub enabled: bool,
    /// Names this process in leases and logs; empty: host name + process id.
    pub worker_id: String,
    /// Profile runs at once in this process.
    pub max_concurrent_runs: u64,
    /// How long a profile lease lasts without renewal (a dead worker's
    /// profiles move to others after this); renewed every third of it.
    pub lease_secs: u64,
    /// How often the CRM change log and the due profiles are polled.
    pub poll_millis: u64,
    pub default_pull_interval_secs: u64,
    /// At shutdown, runs get this long to finish before they are abandoned
    /// (safely: the journal lets the next run finish them).
    pub shutdown_grace_secs: u64,
    /// IMAP IDLE connections this process holds at most for push from the
    /// mailbox; folders beyond are polled; 0: none (R-TRACK-MAIL-11).
    pub max_idle_connections: u64,
    /// Days a finished run's report is kept before the scheduler deletes it
    /// (each profile's newest stays); 0: kept for ever (R-WEB-11).
    pub run_report_days: u64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            enabled: true,
            worker_id: String::new(),
            max_concurrent_runs: 4,
            lease_secs: 60,
            poll_millis: 300,
            default_pull_interval_secs: 900,
            shutdown_grace_secs: 20,
            max_idle_connections: 100,
            run_report_days: 30,
        }
    }
}
