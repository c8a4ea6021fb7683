//! [`ConnectorSpec`] and the kinds it lists. The `kinds!` invocation at the
//! end is the only place in the workspace that names every connector kind.

use std::path::Path;
use std::sync::Arc;

use crmsync_connector::{
    BadNotification, CollectionChoice, Connector, ConnectorConfig, FieldLimits, InvalidSetting, Notice, OpenError,
    OpenOptions, OpenedMail, OpenedSubscriptions, OpenedWatch,
};
use serde::{Deserialize, Serialize};

/// Settings that do not form a connector of a known kind, or fail its checks.
/// `key` is relative to the connector's table (`kind`, `url`, …); messages
/// never quote a value (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for SpecError {}

impl From<InvalidSetting> for SpecError {
    fn from(e: InvalidSetting) -> Self {
        SpecError {
            key: e.key,
            message: e.message,
        }
    }
}

/// Generates [`ConnectorSpec`] (serde-tagged by `kind`), [`KINDS`],
/// [`secret_keys`] and the one dispatch to each kind's [`ConnectorConfig`].
macro_rules! kinds {
    ($($(#[$doc:meta])* $variant:ident = $kind:literal => $config:ty),+ $(,)?) => {
        /// One profile's connector: its kind and that kind's own settings.
        /// In TOML `connector = { kind = "vdir", root = "…" }`, in JSON
        /// `{ "kind": "vdir", "root": "…" }`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum ConnectorSpec {
            $($(#[$doc])* #[serde(rename = $kind)] $variant($config),)+
        }

        /// The kinds this build knows, as written in `kind = "…"`.
        pub const KINDS: &[&str] = &[$($kind),+];

        /// The keys of `kind`'s settings that hold secrets; empty for an unknown kind.
        pub fn secret_keys(kind: &str) -> &'static [&'static str] {
            match kind {
                $($kind => <$config as ConnectorConfig>::secret_keys(),)+
                _ => &[],
            }
        }

        impl ConnectorSpec {
            /// The kind, as written in `kind = "…"`.
            pub fn kind(&self) -> &'static str {
                match self { $(ConnectorSpec::$variant(_) => $kind,)+ }
            }

            fn config(&self) -> &dyn ConnectorConfig {
                match self { $(ConnectorSpec::$variant(c) => c,)+ }
            }

            fn config_mut(&mut self) -> &mut dyn ConnectorConfig {
                match self { $(ConnectorSpec::$variant(c) => c,)+ }
            }
        }
    };
}

kinds! {
    /// A local vdir: `ROOT/contacts`, `ROOT/calendar`, `ROOT/tasks`.
    Vdir = "vdir" => crmsync_vdir::VdirConfig,
    /// A CardDAV/CalDAV account; collections are found in (or created under) its home sets.
    Dav = "dav" => crmsync_dav::DavConfig,
    /// An IMAP mailbox whose tracked e-mail becomes CRM e-mails (SPEC §10).
    Imap = "imap" => crmsync_imap::ImapConfig,
    /// A Microsoft Graph mailbox (Exchange Online): contacts, calendar, To Do tasks.
    Graph = "graph" => crmsync_graph::GraphConfig,
}

impl ConnectorSpec {
    /// Reads `{ "kind": …, … }` (the API's and the stored catalog's form)
    /// and checks it. Errors name the key, never a value.
    pub fn from_json(value: serde_json::Value) -> Result<ConnectorSpec, SpecError> {
        let kind = match value.get("kind") {
            Some(serde_json::Value::String(kind)) => kind.clone(),
            _ => {
                return Err(SpecError {
                    key: "kind".into(),
                    message: format!("required: one of {}", KINDS.join(", ")),
                });
            }
        };
        if !KINDS.contains(&kind.as_str()) {
            return Err(SpecError {
                key: "kind".into(),
                message: format!("`{kind}` is not available; use one of: {}", KINDS.join(", ")),
            });
        }
        let spec: ConnectorSpec = serde_json::from_value(value).map_err(|e| shape_error(&e.to_string()))?;
        spec.validate()?;
        Ok(spec)
    }

    /// The settings as JSON, `kind` included, secrets as they are (the caller seals them).
    pub fn expose_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("connector settings serialise to JSON")
    }

    /// The same checks for every entry point (R-CFG-SPEC-1).
    pub fn validate(&self) -> Result<(), SpecError> {
        self.config().validate()?;
        if let Some((collections, limits)) = self.config().mailbox_tables() {
            collections.validate()?;
            limits.validate()?;
        }
        Ok(())
    }

    /// Makes relative paths absolute against `base_dir` (the config file's folder).
    pub fn resolve_paths(&mut self, base_dir: &Path) {
        self.config_mut().resolve_paths(base_dir);
    }

    /// Reads and writes files on the crmsync host (only admins may set it up over the API).
    pub fn uses_local_files(&self) -> bool {
        self.config().uses_local_files()
    }

    /// Holds e-mail only (no contacts, events or tasks): the kinds a profile
    /// may name as its `mail` connector.
    pub fn is_mail_only(&self) -> bool {
        matches!(self, ConnectorSpec::Imap(_))
    }

    /// Item writes a run may keep in flight (R-SYNC-PERF-2); `None`: the default.
    pub fn requests_in_flight(&self) -> Option<usize> {
        self.config().requests_in_flight()
    }

    /// The existing collections the profile names per class (R-COL-1).
    pub fn collections(&self) -> CollectionChoice {
        self.config()
            .mailbox_tables()
            .map(|(collections, _)| collections.clone())
            .unwrap_or_default()
    }

    /// The server's field length limits the profile inherits (R-FIELD-6).
    pub fn field_limits(&self) -> FieldLimits {
        self.config()
            .mailbox_tables()
            .map(|(_, limits)| limits.clone())
            .unwrap_or_default()
    }

    /// Checks, then opens the connector.
    pub fn open(&self, options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        self.checked()?;
        self.config().open(options)
    }

    /// The mail side, for a kind that tracks e-mail (`imap`); `None` else.
    /// It connects only where `options.reach` allows (R-SEC-1).
    pub fn open_mail(&self, options: OpenOptions) -> Option<OpenedMail> {
        if let Err(e) = self.checked() {
            return Some(Err(e));
        }
        self.config().open_mail(options)
    }

    /// The folders worth watching for push from the mailbox; empty for a
    /// kind that cannot push (R-TRACK-MAIL-11).
    pub fn mail_watch_folders(&self) -> Vec<String> {
        self.config().mail_watch_folders()
    }

    /// A watch on one of [`ConnectorSpec::mail_watch_folders`]; `None` for
    /// a kind that cannot push. It connects at its first wait, only where
    /// `options.reach` allows (R-SEC-1).
    pub fn open_mail_watch(&self, options: OpenOptions, folder: &str) -> Option<OpenedWatch> {
        if let Err(e) = self.checked() {
            return Some(Err(e));
        }
        self.config().open_mail_watch(options, folder)
    }

    /// The change notification subscriptions of the mailbox; `None` for a
    /// kind that has none (R-SCHED-2). It connects only where
    /// `options.reach` allows (R-SEC-1).
    pub fn open_subscriptions(&self, options: OpenOptions) -> Option<OpenedSubscriptions> {
        if let Err(e) = self.checked() {
            return Some(Err(e));
        }
        self.config().open_subscriptions(options)
    }

    /// Reads a notification delivery for one of this kind's subscriptions;
    /// `None` for a kind that has none.
    pub fn read_notifications(&self, body: &[u8]) -> Option<Result<Vec<Notice>, BadNotification>> {
        self.config().read_notifications(body)
    }

    /// [`ConnectorSpec::validate`] as the error an opening returns.
    fn checked(&self) -> Result<(), OpenError> {
        self.validate().map_err(|e| OpenError {
            message: format!("invalid connector setting {e}"),
            hint: "fix the named setting in the profile".into(),
            transient: false,
        })
    }
}

/// serde's messages can quote the offending value (`invalid type: string
/// "hunter2"`): keep only the kind of problem and the field it names.
fn shape_error(text: &str) -> SpecError {
    let field = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| text.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next());
    let message = match text.split_once(": string \"") {
        Some((head, _)) => format!("{head}: a string where another type belongs"),
        None => text.to_string(),
    };
    SpecError {
        key: field.unwrap_or("connector").to_string(),
        message,
    }
}
