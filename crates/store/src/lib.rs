//! crmsync-store: the CRM side's persistence (SPEC §1) on SQLite or
//! PostgreSQL, through one code path (sqlx's `Any` driver, `$n` placeholders,
//! per-backend migrations in `migrations/<backend>`).
//!
//! - [`Store::connect`] / [`Store::migrate`] open and prepare a database;
//!   [`Store`] hands out one handle per concern, all on one pool:
//!   [`Store::records`], [`Store::sync_state`], [`Store::catalog`].
//! - [`Records`], the CRM: records of the seven entities: [`Records::create`],
//!   [`Records::get`], [`Records::update`] (compare-and-set on version),
//!   [`Records::set_owner`], [`Records::delete`] (keeps a [`Tombstone`]),
//!   [`Records::list`] (visibility in SQL, opaque cursor). The [`Entity`]
//!   trait ties each fields type of `crmsync-model` to its table. Every
//!   record write and its [`crmsync_model::Change`] are one transaction;
//!   [`Records::changes_since`] reads them in commit order. Lookups for
//!   sync, e-mail activities by message key ([`Records::create_email`],
//!   R-TRACK-5), users and API tokens (hash only), journal entries, sync
//!   flags. [`Records::convert_activity`] turns an activity into an
//!   opportunity, lead or case it then regards, in one transaction (R-TRACK-3).
//! - [`SyncState`], what sync knows between runs ([`status`]).
//! - [`Catalog`], the stored sync profiles and their leases.
//! - [`Store::fenced`]: the handles of a leased run, whose writes commit
//!   only while the lease holds (R-SCHED-4).
//!
//! Storage form: times are unix milliseconds, fields are JSON text with the
//! columns queries need (shared flag, folded name, e-mails, participants)
//! copied out in the same transaction.

mod changelog;
mod connect;
mod convert;
mod db;
mod email;
mod email_batch;
mod entity;
mod error;
mod handles;
mod journal;
mod leases;
mod list;
mod lookup;
mod plans;
mod profiles;
mod records;
mod sign_ins;
mod signal;
mod sql;
pub mod status;
mod sync_flags;
mod tombstone;
mod users;
mod web_sessions;

pub use changelog::MAX_CHANGES_PAGE;
pub use connect::{Backend, Store};
pub use convert::{Conversion, ConvertActivity};
pub use db::Fence;
pub use email::{EmailCreate, NewSender, NewSenderRecord};
pub use email_batch::NewTrackedEmail;
pub use entity::{Entity, Visibility};
pub use error::{Result, StoreError};
pub use handles::{Catalog, Records, SyncState};
pub use leases::{LeaseTake, RunRelease};
pub use list::{ListQuery, MAX_PAGE, Page};
pub use plans::PerRunStatement;
pub use profiles::{
    ProfileDefinitionRow, ProfileExpect, ProfileRow, ProfileSave, ProfileScheduleRow, ProfileStatusRow, ProfileUpsert,
    ScheduleState,
};
pub use sign_ins::SealedSignIn;
pub use signal::{CHANNEL as CHANGE_CHANNEL, ChangeEvents};
pub use tombstone::Tombstone;
pub use users::{TOKEN_PREFIX, hash_token};
pub use web_sessions::{NewWebSession, WebSession};
