//! Where a connector signed in on a user's behalf (Microsoft Graph's
//! delegated device-code sign-in) keeps its refresh token between runs.
//! The service implements it on the database, sealed like the profile's
//! other credentials; a connector only loads and replaces.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

use crate::Secret;

/// A stored refresh token and the version it was stored under: a
/// replacement names the version it replaces, so of two workers refreshing
/// at once the one that read an older token cannot overwrite the newer one.
#[derive(Debug, Clone)]
pub struct VaultToken {
    pub token: Secret,
    pub version: i64,
}

/// The vault could not give or keep the token; which kind says whether a
/// later run can succeed on its own.
#[derive(Debug, Clone, Error)]
pub enum VaultError {
    /// Reading or writing failed (the database is down or busy): a later
    /// run may succeed without anyone doing anything.
    #[error("{0}")]
    Unavailable(String),
    /// The stored sign-in cannot be used: sealed with another `[security]
    /// key`, for another owner, or damaged. Retrying never helps; only
    /// signing in again does.
    #[error("{0}")]
    Unusable(String),
}

#[async_trait]
pub trait TokenVault: Send + Sync {
    /// The profile whose token this is (for "sign in again" messages).
    fn profile(&self) -> &str;
    /// The stored token, if the profile was signed in.
    async fn load(&self) -> Result<Option<VaultToken>, VaultError>;
    /// Stores `token` if the stored one is still `version`; false when
    /// another writer replaced it first (nothing is written then).
    async fn replace(&self, version: i64, token: &Secret) -> Result<bool, VaultError>;
}

/// A vault handed to a connector through [`crate::OpenOptions`]; compares
/// by identity and shows no token.
#[derive(Clone)]
pub struct VaultHandle(pub Arc<dyn TokenVault>);

impl fmt::Debug for VaultHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenVault({})", self.0.profile())
    }
}

impl PartialEq for VaultHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for VaultHandle {}

/// A vault in memory: for a process without a database and for tests. It
/// keeps the same promise as the database's: a replacement of a version
/// that is no longer the stored one changes nothing.
pub struct MemoryVault {
    profile: String,
    stored: std::sync::Mutex<Option<VaultToken>>,
}

impl MemoryVault {
    pub fn new(profile: impl Into<String>, token: Option<Secret>) -> Self {
        MemoryVault {
            profile: profile.into(),
            stored: std::sync::Mutex::new(token.map(|token| VaultToken { token, version: 1 })),
        }
    }

    /// What is stored now.
    pub fn current(&self) -> Option<VaultToken> {
        self.stored.lock().expect("lock").clone()
    }
}

impl fmt::Debug for MemoryVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryVault({})", self.profile)
    }
}

#[async_trait]
impl TokenVault for MemoryVault {
    fn profile(&self) -> &str {
        &self.profile
    }

    async fn load(&self) -> Result<Option<VaultToken>, VaultError> {
        Ok(self.current())
    }

    async fn replace(&self, version: i64, token: &Secret) -> Result<bool, VaultError> {
        let mut stored = self.stored.lock().expect("lock");
        match stored.as_mut() {
            Some(current) if current.version == version => {
                *current = VaultToken {
                    token: token.clone(),
                    version: version + 1,
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
