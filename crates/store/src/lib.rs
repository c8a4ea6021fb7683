//! crmsync-store: the CRM side's persistence (SPEC §1) on SQLite or
//! PostgreSQL, through one code path (sqlx's `Any` driver, `$n` placeholders,
//! per-backend migrations in `migrations/<backend>`).
//!
//! - [`Store::connect`] / [`Store::migrate`] open and prepare a database.
//! - Records of the five entities: [`Store::create`], [`Store::get`],
//!   [`Store::update`] (compare-and-set on version), [`Store::set_owner`],
//!   [`Store::delete`] (keeps a [`Tombstone`]), [`Store::list`] (visibility
//!   in SQL, opaque cursor). The [`Entity`] trait ties each fields type of
//!   `crmsync-model` to its table.
//! - Every record write and its [`crmsync_model::Change`] are one
//!   transaction; [`Store::changes_since`] reads them in commit order.
//! - Lookups for sync: by e-mail, account by name, a user's activities.
//! - E-mail activities by message key ([`Store::create_email`], R-TRACK-5).
//! - Users and API tokens (hash only), journal entries, sync flags.
//!
//! Storage form: times are unix milliseconds, fields are JSON text with the
//! columns queries need (shared flag, folded name, e-mails, participants)
//! copied out in the same transaction.

mod changelog;
mod connect;
mod email;
mod entity;
mod error;
mod journal;
mod leases;
mod list;
mod lookup;
mod profiles;
mod records;
mod sql;
pub mod status;
mod sync_flags;
mod tombstone;
mod users;

pub use changelog::MAX_CHANGES_PAGE;
pub use connect::{Backend, Fence, Store};
pub use email::EmailCreate;
pub use entity::{Entity, Visibility};
pub use error::{Result, StoreError};
pub use leases::{LeaseTake, RunRelease};
pub use list::{ListQuery, MAX_PAGE, Page};
pub use profiles::{
    ProfileDefinitionRow, ProfileExpect, ProfileRow, ProfileSave, ProfileStatusRow, ProfileUpsert, ScheduleState,
};
pub use tombstone::Tombstone;
pub use users::{TOKEN_PREFIX, hash_token};
