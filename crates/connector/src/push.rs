//! Push from the groupware server by change notification subscriptions
//! (R-SCHED-2): the server calls a public URL of crmsync when a collection's
//! items change, so the profile runs at once instead of at its next
//! interval. A kind that offers them (Microsoft Graph) implements
//! [`ChangeSubscriptions`]; the scheduler creates, renews and deletes them
//! and the push webhook reads what arrives with
//! [`crate::ConnectorConfig::read_notifications`], without knowing the kind.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::{CollectionId, ConnectorError, Secret};

/// Where the server sends notifications for one subscription, and the
/// secret it echoes in each so a forged one can be told apart.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    /// The URL both change and lifecycle notifications go to; a secret
    /// because its path holds the token that names the subscription.
    pub url: Secret,
    pub client_state: Secret,
}

/// A subscription the server holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSubscription {
    pub id: String,
    /// When the server drops it unless renewed.
    pub expires: SystemTime,
}

/// What one notification asks of crmsync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// Items of the collection changed: a delta run of the profile.
    Changed,
    /// The server wants the subscription renewed (its authorisation is about
    /// to end); until then notifications may stop.
    RenewalRequired,
    /// The server dropped the subscription: create it again, and run, as
    /// changes may have gone unannounced.
    Removed,
    /// The server could not deliver some notifications: run, as a delta run
    /// finds whatever they would have announced.
    Missed,
}

/// One notification of a delivery, as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subscription_id: String,
    /// The secret the subscription was created with; checked by the caller.
    pub client_state: Option<Secret>,
    pub kind: NoticeKind,
}

/// A polled mail folder as the collection a subscription to its messages is
/// held under (R-GRAPH-44): its name, which the kind resolves when it
/// subscribes, and the UIDVALIDITY its last poll saw, so a folder deleted
/// and made again (a new identity) is a new collection and gets a new
/// subscription once a run has polled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailFolderCollection {
    pub folder: String,
    pub uid_validity: u64,
}

impl MailFolderCollection {
    const PREFIX: &str = "mail:";

    /// `mail:{uid_validity}:{folder}`.
    pub fn id(&self) -> CollectionId {
        CollectionId::new(format!("{}{}:{}", Self::PREFIX, self.uid_validity, self.folder))
    }

    /// The mail folder `id` names; `None` for any other collection.
    pub fn parse(id: &CollectionId) -> Option<MailFolderCollection> {
        let (validity, folder) = id.as_str().strip_prefix(Self::PREFIX)?.split_once(':')?;
        Some(MailFolderCollection {
            folder: folder.to_string(),
            uid_validity: validity.parse().ok()?,
        })
        .filter(|m| !m.folder.is_empty())
    }
}

/// A notification body that is not one the kind sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a change notification: {0}")]
pub struct BadNotification(pub String);

/// Change notification subscriptions of one mailbox. Times come from the
/// caller, whose clock tests drive.
#[async_trait]
pub trait ChangeSubscriptions: Send + Sync {
    /// How long a subscription lives from its creation or renewal.
    fn lifetime(&self) -> Duration;

    /// Subscribes to changes of the items of `collection` (an item folder a
    /// run remembered, or a [`MailFolderCollection`]) until `expires`.
    /// The server may first call `target.url` to check it answers.
    async fn subscribe(
        &self,
        collection: &CollectionId,
        target: &NotifyTarget,
        expires: SystemTime,
    ) -> Result<ServerSubscription, ConnectorError>;

    /// Moves subscription `id`'s expiry to `expires`. A subscription the
    /// server no longer has is [`ConnectorError::NotFound`].
    async fn renew(&self, id: &str, expires: SystemTime) -> Result<ServerSubscription, ConnectorError>;

    /// Deletes subscription `id`; one already gone is no error.
    async fn unsubscribe(&self, id: &str) -> Result<(), ConnectorError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_graph_44_a_mail_folder_collection_reads_back() {
        let inbox = MailFolderCollection {
            folder: "Projects: 2026".into(),
            // A Graph folder's UIDVALIDITY is above 2^62 (R-GRAPH-42).
            uid_validity: 4_611_686_018_427_387_911,
        };
        assert_eq!(inbox.id().as_str(), "mail:4611686018427387911:Projects: 2026");
        assert_eq!(MailFolderCollection::parse(&inbox.id()), Some(inbox));
        for other in ["contacts:AAMk", "mail:", "mail:x:CRM", "mail:7:", "mail:7"] {
            assert_eq!(MailFolderCollection::parse(&CollectionId::new(other)), None, "{other}");
        }
    }
}
