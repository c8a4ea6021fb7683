//! The service's one error type. Each variant says whether retrying can help
//! ([`ServiceError::is_transient`]) and its message says what to do.

use crmsync_engine::EngineError;
use crmsync_store::StoreError;
use crmsync_sync::SyncError;

// `Store` and `Sync` quote their cause in their own message and expose no `source()`:
// the CLI prints errors with anyhow's `{:#}`, which would show the cause's
// text a second time ("conflict: …: conflict: …").
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("CRM store: {0}")]
    Store(StoreError),

    #[error("{0}")]
    Sync(SyncError),

    /// A setting of the configuration file is unusable.
    #[error("config key `{key}`: {message}")]
    Config { key: String, message: String },

    #[error(
        "profile {profile} has credentials, but no key to encrypt them: set [security] key or \
         CRMSYNC_SECURITY_KEY to 32 random bytes in base64 (e.g. `openssl rand -base64 32`)"
    )]
    NoSecurityKey { profile: String },

    #[error("the security key is unusable: {reason}; set it to 32 random bytes in base64 (`openssl rand -base64 32`)")]
    BadSecurityKey { reason: String },

    /// The sealed credentials do not open with this key: the key changed or
    /// the row was altered.
    #[error(
        "the stored credentials of profile {profile} cannot be decrypted with the configured security key; \
         set CRMSYNC_SECURITY_KEY (or [security] key) back to the key they were saved with, or enter the \
         profile's credentials again"
    )]
    SecretUnreadable { profile: String },

    /// R-SEC-4: credentials are stored sealed, but this process has no key.
    #[error(
        "profile {profile} has stored credentials, but no security key is set to decrypt them: set \
         CRMSYNC_SECURITY_KEY (or [security] key) to the key they were saved with; if that key is lost, make a \
         new one with `openssl rand -base64 32`, set it, and enter the profile's credentials again"
    )]
    NoKeyToDecrypt { profile: String },

    #[error("profile {profile}: {message}")]
    InvalidProfile { profile: String, message: String },

    /// R-PERM-1: the direction asks for rights the user lacks.
    #[error("profile {profile}: {source}")]
    Permission {
        profile: String,
        #[source]
        source: EngineError,
    },

    #[error("profile {profile}: no CRM user `{user}`; add the user (`crmsync user add`) or fix the profile's user")]
    UnknownUser { profile: String, user: String },

    #[error("no profile named `{0}`")]
    ProfileNotFound(String),

    #[error("profile {profile}: connector kind `{kind}` is not available in this build; use one of: {available}")]
    UnknownConnectorKind {
        profile: String,
        kind: String,
        available: String,
    },

    /// The connector could not be opened (bad settings, folder missing, …).
    #[error("profile {profile}: cannot open the connector: {message}")]
    Connector {
        profile: String,
        message: String,
        transient: bool,
    },

    /// R-PERM-2: only admins and the profile's own user manage a profile.
    #[error("not allowed: {0}")]
    Forbidden(String),

    /// A request to the profiles API names a field with an unusable value.
    #[error("profile {profile}: {field}: {message}")]
    InvalidField {
        profile: String,
        field: String,
        message: String,
    },

    #[error("a profile named `{0}` exists already; choose another name or replace it with PUT")]
    ProfileExists(String),

    /// R-SVC-API-4: the config file owns this profile.
    #[error(
        "profile `{0}` is managed by the configuration file, which overwrites it at every start: \
         change it there"
    )]
    ManagedByConfig(String),

    #[error(
        "profile {profile} changed since version {expected} (now {current}); read it again and reapply your change"
    )]
    ProfileVersion {
        profile: String,
        expected: i64,
        current: i64,
    },

    /// R-SVC-13: a run was asked for while another worker runs the profile.
    #[error(
        "profile {profile} is being synced right now by worker {worker} (lease until {until}); \
         nothing was done: try again when that run has ended"
    )]
    ProfileBusy {
        profile: String,
        worker: String,
        until: chrono::DateTime<chrono::Utc>,
    },

    /// A bug: the run panicked. The run failed; the process goes on.
    #[error("profile {profile}: the run stopped on an internal error ({message}); please report it with the log")]
    RunPanicked { profile: String, message: String },

    /// A run lost its lease to another worker (it outlived the lease).
    #[error("profile {profile}: the lease expired and another worker took the profile over; this run was stopped")]
    LeaseLost { profile: String },
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Store(e)
    }
}

impl From<SyncError> for ServiceError {
    fn from(e: SyncError) -> Self {
        ServiceError::Sync(e)
    }
}

impl ServiceError {
    /// True when the same call may succeed later unchanged.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::Store(e) => e.is_transient(),
            ServiceError::Sync(e) => e.is_transient(),
            ServiceError::Connector { transient, .. } => *transient,
            ServiceError::LeaseLost { .. } | ServiceError::ProfileBusy { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn invalid(profile: &str, message: impl Into<String>) -> Self {
        ServiceError::InvalidProfile {
            profile: profile.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chain as anyhow's `{:#}` prints it (the CLI's error output).
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(next) = cause {
            text.push_str(": ");
            text.push_str(&next.to_string());
            cause = next.source();
        }
        text
    }

    #[test]
    fn a_store_conflict_is_shown_once() {
        let e = ServiceError::from(StoreError::Conflict(
            "saving a contact: a record with that key already exists".into(),
        ));
        assert_eq!(
            chain(&e),
            "CRM store: conflict: saving a contact: a record with that key already exists"
        );
    }

    #[test]
    fn a_store_conflict_inside_a_sync_error_is_shown_once() {
        let e = ServiceError::from(SyncError::from(StoreError::Conflict("linking: gone".into())));
        assert_eq!(chain(&e), "CRM store: conflict: linking: gone");
    }
}
