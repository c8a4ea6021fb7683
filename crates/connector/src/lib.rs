//! The connector side of crmsync: the [`Connector`] trait every groupware
//! connector (CardDAV/CalDAV, IMAP, Microsoft Graph, vdir) implements, the types
//! it speaks, a reference in-memory connector ([`memory::MemoryConnector`]) for
//! model-based tests, a [`conformance`] suite every connector must pass, and
//! [`Forward`], the base of connectors that wrap another to change a few of
//! its calls (test doubles, the bench's counting connector).
//!
//! The sync engine knows nothing of this crate: the runner translates between
//! connector items and the engine's plans.

pub mod choice;
pub mod collection;
pub mod config;
pub mod conformance;
pub mod connector;
pub mod error;
pub mod forward;
pub mod ids;
pub mod item;
pub mod mail;
pub mod mail_tracking;
pub mod memory;
pub mod push;
pub mod reach;
pub mod secret;
pub mod secret_source;
pub mod token_vault;

pub use choice::{CollectionChoice, FieldLimits};
pub use collection::{Collection, CollectionKind, ContentType, VCardVersion};
pub use config::{
    ConnectorConfig, InvalidSetting, OpenError, OpenOptions, OpenedMail, OpenedSubscriptions, OpenedWatch,
};
pub use connector::Connector;
pub use error::ConnectorError;
pub use forward::Forward;
pub use ids::{CollectionId, Etag, Href, SyncToken};
pub use item::{ChangeSet, Fetched, FetchedItem, ItemFailure, ItemMeta};
pub use mail::{
    FolderPoll, FolderPosition, MailSource, MailWake, MailWatch, MarkOutcome, MessageFlags, RawMessage, ThreadHeaders,
};
pub use mail_tracking::{MailTracking, UnknownSender};
pub use push::{
    BadNotification, ChangeSubscriptions, MailFolderCollection, Notice, NoticeKind, NotifyTarget, ServerSubscription,
};
pub use reach::{AllowList, BadAllowEntry, Reach};
pub use secret::{Credentials, Secret};
pub use secret_source::{SecretError, SecretSource};
pub use token_vault::{MemoryVault, TokenVault, VaultError, VaultHandle, VaultToken};
