//! Change notification subscriptions (R-GRAPH-10, R-SCHED-2): Graph calls a
//! public URL when a folder's items change, so a profile runs at once
//! instead of at its next interval. crmsync subscribes to each synced folder,
//! renews before expiry on the connector's clock, and deletes the
//! subscription when push is turned off.
//!
//! Shapes: https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions
//! (create), https://learn.microsoft.com/en-us/graph/api/subscription-update
//! (renew), https://learn.microsoft.com/en-us/graph/api/subscription-delete.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use crmsync_connector::{CollectionId, ConnectorError, Etag, MailFolderCollection};
use reqwest::Method;
use serde_json::{Value, json};

use crate::folder::{Folder, segment};
use crate::http::Call;
use crate::{GraphConnector, GraphError};

/// The longest lifetime Graph grants the resources crmsync subscribes to
/// (To Do tasks allow the least: 4,230 minutes,
/// https://learn.microsoft.com/en-us/graph/api/resources/subscription#subscription-lifetime;
/// Outlook messages of a mail folder at least as long, R-GRAPH-44).
pub const MAX_SUBSCRIPTION_MINUTES: u32 = 4230;

/// Where Graph sends notifications for one profile, and the secret it
/// echoes in each (`clientState`, at most 128 characters).
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    pub notification_url: String,
    /// Lifecycle notifications (`reauthorizationRequired`, `subscriptionRemoved`, `missed`).
    pub lifecycle_url: String,
    pub client_state: String,
}

impl std::fmt::Debug for NotificationTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URLs carry the profile's push token and clientState is a secret.
        f.debug_struct("NotificationTarget").finish_non_exhaustive()
    }
}

/// A subscription Graph holds for one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub collection: CollectionId,
    pub expires: SystemTime,
}

fn graph_time(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn expiry(v: &Value) -> Result<SystemTime, GraphError> {
    let expires = v["expirationDateTime"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| GraphError::InvalidResponse("a subscription without expirationDateTime".into()))?;
    Ok(expires.with_timezone(&Utc).into())
}

fn read_subscription(collection: &CollectionId, v: &Value) -> Result<Subscription, GraphError> {
    let id = v["id"]
        .as_str()
        .ok_or_else(|| GraphError::InvalidResponse("a subscription without id".into()))?;
    Ok(Subscription {
        id: id.to_string(),
        collection: collection.clone(),
        expires: expiry(v)?,
    })
}

impl GraphConnector {
    /// How long a new or renewed subscription lives.
    pub(crate) fn lifetime(&self) -> Duration {
        Duration::from_secs(u64::from(self.config().subscription_minutes) * 60)
    }

    fn subscriptions_url(&self, id: Option<&str>) -> String {
        let base = format!("{}/subscriptions", self.config().base_url.trim_end_matches('/'));
        match id {
            Some(id) => format!("{base}/{}", segment(id)),
            None => base,
        }
    }

    /// Subscribes to created, updated and deleted items of `collection`
    /// for a full lifetime from the connector's clock.
    pub async fn subscribe(
        &self,
        collection: &CollectionId,
        target: &NotificationTarget,
    ) -> Result<Subscription, GraphError> {
        self.subscribe_until(collection, target, self.now() + self.lifetime())
            .await
    }

    /// Subscribes to created, updated and deleted items of `collection`
    /// until `expires`. Graph first calls `target.notification_url` with a
    /// `validationToken` and creates the subscription only if the token
    /// comes back in time.
    pub async fn subscribe_until(
        &self,
        collection: &CollectionId,
        target: &NotificationTarget,
        expires: SystemTime,
    ) -> Result<Subscription, GraphError> {
        let folder = Folder::parse(collection).map_err(|e| GraphError::InvalidResponse(e.to_string()))?;
        let resource = format!("users/{}/{}", segment(&self.config().mailbox), folder.items_path());
        self.post_subscription(collection, &resource, target, expires).await
    }

    /// Subscribes to created, updated and deleted messages of a polled mail
    /// folder until `expires` (R-GRAPH-44): resource
    /// `users/{mailbox}/mailFolders/{id}/messages`
    /// (https://learn.microsoft.com/en-us/graph/outlook-change-notifications-overview),
    /// the folder found by name as a poll finds it. A folder that is gone
    /// is `NotFound`: the next run makes it again, the next pass subscribes.
    pub async fn subscribe_mail_folder_until(
        &self,
        mail: &MailFolderCollection,
        target: &NotificationTarget,
        expires: SystemTime,
    ) -> Result<Subscription, ConnectorError> {
        // The key names the folder a run polled (its UIDVALIDITY): a folder
        // of that name made again since is another folder, whose messages
        // that run's delta link does not cover, so it is not subscribed
        // under this key; the run that polls it keys it anew.
        let id = crate::GraphMail::new(self.clone())
            .folder_id(&mail.folder)
            .await?
            .filter(|id| crate::mail::uid_validity_of(id) == mail.uid_validity)
            .ok_or_else(|| ConnectorError::NotFound {
                what: format!("mail folder {} as the last run polled it", mail.folder),
            })?;
        let resource = format!(
            "users/{}/mailFolders/{}/messages",
            segment(&self.config().mailbox),
            segment(&id)
        );
        Ok(self.post_subscription(&mail.id(), &resource, target, expires).await?)
    }

    /// `POST /subscriptions` for `resource`, kept as `collection`'s.
    async fn post_subscription(
        &self,
        collection: &CollectionId,
        resource: &str,
        target: &NotificationTarget,
        expires: SystemTime,
    ) -> Result<Subscription, GraphError> {
        let body = json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": target.notification_url,
            "lifecycleNotificationUrl": target.lifecycle_url,
            "resource": resource,
            "expirationDateTime": graph_time(expires),
            "clientState": target.client_state,
        })
        .to_string();
        let url = self.subscriptions_url(None);
        let created = self
            .http()
            .json(&Call {
                method: Method::POST,
                url: &url,
                if_match: None,
                body: Some(body.as_bytes()),
            })
            .await?;
        read_subscription(collection, &created)
    }

    /// Moves the subscription's expiry a full lifetime on from now.
    pub async fn renew(&self, subscription: &Subscription) -> Result<Subscription, GraphError> {
        let expires = self.renew_until(&subscription.id, self.now() + self.lifetime()).await?;
        Ok(Subscription {
            expires,
            ..subscription.clone()
        })
    }

    /// Moves subscription `id`'s expiry to `expires`; the expiry Graph granted.
    pub async fn renew_until(&self, id: &str, expires: SystemTime) -> Result<SystemTime, GraphError> {
        let body = json!({ "expirationDateTime": graph_time(expires) }).to_string();
        let url = self.subscriptions_url(Some(id));
        let renewed = self
            .http()
            .json(&Call {
                method: Method::PATCH,
                url: &url,
                if_match: None::<&Etag>,
                body: Some(body.as_bytes()),
            })
            .await?;
        expiry(&renewed)
    }

    /// Deletes the subscription; one Graph no longer has is already gone.
    pub async fn unsubscribe(&self, id: &str) -> Result<(), GraphError> {
        let url = self.subscriptions_url(Some(id));
        match self
            .http()
            .send(&Call {
                method: Method::DELETE,
                url: &url,
                if_match: None,
                body: None,
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether `subscription` should be renewed now: within a tenth of its
    /// lifetime of expiring, so a renewal that fails has time for retries
    /// before notifications stop.
    pub fn renewal_due(&self, subscription: &Subscription) -> bool {
        let margin = self.lifetime() / 10;
        self.now() + margin >= subscription.expires
    }
}
