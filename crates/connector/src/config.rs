//! What every connector kind's own config type offers, so the one registry
//! of kinds (`crmsync-connector-registry`) can check and open any of them
//! without knowing what they hold.

use std::path::Path;
use std::sync::Arc;

use thiserror::Error;

use crate::{
    BadNotification, ChangeSubscriptions, CollectionChoice, Connector, FieldLimits, MailSource, MailTracking,
    MailWatch, Notice,
};

/// A setting that cannot work, named by its key inside the connector's
/// settings (`url`, `bearer_token`, `retry.max_retries`). The message never
/// quotes a secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key}: {message}")]
pub struct InvalidSetting {
    pub key: String,
    pub message: String,
}

impl InvalidSetting {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidSetting {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A connector that could not be opened: what went wrong and what to do,
/// and whether trying again later can help.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message}; {hint}")]
pub struct OpenError {
    pub message: String,
    pub hint: String,
    pub transient: bool,
}

/// A mail side opened by [`ConnectorConfig::open_mail`], with its tracking options.
pub type OpenedMail = Result<(Arc<dyn MailSource>, MailTracking), OpenError>;

/// A watch on one folder opened by [`ConnectorConfig::open_mail_watch`].
pub type OpenedWatch = Result<Box<dyn MailWatch>, OpenError>;

/// Change notification subscriptions opened by [`ConnectorConfig::open_subscriptions`].
pub type OpenedSubscriptions = Result<Arc<dyn ChangeSubscriptions>, OpenError>;

/// How an entry point wants a connector opened.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create a missing local root folder (a one-shot `crmsync sync` run by
    /// an operator), instead of failing (the scheduler: a missing mount must
    /// not turn into a fresh empty mailbox).
    pub create_local_root: bool,
    /// Where the connector may connect (R-SEC-1): anything for the config
    /// file's and admins' profiles, public addresses and the allow-list for
    /// the profiles non-admin users saved.
    pub reach: crate::Reach,
    /// Where a delegated sign-in's refresh token is kept (Graph
    /// `auth = "device-code"`, R-GRAPH-31); `None` outside a database.
    pub token_vault: Option<crate::VaultHandle>,
}

/// The typed, validated settings of one connector kind (`VdirConfig`,
/// `DavConfig`, …): the variant payload of the registry's `ConnectorSpec`.
pub trait ConnectorConfig: Send + Sync {
    /// Keys whose values are [`crate::SecretSource`]s: literal values are
    /// sealed at rest and never shown by the API.
    fn secret_keys() -> &'static [&'static str]
    where
        Self: Sized;

    /// Checks what can be checked without touching any server or folder.
    /// The config file and the API both call it, so a profile is refused the
    /// same way wherever it comes from.
    fn validate(&self) -> Result<(), InvalidSetting>;

    /// Makes relative paths absolute against the configuration file's folder.
    fn resolve_paths(&mut self, _base_dir: &Path) {}

    /// Reads and writes files on the crmsync host (a vdir): only an admin
    /// may set up such a profile over the API.
    fn uses_local_files(&self) -> bool {
        false
    }

    /// The tables an item connector's config carries for the profile: the
    /// existing collections it names per class (R-COL-1) and the server's
    /// field limits (R-LIMIT-1). The registry checks and reads them, the
    /// same for every kind; `None`: the kind has neither (imap).
    fn mailbox_tables(&self) -> Option<(&CollectionChoice, &FieldLimits)> {
        None
    }

    /// Item writes a run may keep in flight against this connector; `None`:
    /// the runner's default (R-SYNC-PERF-2).
    fn requests_in_flight(&self) -> Option<usize> {
        None
    }

    /// Opens the connector. Secrets named by `{ env }` / `{ file }` are read now.
    fn open(&self, options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError>;

    /// A kind that tracks e-mail (SPEC §10) opens its mail side here, with
    /// its tracking options; `None`: the kind has no mail. It connects only
    /// where `options.reach` allows (R-SEC-1).
    fn open_mail(&self, _options: OpenOptions) -> Option<OpenedMail> {
        None
    }

    /// The folders of the mail side worth watching for push (the tracking
    /// folder, and the watched ones when a trigger looks there): IMAP
    /// watches them with IDLE (R-TRACK-MAIL-11), a kind with change
    /// subscriptions subscribes to them (R-GRAPH-44); empty: no mail push.
    fn mail_watch_folders(&self) -> Vec<String> {
        Vec::new()
    }

    /// A watch on `folder` over a connection of its own; `None`: the kind
    /// cannot push. It connects only where `options.reach` allows (R-SEC-1),
    /// and not before its first wait.
    fn open_mail_watch(&self, _options: OpenOptions, _folder: &str) -> Option<OpenedWatch> {
        None
    }

    /// The change notification subscriptions of the mailbox (R-SCHED-2);
    /// `None`: the kind has none. It connects only where `options.reach`
    /// allows (R-SEC-1).
    fn open_subscriptions(&self, _options: OpenOptions) -> Option<OpenedSubscriptions> {
        None
    }

    /// Reads a notification delivery the kind's server POSTed to the push
    /// URL of one of its subscriptions; `None`: the kind has none.
    fn read_notifications(&self, _body: &[u8]) -> Option<Result<Vec<Notice>, BadNotification>> {
        None
    }
}
