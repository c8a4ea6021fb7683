//! crmsync's Microsoft Graph connector (v1.0, reqwest + serde, no SDK):
//! contacts of a contact folder, events of a calendar (through
//! `calendarView/delta` within the calendar window), To Do tasks of a
//! list and tracked mail ([`GraphMail`], messages delta per folder), for one mailbox, signed in app-only with client credentials (a
//! secret or a certificate) or delegated for one user ([`sign_in`] with a
//! device code, then refresh tokens).
//!
//! Item bodies are Graph JSON as the server returns it (the mapping crate
//! reads and writes it, `crmsync_mapping::graph`); an update's body is a
//! PATCH of the changed properties only, so properties crmsync does not map
//! are never touched (R-MAP-6). Writes carry `If-Match` with the item's
//! `@odata.etag`; 412 is [`crmsync_connector::ConnectorError::PreconditionFailed`]
//! (R-SAFE-2). The sync token is the `@odata.deltaLink` URL; a token the
//! server no longer knows (410 Gone, `syncStateNotFound`) gives a complete
//! listing, which the runner pairs by UID, so nothing is created twice.

mod assertion;
mod batch;
mod clock;
mod config;
mod connector;
mod delegated;
mod delta;
mod device;
mod error;
mod folder;
mod http;
mod known_uids;
mod mail;
mod push;
mod reach;
mod series;
mod subscription;
mod token;
mod uid;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{DELEGATED_SCOPES, GLOBAL_AUTHORITY, GLOBAL_BASE_URL, GraphAuth, GraphConfig, MAX_CONCURRENCY};
pub use connector::GraphConnector;
pub use device::sign_in;
pub use error::GraphError;
pub use http::PREFER_IMMUTABLE_ID;
pub use mail::{GraphMail, uid_of, uid_validity_of};
pub use push::read_notifications;
pub use subscription::{MAX_SUBSCRIPTION_MINUTES, NotificationTarget, Subscription};
pub use uid::{EXTENSION_NAME, UID_PROPERTY};
