//! Graph's change notifications as the connector-agnostic push of
//! `crmsync_connector::push` (R-SCHED-2): [`ChangeSubscriptions`] over the
//! subscription calls of `subscription.rs`, and the reader of what Graph
//! POSTs to a notification URL.
//!
//! Shapes read: a change notification collection,
//! https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks#change-notification-example,
//! and lifecycle notifications,
//! https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events
//! (`lifecycleEvent`: `reauthorizationRequired`, `subscriptionRemoved`,
//! `missed`). Both arrive as `{"value": [ … ]}`, each item with its
//! `subscriptionId` and the `clientState` the subscription was created with.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use crmsync_connector::{
    BadNotification, ChangeSubscriptions, CollectionId, ConnectorError, MailFolderCollection, Notice, NoticeKind,
    NotifyTarget, Secret, ServerSubscription,
};
use serde_json::Value;

use crate::GraphConnector;
use crate::subscription::NotificationTarget;

#[async_trait]
impl ChangeSubscriptions for GraphConnector {
    fn lifetime(&self) -> Duration {
        GraphConnector::lifetime(self)
    }

    async fn subscribe(
        &self,
        collection: &CollectionId,
        target: &NotifyTarget,
        expires: SystemTime,
    ) -> Result<ServerSubscription, ConnectorError> {
        // Lifecycle notifications go to the same URL: the reader tells them apart.
        let target = NotificationTarget {
            notification_url: target.url.expose().to_string(),
            lifecycle_url: target.url.expose().to_string(),
            client_state: target.client_state.expose().to_string(),
        };
        let created = match MailFolderCollection::parse(collection) {
            Some(mail) => self.subscribe_mail_folder_until(&mail, &target, expires).await?,
            None => self.subscribe_until(collection, &target, expires).await?,
        };
        Ok(ServerSubscription {
            id: created.id,
            expires: created.expires,
        })
    }

    async fn renew(&self, id: &str, expires: SystemTime) -> Result<ServerSubscription, ConnectorError> {
        let expires = self.renew_until(id, expires).await?;
        Ok(ServerSubscription {
            id: id.to_string(),
            expires,
        })
    }

    async fn unsubscribe(&self, id: &str) -> Result<(), ConnectorError> {
        Ok(GraphConnector::unsubscribe(self, id).await?)
    }
}

/// The notifications of one delivery. An item with an unknown
/// `lifecycleEvent` is left out (Graph may add events); one without
/// `subscriptionId`, or a body that is no notification collection, is an error.
pub fn read_notifications(body: &[u8]) -> Result<Vec<Notice>, BadNotification> {
    let delivery: Value =
        serde_json::from_slice(body).map_err(|e| BadNotification(format!("the body is not JSON: {e}")))?;
    let items = delivery["value"]
        .as_array()
        .ok_or_else(|| BadNotification("no `value` array of notifications".into()))?;
    let mut notices = Vec::with_capacity(items.len());
    for item in items {
        let subscription_id = item["subscriptionId"]
            .as_str()
            .ok_or_else(|| BadNotification("a notification without subscriptionId".into()))?;
        let kind = match item["lifecycleEvent"].as_str() {
            None => NoticeKind::Changed,
            Some("reauthorizationRequired") => NoticeKind::RenewalRequired,
            Some("subscriptionRemoved") => NoticeKind::Removed,
            Some("missed") => NoticeKind::Missed,
            Some(other) => {
                tracing::debug!(event = other, "an unknown Graph lifecycle event; ignored");
                continue;
            }
        };
        notices.push(Notice {
            subscription_id: subscription_id.to_string(),
            client_state: item["clientState"].as_str().map(Secret::from),
            kind,
        });
    }
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_sched_2_change_and_lifecycle_notifications_are_told_apart() {
        // Shaped after the examples of the pages cited above.
        let body = br#"{"value": [
            {"subscriptionId": "s1", "clientState": "secretClientValue", "changeType": "created",
             "resource": "users/anna/contactFolders/f/contacts/c1", "tenantId": "t"},
            {"subscriptionId": "s1", "clientState": "secretClientValue", "lifecycleEvent": "reauthorizationRequired"},
            {"subscriptionId": "s2", "lifecycleEvent": "subscriptionRemoved"},
            {"subscriptionId": "s3", "clientState": "x", "lifecycleEvent": "missed"},
            {"subscriptionId": "s4", "lifecycleEvent": "somethingNew"}
        ]}"#;
        let notices = read_notifications(body).expect("a delivery");
        let kinds: Vec<(&str, NoticeKind)> = notices.iter().map(|n| (n.subscription_id.as_str(), n.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("s1", NoticeKind::Changed),
                ("s1", NoticeKind::RenewalRequired),
                ("s2", NoticeKind::Removed),
                ("s3", NoticeKind::Missed),
            ]
        );
        assert_eq!(notices[0].client_state, Some(Secret::from("secretClientValue")));
        assert_eq!(notices[2].client_state, None);
        assert!(read_notifications(b"<xml/>").is_err());
        assert!(read_notifications(br#"{"value": [{"clientState": "x"}]}"#).is_err());
    }
}
