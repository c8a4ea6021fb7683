//! Dashboard sign-in sessions (R-WEB-1), kept server-side.
//!
//! A session is opened with an API token and lives until it expires, the
//! user signs out, or the token it was opened with is rotated (the session
//! row keeps that token's hash and is joined to `api_tokens` on every
//! lookup). Only SHA-256 hashes of the cookie value are stored, for the same
//! reason as for tokens (`users.rs`). Times come from the caller's clock, so
//! tests drive expiry.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use crmsync_model::User;
use rand::RngCore;

use crate::Records;
use crate::error::{Result, StoreError};
use crate::sql::{get_text, record_from_row, to_ms};
use crate::users::hash_token;

/// A session just opened: the cookie value (shown once) and its form token.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub cookie: String,
    pub csrf: String,
}

/// The signed-in user of a live session and the session's form token.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub csrf: String,
}

fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Records {
    /// Opens a session for the active user holding `token`; `None` when the
    /// token is not one (exactly the API's check, [`Records::authenticate`]).
    pub async fn open_web_session(
        &self,
        token: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<NewWebSession>> {
        if self.authenticate(token).await?.is_none() {
            return Ok(None);
        }
        let session = NewWebSession {
            cookie: random_value(),
            csrf: random_value(),
        };
        // Expired sessions are removed here, so the table stays small
        // without a sweeper.
        sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
            .bind(to_ms(now))
            .execute(self.db.pool())
            .await
            .map_err(StoreError::db("removing expired web sessions"))?;
        sqlx::query(
            "INSERT INTO web_sessions (id_hash, token_hash, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(hash_token(&session.cookie))
        .bind(hash_token(token))
        .bind(&session.csrf)
        .bind(to_ms(now))
        .bind(to_ms(expires_at))
        .execute(self.db.pool())
        .await
        .map_err(StoreError::db("opening a web session"))?;
        Ok(Some(session))
    }

    /// The live session of this cookie value at `now`: not expired, its
    /// token not rotated, its user active.
    pub async fn web_session(&self, cookie: &str, now: DateTime<Utc>) -> Result<Option<WebSession>> {
        let row = sqlx::query(
            "SELECT u.id, u.owner_id, u.created_at, u.modified_at, u.version, u.data, s.csrf \
             FROM web_sessions s JOIN api_tokens t ON t.token_hash = s.token_hash \
             JOIN users u ON u.id = t.user_id WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(hash_token(cookie))
        .bind(to_ms(now))
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a web session"))?;
        let Some(row) = row else { return Ok(None) };
        let user: User = record_from_row(&row)?;
        if !user.fields.active {
            return Ok(None);
        }
        Ok(Some(WebSession {
            csrf: get_text(&row, "csrf")?,
            user,
        }))
    }

    /// Ends the session of this cookie value (signing out); unknown: nothing.
    pub async fn close_web_session(&self, cookie: &str) -> Result<()> {
        sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
            .bind(hash_token(cookie))
            .execute(self.db.pool())
            .await
            .map_err(StoreError::db("closing a web session"))?;
        Ok(())
    }
}
