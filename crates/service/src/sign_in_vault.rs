//! The database side of a delegated Graph sign-in (R-GRAPH-32): the
//! profile's refresh token sealed with the `[security] key` as the other
//! credentials are, under a context of its own (a sealed connector secret
//! copied into this row does not open, nor the reverse).

use async_trait::async_trait;
use crmsync_connector::{Secret, TokenVault, VaultError, VaultToken};
use crmsync_store::Store;

use crate::error::ServiceError;
use crate::secret_key::SecretKey;

pub struct SealedVault {
    store: Store,
    key: SecretKey,
    profile: String,
    /// The profile's owner: part of the sealing context, so a sign-in does
    /// not open for a profile of the same name owned by someone else (a
    /// deleted profile's name taken again, an owner changed by an admin).
    user_id: String,
}

impl std::fmt::Debug for SealedVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedVault({})", self.profile)
    }
}

impl SealedVault {
    pub fn new(store: Store, key: SecretKey, profile: impl Into<String>, user_id: impl Into<String>) -> Self {
        SealedVault {
            store,
            key,
            profile: profile.into(),
            user_id: user_id.into(),
        }
    }

    fn context(&self) -> String {
        format!("{}#{}#graph-sign-in", self.profile, self.user_id)
    }

    /// Stores a fresh sign-in's token (`crmsync graph sign-in`), replacing any.
    pub async fn store(&self, token: &Secret) -> Result<(), ServiceError> {
        let sealed = self.key.seal(&self.context(), token.expose().as_bytes());
        self.store.catalog().store_sign_in(&self.profile, &sealed).await?;
        Ok(())
    }
}

#[async_trait]
impl TokenVault for SealedVault {
    fn profile(&self) -> &str {
        &self.profile
    }

    async fn load(&self) -> Result<Option<VaultToken>, VaultError> {
        let Some(row) = self
            .store
            .catalog()
            .sign_in(&self.profile)
            .await
            .map_err(|e| VaultError::Unavailable(e.to_string()))?
        else {
            return Ok(None);
        };
        let plain = self
            .key
            .open(&self.context(), &row.sealed_token)
            .map_err(|_| VaultError::Unusable("the stored sign-in does not open with [security] key".into()))?;
        let token =
            String::from_utf8(plain).map_err(|_| VaultError::Unusable("the stored sign-in is not text".into()))?;
        Ok(Some(VaultToken {
            token: Secret::new(token),
            version: row.version,
        }))
    }

    async fn replace(&self, version: i64, token: &Secret) -> Result<bool, VaultError> {
        let sealed = self.key.seal(&self.context(), token.expose().as_bytes());
        self.store
            .catalog()
            .replace_sign_in(&self.profile, version, &sealed)
            .await
            .map_err(|e| VaultError::Unavailable(e.to_string()))
    }
}
