//! Connector settings → an open connector. One match arm per kind; a new
//! kind (imap, graph) is one arm here and its secret keys in
//! [`crate::settings::secret_keys`].

use std::sync::Arc;

use crmsync_connector::{Connector, Reach};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::error::ServiceError;
use crate::settings::ConnectorSettings;

/// Opens the connector of a profile. A trait so tests can hand the scheduler
/// connectors of their own.
pub trait ConnectorFactory: Send + Sync {
    /// `reach` is where the connector may connect (R-SEC-1): the catalog
    /// narrows it for the profiles of non-admin users.
    fn open(
        &self,
        profile: &str,
        settings: &ConnectorSettings,
        reach: &Reach,
    ) -> Result<Arc<dyn Connector>, ServiceError>;
}

/// The connectors of this build: `vdir`, and `dav` with the `dav` feature.
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultConnectorFactory;

/// The kinds [`DefaultConnectorFactory`] opens.
pub fn available_kinds() -> &'static [&'static str] {
    if cfg!(feature = "dav") {
        &["vdir", "dav"]
    } else {
        &["vdir"]
    }
}

impl ConnectorFactory for DefaultConnectorFactory {
    fn open(
        &self,
        profile: &str,
        settings: &ConnectorSettings,
        reach: &Reach,
    ) -> Result<Arc<dyn Connector>, ServiceError> {
        match settings.kind.as_str() {
            "vdir" => {
                // A local folder: no network address to check.
                let _ = reach;
                let config: VdirConfig = parse(profile, settings)?;
                let connector = VdirConnector::open(&config).map_err(|e| ServiceError::Connector {
                    profile: profile.to_string(),
                    message: format!("{e}; {}", e.hint()),
                    transient: e.is_transient(),
                })?;
                Ok(Arc::new(connector))
            }
            #[cfg(feature = "dav")]
            "dav" => {
                let config: crmsync_dav::DavConfig = parse(profile, settings)?;
                let connector = crmsync_dav::DavConnector::with_reach(&config, reach.clone()).map_err(|e| {
                    ServiceError::Connector {
                        profile: profile.to_string(),
                        message: format!("{e}; {}", e.hint()),
                        transient: e.is_transient(),
                    }
                })?;
                Ok(Arc::new(connector))
            }
            other => Err(ServiceError::UnknownConnectorKind {
                profile: profile.to_string(),
                kind: other.to_string(),
                available: available_kinds().join(", "),
            }),
        }
    }
}

/// How many item writes a run keeps in flight for this connector
/// (R-SYNC-PERF-2): a DAV profile's `concurrency` (R-CFG-DAV-1) sets it, a
/// vdir keeps the default. Settings that do not parse get the default: opening
/// the connector reports them.
pub fn write_concurrency(profile: &str, settings: &ConnectorSettings) -> usize {
    let requests = match settings.kind.as_str() {
        #[cfg(feature = "dav")]
        "dav" => parse::<crmsync_dav::DavConfig>(profile, settings)
            .ok()
            .map(|c| c.concurrency),
        _ => {
            let _ = profile;
            None
        }
    };
    crmsync_sync::write_concurrency_for(requests)
}

/// Checks that `settings` are well-formed for their kind and every value is
/// in its documented range (R-CFG-DAV-2), without opening anything (no folder
/// or server is touched). A value out of range names its field.
pub fn check_settings(profile: &str, settings: &ConnectorSettings) -> Result<(), ServiceError> {
    let out_of_range = |key: &str, message: String| ServiceError::InvalidField {
        profile: profile.to_string(),
        field: format!("connector.{key}"),
        message,
    };
    match settings.kind.as_str() {
        "vdir" => parse::<VdirConfig>(profile, settings)?.validate().map_err(|e| match e {
            crmsync_vdir::VdirError::InvalidSetting { key, reason } => out_of_range(key, reason),
            other => out_of_range("root", other.to_string()),
        }),
        #[cfg(feature = "dav")]
        "dav" => parse::<crmsync_dav::DavConfig>(profile, settings)?
            .validate()
            .map_err(|e| match e {
                crmsync_dav::DavError::InvalidSetting { key, reason } => out_of_range(key, reason),
                other => out_of_range("url", other.to_string()),
            }),
        other => Err(ServiceError::UnknownConnectorKind {
            profile: profile.to_string(),
            kind: other.to_string(),
            available: available_kinds().join(", "),
        }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(profile: &str, settings: &ConnectorSettings) -> Result<T, ServiceError> {
    // The error names the setting, never its value (it may be a secret).
    serde_json::from_value(settings.expose_full_json()).map_err(|e| ServiceError::Connector {
        profile: profile.to_string(),
        message: format!(
            "invalid {} settings (line/column refer to the JSON form): {}",
            settings.kind,
            e.classify_message()
        ),
        transient: false,
    })
}

/// serde_json messages can quote the offending value; keep only the kind of
/// problem and the field it names.
trait ClassifyMessage {
    fn classify_message(&self) -> String;
}

impl ClassifyMessage for serde_json::Error {
    fn classify_message(&self) -> String {
        let text = self.to_string();
        // "unknown field `x`", "missing field `x`" carry field names only;
        // "invalid type: string \"…\"" would carry a value: cut it.
        match text.split_once(": string \"") {
            Some((head, _)) => format!("{head}: a string where another type belongs"),
            None => text,
        }
    }
}
