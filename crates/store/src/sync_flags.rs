//! The per-user *synchronize* flag on contacts (R-FILTER-1: a profile takes
//! the contacts its user owns or has flagged).
//!
//! Toggling the flag logs an Update of the contact, so profiles re-evaluate
//! their filter, but does not bump the contact's version or modified_at: the
//! flag is the user's private choice, not part of the contact, and bumping
//! would make another user's concurrent edit fail its version check (see
//! R-STORE-3 in docs/RULES.md).

use std::collections::BTreeSet;

use crmsync_model::record::Id;
use crmsync_model::{Access, ChangeOp, Contact, EntityKind, Record, User};
use sqlx::AnyConnection;

use crate::Records;
use crate::changelog::{self, NewChange};
use crate::error::{Result, StoreError};
use crate::records::not_found;
use crate::sql::{RECORD_COLUMNS, dynamic, get_text, now_ms, record_from_row};

impl Records {
    /// Turns `user_id`'s synchronize flag on `contact_id` on or off. Setting it
    /// to what it already is changes and logs nothing. A user may flag only
    /// contacts they can read (R-PERM-1): otherwise [`StoreError::Forbidden`].
    pub async fn set_sync_flag(&self, user_id: &str, contact_id: &str, on: bool) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let user: User = fetch(&mut tx, EntityKind::User, user_id).await?;
        let contact: Contact = fetch(&mut tx, EntityKind::Contact, contact_id).await?;
        let actor = crmsync_model::Actor {
            user_id: user.meta.id.clone(),
            role: user.fields.role,
        };
        if on && !contact.readable_by(&actor) {
            return Err(StoreError::Forbidden(format!(
                "user {user_id} may not read contact {contact_id}, so cannot sync it"
            )));
        }
        let sql = if on {
            "INSERT INTO contact_sync_flags (user_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM contact_sync_flags WHERE user_id = $1 AND contact_id = $2"
        };
        let done = sqlx::query(sql)
            .bind(user_id)
            .bind(contact_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("setting a sync flag"))?;
        if done.rows_affected() > 0 {
            changelog::append(
                &mut tx,
                NewChange {
                    entity: EntityKind::Contact,
                    record_id: contact_id,
                    op: ChangeOp::Update,
                    version: contact.meta.version,
                    owner_id: &contact.meta.owner_id,
                    at_ms: now_ms(),
                },
            )
            .await?;
        }
        tx.commit().await.map_err(StoreError::db("saving a sync flag"))?;
        self.db.announce_change();
        Ok(())
    }

    /// The contacts `user_id` has flagged *synchronize*.
    pub async fn sync_flags(&self, user_id: &str) -> Result<BTreeSet<Id>> {
        let rows = sqlx::query("SELECT contact_id FROM contact_sync_flags WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading sync flags"))?;
        rows.iter().map(|r| get_text(r, "contact_id")).collect()
    }
}

async fn fetch<F: crate::Entity>(conn: &mut AnyConnection, entity: EntityKind, id: &str) -> Result<Record<F>> {
    let row = dynamic(format!(
        "SELECT {RECORD_COLUMNS} FROM {} WHERE id = $1",
        crate::entity::table(entity)
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::db("reading a record"))?;
    row.as_ref()
        .map(record_from_row)
        .transpose()?
        .ok_or_else(|| not_found(entity, id))
}
