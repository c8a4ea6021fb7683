//! Delegated sign-ins of profiles (Microsoft Graph device code, R-GRAPH-32):
//! one sealed refresh token per profile with a version, so replacements are
//! conditional. The store never sees the token in plain text: the service
//! seals it.

use sqlx::Row;

use crate::Catalog;
use crate::error::{Result, StoreError};
use crate::sql::now_ms;

/// A profile's stored sign-in: the sealed token and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSignIn {
    pub sealed_token: String,
    pub version: i64,
}

impl Catalog {
    pub async fn sign_in(&self, profile: &str) -> Result<Option<SealedSignIn>> {
        let row = sqlx::query("SELECT sealed_token, version FROM graph_sign_ins WHERE profile = $1")
            .bind(profile)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::db("reading a sign-in"))?;
        row.map(|row| {
            Ok(SealedSignIn {
                sealed_token: row
                    .try_get("sealed_token")
                    .map_err(StoreError::db("reading a sign-in"))?,
                version: row.try_get("version").map_err(StoreError::db("reading a sign-in"))?,
            })
        })
        .transpose()
    }

    /// Stores a new sign-in (a fresh `crmsync graph sign-in`), replacing
    /// any earlier one whatever its version.
    pub async fn store_sign_in(&self, profile: &str, sealed_token: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO graph_sign_ins (profile, sealed_token, version, updated_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (profile) DO UPDATE SET sealed_token = excluded.sealed_token, \
             version = graph_sign_ins.version + 1, updated_at = excluded.updated_at",
        )
        .bind(profile)
        .bind(sealed_token)
        .bind(now_ms())
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("storing a sign-in"))?;
        Ok(())
    }

    /// Replaces the token only if the stored one is still `version`; false
    /// when another writer got there first (then nothing changes).
    pub async fn replace_sign_in(&self, profile: &str, version: i64, sealed_token: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE graph_sign_ins SET sealed_token = $3, version = version + 1, updated_at = $4 \
             WHERE profile = $1 AND version = $2",
        )
        .bind(profile)
        .bind(version)
        .bind(sealed_token)
        .bind(now_ms())
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("replacing a sign-in"))?;
        Ok(done.rows_affected() == 1)
    }
}
