//! A Graph profile's settings, as they appear in the TOML config:
//!
//! ```toml
//! connector = { kind = "graph", tenant = "contoso.onmicrosoft.com", mailbox = "anna@contoso.com",
//!               auth = "client-secret", client_id = "…", client_secret = { env = "CRMSYNC_GRAPH_SECRET" } }
//! ```
//!
//! `auth` names the sign-in method and its settings sit beside it, so the
//! secret is a top-level key the profile catalog seals like a DAV password.
//! `base_url` defaults to the global endpoint; national clouds (and the test
//! server) set it and `authority` together.

use std::sync::Arc;

use crmsync_connector::{
    BadNotification, CollectionChoice, Connector, ConnectorConfig, FieldLimits, InvalidSetting, MailSource,
    MailTracking, Notice, OpenError, OpenOptions, OpenedMail, OpenedSubscriptions, Secret, SecretSource,
};
use serde::{Deserialize, Serialize};

use crate::assertion::CertificateCredential;
use crate::{GraphConnector, GraphError};

/// What the app proves itself with at the token endpoint.
#[derive(Debug)]
pub(crate) enum Credential {
    Secret(Secret),
    Certificate(Box<CertificateCredential>),
    /// A public client signed in on a user's behalf: no credential of its
    /// own, the user's refresh token from the vault instead (R-GRAPH-31).
    Delegated,
}

pub const GLOBAL_BASE_URL: &str = "https://graph.microsoft.com/v1.0";
pub const GLOBAL_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The scope an app-only token asks for: the application permissions granted
/// to the app registration (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow#get-a-token).
pub const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// The delegated permissions a device-code sign-in asks for (R-GRAPH-30),
/// the one list README's Graph section repeats: the synced folders' items,
/// tracked mail (asked always, so turning tracking on needs no new
/// sign-in) and `offline_access` for a refresh token
/// (https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc#offline_access).
pub const DELEGATED_SCOPES: [&str; 5] = [
    "https://graph.microsoft.com/Contacts.ReadWrite",
    "https://graph.microsoft.com/Calendars.ReadWrite",
    "https://graph.microsoft.com/Tasks.ReadWrite",
    "https://graph.microsoft.com/Mail.ReadWrite",
    "offline_access",
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphConfig {
    /// The directory (tenant) id or a verified domain of the tenant.
    pub tenant: String,
    /// The user principal name or object id of the synced mailbox.
    pub mailbox: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Where tokens come from: `{authority}/{tenant}/oauth2/v2.0/token`.
    #[serde(default = "default_authority")]
    pub authority: String,
    #[serde(default)]
    pub auth: GraphAuth,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// `auth = "client-secret"`: the secret, as a value, `{ env = "VAR" }` or `{ file = "/path" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<SecretSource>,
    /// `auth = "certificate"`: PEM text with the private key (PKCS#8 `PRIVATE
    /// KEY`) and the certificate registered for the app, from the same places.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<SecretSource>,
    /// Past days of the calendar window (R-CAL-1).
    #[serde(default = "default_past_days")]
    pub calendar_past_days: u32,
    /// Future days of the calendar window; Graph's calendarView needs an end.
    #[serde(default = "default_future_days")]
    pub calendar_future_days: u32,
    /// Requests in flight at once for this mailbox (Exchange allows 4).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Whole-request time-out.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Tries after a 429/503 before giving up (each waits `Retry-After`).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// Lifetime of a change notification subscription (R-GRAPH-10), renewed
    /// before it ends; at most 4,230 minutes.
    #[serde(default = "default_subscription_minutes")]
    pub subscription_minutes: u32,
    /// Existing folders (contact folders, calendars, To Do lists) to use
    /// instead of crmsync's own, by id or display name (R-COL-1).
    #[serde(default, skip_serializing_if = "CollectionChoice::is_empty")]
    pub collections: CollectionChoice,
    /// The mailbox's length limits (R-LIMIT-1).
    #[serde(default, skip_serializing_if = "FieldLimits::is_empty")]
    pub field_limits: FieldLimits,
    /// E-mail tracking (SPEC §10, R-GRAPH-25): present, the profile also
    /// tracks the mailbox's mail (the tracking folder, the category named by
    /// `keyword`, replies, known contacts); absent, it tracks none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<MailTracking>,
}

/// How the app signs in: app-only client credentials, with a secret or a
/// certificate, or delegated for one user who signed in once with a device
/// code (`crmsync graph sign-in`, R-GRAPH-30).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GraphAuth {
    #[default]
    ClientSecret,
    Certificate,
    DeviceCode,
}

fn default_base_url() -> String {
    GLOBAL_BASE_URL.to_string()
}
fn default_authority() -> String {
    GLOBAL_AUTHORITY.to_string()
}
fn default_past_days() -> u32 {
    30
}
fn default_future_days() -> u32 {
    365
}
fn default_concurrency() -> usize {
    4
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_max_retries() -> u32 {
    5
}
fn default_subscription_minutes() -> u32 {
    crate::subscription::MAX_SUBSCRIPTION_MINUTES
}

/// Exchange Online's limit of concurrent requests per app and mailbox
/// (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits).
pub const MAX_CONCURRENCY: usize = 4;

impl GraphConfig {
    /// A config with defaults for everything but the tenant, mailbox and app.
    pub fn new(
        tenant: impl Into<String>,
        mailbox: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        GraphConfig {
            tenant: tenant.into(),
            mailbox: mailbox.into(),
            base_url: default_base_url(),
            authority: default_authority(),
            auth: GraphAuth::ClientSecret,
            client_id: client_id.into(),
            client_secret: Some(SecretSource::Value(Secret::new(client_secret.into()))),
            certificate: None,
            calendar_past_days: default_past_days(),
            calendar_future_days: default_future_days(),
            concurrency: default_concurrency(),
            timeout_secs: default_timeout_secs(),
            max_retries: default_max_retries(),
            subscription_minutes: default_subscription_minutes(),
            collections: CollectionChoice::default(),
            field_limits: FieldLimits::default(),
            tracking: None,
        }
    }

    /// Checks every setting; the error names the key at fault.
    pub fn validate(&self) -> Result<(), GraphError> {
        let invalid = |key: &'static str, reason: &str| {
            Err(GraphError::InvalidSetting {
                key,
                reason: reason.to_string(),
            })
        };
        let plain = |s: &str| !s.trim().is_empty() && !s.contains(['/', '?', '#', ' ']);
        if !plain(&self.tenant) {
            return invalid(
                "tenant",
                "must be the tenant id or domain, without '/', '?', '#' or spaces",
            );
        }
        if !plain(&self.mailbox) {
            return invalid("mailbox", "must be the mailbox's user principal name or id");
        }
        for (key, url) in [("base_url", &self.base_url), ("authority", &self.authority)] {
            let parsed = reqwest::Url::parse(url);
            if !matches!(parsed.as_ref().map(|u| u.scheme()), Ok("https" | "http")) {
                return invalid(key, "must be an http(s) URL");
            }
        }
        if self.client_id.trim().is_empty() {
            return invalid("client_id", "must be the app registration's application id");
        }
        match (self.auth, &self.client_secret, &self.certificate) {
            (GraphAuth::ClientSecret, None, _) => {
                return invalid("client_secret", "is needed with auth = \"client-secret\"");
            }
            (GraphAuth::ClientSecret, Some(_), Some(_)) => {
                return invalid(
                    "certificate",
                    "is for auth = \"certificate\"; leave it out or change auth",
                );
            }
            (GraphAuth::ClientSecret, Some(SecretSource::Value(s)), None) if s.expose().is_empty() => {
                return invalid("client_secret", "must not be empty");
            }
            (GraphAuth::Certificate, _, None) => {
                return invalid("certificate", "is needed with auth = \"certificate\"");
            }
            (GraphAuth::Certificate, Some(_), Some(_)) => {
                return invalid(
                    "client_secret",
                    "is for auth = \"client-secret\"; leave it out or change auth",
                );
            }
            // A public client holds no credential: one given is a mistake
            // the operator should hear about, not a secret kept unused.
            (GraphAuth::DeviceCode, Some(_), _) => {
                return invalid(
                    "client_secret",
                    "is not used with auth = \"device-code\" (a public client); leave it out",
                );
            }
            (GraphAuth::DeviceCode, None, Some(_)) => {
                return invalid(
                    "certificate",
                    "is not used with auth = \"device-code\" (a public client); leave it out",
                );
            }
            (GraphAuth::Certificate, None, Some(SecretSource::Value(pem))) => {
                // A PEM given in the file is checked now; env and file ones when opened.
                CertificateCredential::from_pem(pem.expose())?;
            }
            _ => {}
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return invalid("concurrency", "must be 1 to 4 (Exchange's limit per mailbox)");
        }
        if self.timeout_secs == 0 {
            return invalid("timeout_secs", "must be at least 1");
        }
        if self.calendar_future_days == 0 {
            return invalid("calendar_future_days", "must be at least 1");
        }
        if let Some(tracking) = &self.tracking {
            tracking.validate().map_err(|message| GraphError::InvalidSetting {
                key: "tracking",
                reason: message,
            })?;
        }
        let max = crate::subscription::MAX_SUBSCRIPTION_MINUTES;
        if !(60..=max).contains(&self.subscription_minutes) {
            return invalid(
                "subscription_minutes",
                &format!("must be 60 to {max} (the longest lifetime Graph grants To Do tasks)"),
            );
        }
        Ok(())
    }

    /// The app's credential, read now (a rotated one is picked up at the next start).
    pub(crate) fn credential(&self) -> Result<Credential, GraphError> {
        let read = |key: &'static str, source: &Option<SecretSource>| {
            let source = source.as_ref().ok_or(GraphError::InvalidSetting {
                key,
                reason: "is not set".into(),
            })?;
            source.resolve().map_err(|e| GraphError::InvalidSetting {
                key,
                reason: e.to_string(),
            })
        };
        match self.auth {
            GraphAuth::ClientSecret => Ok(Credential::Secret(read("client_secret", &self.client_secret)?)),
            GraphAuth::Certificate => {
                let pem = read("certificate", &self.certificate)?;
                Ok(Credential::Certificate(Box::new(CertificateCredential::from_pem(
                    pem.expose(),
                )?)))
            }
            GraphAuth::DeviceCode => Ok(Credential::Delegated),
        }
    }

    /// The device authorization endpoint of the tenant
    /// (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code#device-authorization-request).
    pub fn device_code_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/devicecode",
            self.authority.trim_end_matches('/'),
            self.tenant
        )
    }

    /// The token endpoint of the tenant.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.authority.trim_end_matches('/'),
            self.tenant
        )
    }
}

impl ConnectorConfig for GraphConfig {
    fn secret_keys() -> &'static [&'static str] {
        &["client_secret", "certificate"]
    }

    fn validate(&self) -> Result<(), InvalidSetting> {
        GraphConfig::validate(self).map_err(|e| match e {
            GraphError::InvalidSetting { key, reason } => InvalidSetting::new(key, reason),
            other => InvalidSetting::new("connector", other.to_string()),
        })
    }

    fn mailbox_tables(&self) -> Option<(&CollectionChoice, &FieldLimits)> {
        Some((&self.collections, &self.field_limits))
    }

    fn requests_in_flight(&self) -> Option<usize> {
        // Creates ride 20 to a request (R-GRAPH-17): enough writes to fill them.
        Some(self.writes_in_flight())
    }

    fn open(&self, options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        Ok(Arc::new(self.connector(options)?))
    }

    /// R-GRAPH-25: a profile with `tracking` tracks the mailbox's mail too.
    fn open_mail(&self, options: OpenOptions) -> Option<OpenedMail> {
        let tracking = self.tracking.clone()?;
        Some(
            self.connector(options)
                .map(|c| (Arc::new(crate::GraphMail::new(c)) as Arc<dyn MailSource>, tracking)),
        )
    }

    /// R-GRAPH-44: the folders a profile with `tracking` polls are
    /// subscribed to like its item folders.
    fn mail_watch_folders(&self) -> Vec<String> {
        self.tracking.as_ref().map(MailTracking::folders).unwrap_or_default()
    }

    fn open_subscriptions(&self, options: OpenOptions) -> Option<OpenedSubscriptions> {
        Some(self.connector(options).map(|c| Arc::new(c) as _))
    }

    fn read_notifications(&self, body: &[u8]) -> Option<Result<Vec<Notice>, BadNotification>> {
        Some(crate::push::read_notifications(body))
    }
}

impl GraphConfig {
    /// Item writes worth keeping in flight: `concurrency` batches of 20 creates.
    pub fn writes_in_flight(&self) -> usize {
        self.concurrency.max(1) * crate::batch::MAX_BATCH
    }

    fn connector(&self, options: OpenOptions) -> Result<GraphConnector, OpenError> {
        let vault = options.token_vault.map(|v| v.0);
        GraphConnector::open_with(self.clone(), options.reach, vault).map_err(|e| OpenError {
            message: e.to_string(),
            hint: "check the Graph profile's settings (tenant, mailbox, client_id, client_secret or certificate)"
                .into(),
            transient: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_profile_gets_the_global_endpoint_and_hides_the_secret() {
        let config: GraphConfig = toml::from_str(
            r#"
            tenant = "contoso.onmicrosoft.com"
            mailbox = "anna@contoso.com"
            client_id = "app"
            client_secret = "s3cr3t"
            "#,
        )
        .expect("parses");
        assert_eq!(config.base_url, GLOBAL_BASE_URL);
        assert_eq!(config.concurrency, 4);
        assert_eq!(
            config.token_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        config.validate().expect("valid");
        assert!(!format!("{config:?}").contains("s3cr3t"), "Debug must hide the secret");
    }

    // R-GRAPH-25: `tracking` turns the mail side on, with the shared
    // tracking options, checked under the key `tracking`.
    #[test]
    fn r_graph_25_tracking_opens_the_mail_side_and_is_checked() {
        let base = "tenant = \"t\"\nmailbox = \"anna@contoso.com\"\nclient_id = \"a\"\nclient_secret = \"s\"\n";
        let without: GraphConfig = toml::from_str(base).unwrap();
        assert!(
            without.open_mail(OpenOptions::default()).is_none(),
            "no tracking, no mail"
        );
        let with: GraphConfig = toml::from_str(&format!("{base}tracking = {{ keyword = \"CRM\" }}")).unwrap();
        with.validate().unwrap();
        let (_, tracking) = with.open_mail(OpenOptions::default()).expect("mail").expect("opens");
        assert_eq!((tracking.folder.as_str(), tracking.keyword.as_str()), ("CRM", "CRM"));
        let nothing: GraphConfig =
            toml::from_str(&format!("{base}tracking = {{ folder = \"\", keyword = \"\" }}")).unwrap();
        match nothing.validate() {
            Err(GraphError::InvalidSetting { key, .. }) => assert_eq!(key, "tracking"),
            other => panic!("{other:?}"),
        }
        assert!(toml::from_str::<GraphConfig>(&format!("{base}tracking = {{ folders = \"x\" }}")).is_err());
    }

    #[test]
    fn validate_names_the_key_at_fault() {
        let good = GraphConfig::new("t", "anna@contoso.com", "app", "secret");
        let key = |c: GraphConfig| match c.validate() {
            Err(GraphError::InvalidSetting { key, .. }) => key,
            other => panic!("expected an invalid setting, got {other:?}"),
        };
        assert_eq!(
            key(GraphConfig {
                concurrency: 5,
                ..good.clone()
            }),
            "concurrency"
        );
        assert_eq!(
            key(GraphConfig {
                mailbox: "a/b".into(),
                ..good.clone()
            }),
            "mailbox"
        );
        assert_eq!(
            key(GraphConfig {
                base_url: "ftp://x".into(),
                ..good.clone()
            }),
            "base_url"
        );
        assert_eq!(key(GraphConfig::new("t", "m", "", "s")), "client_id");
        assert_eq!(key(GraphConfig::new("t", "m", "app", "")), "client_secret");
        let unknown = toml::from_str::<GraphConfig>(
            "tenant = \"t\"\nmailbox = \"m\"\npassword = \"x\"\nclient_id = \"a\"\nclient_secret = \"s\"",
        );
        assert!(unknown.is_err(), "unknown keys are refused");
    }

    // R-GRAPH-30: a device-code profile is a public client: it needs only the
    // client id, and a secret or certificate beside it is named as the fault.
    #[test]
    fn r_graph_30_device_code_is_a_public_client() {
        let base = "tenant = \"t\"\nmailbox = \"m\"\nauth = \"device-code\"\nclient_id = \"a\"\n";
        let device: GraphConfig = toml::from_str(base).expect("parses");
        assert_eq!(device.auth, GraphAuth::DeviceCode);
        device.validate().expect("a client id is all it needs");
        assert!(matches!(device.credential(), Ok(Credential::Delegated)));
        let key = |extra: &str| {
            let c: GraphConfig = toml::from_str(&format!("{base}{extra}")).expect("parses");
            match c.validate() {
                Err(GraphError::InvalidSetting { key, reason }) => {
                    assert!(reason.contains("device-code"), "{reason}");
                    key
                }
                other => panic!("expected an invalid setting, got {other:?}"),
            }
        };
        assert_eq!(key("client_secret = \"s\""), "client_secret");
        assert_eq!(key("certificate = \"PEM\""), "certificate");
        assert_eq!(
            device.device_code_url(),
            "https://login.microsoftonline.com/t/oauth2/v2.0/devicecode"
        );
        assert!(DELEGATED_SCOPES.contains(&"offline_access"));
    }
}
