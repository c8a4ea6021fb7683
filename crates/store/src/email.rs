//! E-mail activities by message identity (R-TRACK-5): one message is one CRM
//! e-mail, however many mailboxes track it.

use crmsync_model::{Activity, ActivityFields, ContactFields, EntityKind, LeadFields, RecordRef};
use sqlx::Row;

use crate::Records;
use crate::error::{Result, StoreError};
use crate::records::{insert_record, new_id, require_record};
use crate::sql::{RECORD_COLUMNS, dynamic, record_from_row};

/// What [`Records::create_email`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum EmailCreate {
    /// A new CRM e-mail for the message.
    Created(Activity),
    /// The message already was a CRM e-mail (another mailbox, an earlier
    /// interrupted run, a UIDVALIDITY reset): nothing was written.
    Existing(Activity),
}

/// The record an e-mail's unknown sender becomes (R-TRACK-2), stored in the
/// transaction that stores the e-mail: with it or not at all, so the sender
/// of one message is created once however many mailboxes track it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSender {
    /// The new record's id, already named by the e-mail's sender party.
    pub id: String,
    pub record: NewSenderRecord,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NewSenderRecord {
    Contact(Box<ContactFields>),
    Lead(LeadFields),
}

impl NewSender {
    /// A sender record with a fresh id.
    pub fn new(record: NewSenderRecord) -> NewSender {
        NewSender { id: new_id(), record }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        match &self.record {
            NewSenderRecord::Contact(c) => crmsync_model::Validate::validate(c.as_ref())?,
            NewSenderRecord::Lead(l) => crmsync_model::Validate::validate(l)?,
        }
        Ok(())
    }

    /// Stores the record, owned by `owner_id`, in the caller's transaction.
    pub(crate) async fn insert(self, conn: &mut sqlx::AnyConnection, owner_id: &str) -> Result<()> {
        match self.record {
            NewSenderRecord::Contact(c) => insert_record(conn, self.id, owner_id, *c).await.map(drop),
            NewSenderRecord::Lead(l) => insert_record(conn, self.id, owner_id, l).await.map(drop),
        }
    }

    pub fn record_ref(&self) -> RecordRef {
        let entity = match self.record {
            NewSenderRecord::Contact(_) => EntityKind::Contact,
            NewSenderRecord::Lead(_) => EntityKind::Lead,
        };
        RecordRef {
            entity,
            id: self.id.clone(),
        }
    }
}

impl Records {
    /// The CRM e-mail of the message with this key, if there is one.
    pub async fn email_by_message_key(&self, key: &str) -> Result<Option<Activity>> {
        let row = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM activities WHERE id = \
             (SELECT activity_id FROM email_messages WHERE message_key = $1)"
        ))
        .bind(key.to_string())
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("looking up an e-mail by message key"))?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Stores `fields` as the CRM e-mail of message `key`, owned by
    /// `owner_id`, unless the message already is one. Conditional on the key:
    /// when two runs race, the loser gets [`EmailCreate::Existing`].
    pub async fn create_email(&self, owner_id: &str, key: &str, fields: ActivityFields) -> Result<EmailCreate> {
        self.create_email_with_sender(owner_id, key, fields, None).await
    }

    /// [`Records::create_email`], storing `sender` (owned by `owner_id`) in
    /// the same transaction when the e-mail is created; when the message
    /// already is a CRM e-mail, neither is written.
    pub async fn create_email_with_sender(
        &self,
        owner_id: &str,
        key: &str,
        fields: ActivityFields,
        sender: Option<NewSender>,
    ) -> Result<EmailCreate> {
        if let Some(existing) = self.email_by_message_key(key).await? {
            return Ok(EmailCreate::Existing(existing));
        }
        crmsync_model::Validate::validate(&fields)?;
        if let Some(sender) = &sender {
            sender.validate()?;
        }
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, owner_id).await?;
        let taken = sqlx::query("SELECT activity_id FROM email_messages WHERE message_key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("looking up an e-mail by message key"))?;
        if taken.is_some() {
            drop(tx);
            return self.existing_email(key).await;
        }
        if let Some(sender) = sender {
            sender.insert(&mut tx, owner_id).await?;
        }
        let record = insert_record(&mut tx, new_id(), owner_id, fields).await?;
        let inserted = sqlx::query("INSERT INTO email_messages (message_key, activity_id) VALUES ($1, $2)")
            .bind(key)
            .bind(record.meta.id.clone())
            .execute(&mut *tx)
            .await;
        match inserted {
            Ok(_) => {}
            // PostgreSQL: another run committed the key after our check.
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                return self.existing_email(key).await;
            }
            Err(e) => return Err(StoreError::db("recording an e-mail's message key")(e)),
        }
        tx.commit().await.map_err(StoreError::db("saving a new e-mail"))?;
        self.db.announce_change();
        Ok(EmailCreate::Created(record))
    }

    async fn existing_email(&self, key: &str) -> Result<EmailCreate> {
        self.email_by_message_key(key)
            .await?
            .map(EmailCreate::Existing)
            .ok_or_else(|| StoreError::Conflict(format!("e-mail {key} changed while it was being tracked")))
    }

    /// Which of `keys` are CRM e-mails already (reply tracking, R-TRACK-4).
    pub async fn known_message_keys(&self, keys: &[String]) -> Result<Vec<String>> {
        let mut known = Vec::new();
        for key in keys {
            let row = sqlx::query("SELECT message_key FROM email_messages WHERE message_key = $1")
                .bind(key.clone())
                .fetch_optional(self.db.pool())
                .await
                .map_err(StoreError::db("looking up message keys"))?;
            if let Some(row) = row {
                known.push(
                    row.try_get::<String, _>("message_key")
                        .map_err(StoreError::db("looking up message keys"))?,
                );
            }
        }
        Ok(known)
    }
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}
