//! The change notification subscriptions a profile holds on its groupware
//! server (R-SCHED-2), one per collection. The push URL's token and the
//! clientState are secrets: only their hashes are kept ([`hash_token`]),
//! enough to find the row a notification is for and to check its
//! clientState.
//!
//! Creation is two steps, so a crash between them loses nothing: the row is
//! written first with the new hashes and no subscription id (the server
//! calls the URL while creating and must find it), then the id and expiry
//! the server granted are added. A row left without an id is created again
//! by the next pass; a subscription the server made whose id was lost
//! points at a token no row has any more once it is re-created, and ends at
//! its expiry.

use chrono::{DateTime, Utc};

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{from_ms, get_opt_text, get_text, to_ms};
use crate::users::hash_token;

/// One stored subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscriptionRow {
    pub profile: String,
    pub collection: String,
    pub client_state_hash: String,
    /// `None` while being created.
    pub subscription_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub renew_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "profile, collection, client_state_hash, subscription_id, expires_at, renew_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<PushSubscriptionRow> {
    use sqlx::Row as _;
    let opt_ms = |col: &str| -> Result<Option<DateTime<Utc>>> {
        row.try_get::<Option<i64>, _>(col)
            .map(|v| v.map(from_ms))
            .map_err(StoreError::db("reading a push subscription"))
    };
    Ok(PushSubscriptionRow {
        profile: get_text(row, "profile")?,
        collection: get_text(row, "collection")?,
        client_state_hash: get_text(row, "client_state_hash")?,
        subscription_id: get_opt_text(row, "subscription_id")?,
        expires_at: opt_ms("expires_at")?,
        renew_at: opt_ms("renew_at")?,
    })
}

impl SyncState {
    /// Every stored subscription, of one profile or of all.
    pub async fn push_subscriptions(&self, profile: Option<&str>) -> Result<Vec<PushSubscriptionRow>> {
        let query = match profile {
            Some(profile) => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM push_subscriptions WHERE profile = $1 ORDER BY collection"
            )))
            .bind(profile.to_string()),
            None => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM push_subscriptions ORDER BY profile, collection"
            ))),
        };
        let rows = query
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading push subscriptions"))?;
        rows.iter().map(from_row).collect()
    }

    /// The subscription whose notification URL carries `url_token`.
    pub async fn push_subscription_by_url_token(&self, url_token: &str) -> Result<Option<PushSubscriptionRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM push_subscriptions WHERE url_token_hash = $1"
        )))
        .bind(hash_token(url_token))
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("reading a push subscription"))?;
        row.as_ref().map(from_row).transpose()
    }

    /// Step one of a creation: the row with the new secrets and no id,
    /// replacing whatever the collection had.
    pub async fn begin_push_subscription(
        &self,
        profile: &str,
        collection: &str,
        url_token: &str,
        client_state: &str,
    ) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query(
                    "INSERT INTO push_subscriptions (profile, collection, url_token_hash, client_state_hash) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (profile, collection) DO UPDATE SET \
                     url_token_hash = excluded.url_token_hash, client_state_hash = excluded.client_state_hash, \
                     subscription_id = NULL, expires_at = NULL, renew_at = NULL",
                )
                .bind(profile)
                .bind(collection)
                .bind(hash_token(url_token))
                .bind(hash_token(client_state)),
                "beginning a push subscription",
            )
            .await?;
        Ok(())
    }

    /// Step two of a creation, or a renewal: the id and times the server
    /// granted, kept only while the row still has this clientState (a
    /// creation begun again meanwhile wins). True when kept.
    pub async fn confirm_push_subscription(
        &self,
        row: &PushSubscriptionRow,
        subscription_id: &str,
        expires_at: DateTime<Utc>,
        renew_at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = self
            .db
            .execute_write(
                sqlx::query(
                    "UPDATE push_subscriptions SET subscription_id = $4, expires_at = $5, renew_at = $6 \
                     WHERE profile = $1 AND collection = $2 AND client_state_hash = $3",
                )
                .bind(&row.profile)
                .bind(&row.collection)
                .bind(&row.client_state_hash)
                .bind(subscription_id)
                .bind(to_ms(expires_at))
                .bind(to_ms(renew_at)),
                "confirming a push subscription",
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The server asked for a renewal: due at once.
    pub async fn push_renewal_due(&self, profile: &str, collection: &str, subscription_id: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query(
                    "UPDATE push_subscriptions SET renew_at = 0 \
                     WHERE profile = $1 AND collection = $2 AND subscription_id = $3",
                )
                .bind(profile)
                .bind(collection)
                .bind(subscription_id),
                "marking a push subscription for renewal",
            )
            .await?;
        Ok(())
    }

    /// The server dropped subscription `subscription_id`: the row loses it,
    /// so the next pass creates a new one.
    pub async fn push_subscription_lost(&self, profile: &str, collection: &str, subscription_id: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query(
                    "UPDATE push_subscriptions SET subscription_id = NULL, expires_at = NULL, renew_at = NULL \
                     WHERE profile = $1 AND collection = $2 AND subscription_id = $3",
                )
                .bind(profile)
                .bind(collection)
                .bind(subscription_id),
                "forgetting a dropped push subscription",
            )
            .await?;
        Ok(())
    }

    /// Forgets the collection's subscription (deleted on the server, or
    /// its profile is gone).
    pub async fn forget_push_subscription(&self, profile: &str, collection: &str) -> Result<()> {
        self.db
            .execute_write(
                sqlx::query("DELETE FROM push_subscriptions WHERE profile = $1 AND collection = $2")
                    .bind(profile)
                    .bind(collection),
                "forgetting a push subscription",
            )
            .await?;
        Ok(())
    }
}
