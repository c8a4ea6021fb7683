//! Users and their API tokens (R-PERM-2: every API call is authenticated).
//!
//! A token is 32 random bytes, shown once as `crm_` + base64url. Only its
//! SHA-256 is stored. A fast hash is right here: password hashes are slow to
//! make guessing low-entropy passwords expensive, but a 256-bit random token
//! cannot be guessed at any speed, so slowness would only cost every request.
//! The hash still means a leaked database does not hand out working tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use crmsync_model::{EntityKind, User, UserFields, Validate};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::Records;
use crate::error::{Result, StoreError};
use crate::records::{insert_record, new_id, require_record};
use crate::sql::{now_ms, record_from_row};

/// Every token starts with this, so a leaked one is recognisable in logs and
/// by secret scanners.
pub const TOKEN_PREFIX: &str = "crm_";

impl Records {
    /// Creates a user who owns their own record, and their first API token.
    /// The token is returned only here: the store cannot show it again.
    pub async fn create_user(&self, fields: UserFields) -> Result<(User, String)> {
        fields.validate()?;
        let id = new_id();
        let mut tx = self.db.begin_write().await?;
        let name = fields.name.clone();
        let user = insert_record(&mut tx, id.clone(), &id, fields)
            .await
            .map_err(|e| match e {
                // The only unique key of a new user row is its name (R-API-16).
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "a user named `{name}` exists already (names are unique, ignoring case); choose another name"
                )),
                e => e,
            })?;
        // After the change-log append, but only a fresh key is inserted (see changelog).
        let token = new_token();
        store_token_hash(&mut tx, &id, &token).await?;
        tx.commit().await.map_err(StoreError::db("saving a new user"))?;
        self.db.announce_change();
        Ok((user, token))
    }

    /// The active user holding `token`, or `None` (unknown token, inactive user).
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT u.id, u.owner_id, u.created_at, u.modified_at, u.version, u.data \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(hash_token(token))
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("checking a token"))?;
        let Some(row) = row else { return Ok(None) };
        let user: User = record_from_row(&row)?;
        Ok(user.fields.active.then_some(user))
    }

    /// Replaces the user's token with a new one, returned once; the old one
    /// stops working at once.
    pub async fn rotate_token(&self, user_id: &str) -> Result<String> {
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, user_id).await?;
        let token = new_token();
        store_token_hash(&mut tx, user_id, &token).await?;
        tx.commit().await.map_err(StoreError::db("saving a new token"))?;
        Ok(token)
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    // ThreadRng is a CSPRNG seeded from the operating system.
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Hex SHA-256 of the whole printed token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn store_token_hash(conn: &mut AnyConnection, user_id: &str, token: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
    )
    .bind(user_id)
    .bind(hash_token(token))
    .bind(now_ms())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::db("storing a token"))?;
    Ok(())
}
