//! One CRM record rewritten from a `FieldMap`: the runner's CRM updates and a
//! conflict resolved with a value of its own (R-EDIT-3-THIRD) both go through
//! here, so the mapping back to a record and the account link (R-FIELD-2)
//! exist once.

use chrono::Utc;
use crmsync_engine::EntityClass;
use crmsync_model::{AccountFields, ActivityFields, ContactFields, FieldMap};
use crmsync_store::StoreError;
use crmsync_store::status::HistoryEntry;

use crate::codec::Codec;
use crate::directory::Needs;
use crate::profile::SyncProfile;
use crate::stores::RunStores;

/// What a CRM write needs: where to write, for whom, how fields map, and
/// which run (if any) a history note belongs to.
pub(crate) struct CrmWriter<'a> {
    pub store: &'a RunStores,
    pub profile: &'a SyncProfile,
    pub codec: &'a Codec<'a>,
    /// The status store's name for the collection (for history notes).
    pub collection: &'a str,
    pub run_id: Option<&'a str>,
}

impl CrmWriter<'_> {
    /// Writes `fields` over record `id` if it is still at `expected`
    /// (`StoreError::VersionConflict` otherwise); returns the new version.
    /// The store validates the result as it does any CRM edit.
    pub(crate) async fn update(&self, id: &str, expected: i64, fields: &FieldMap) -> Result<i64, StoreError> {
        let version = if self.codec.class == EntityClass::Contacts {
            let current = self.store.records().get::<ContactFields>(id).await?;
            let mut next = self.codec.contact_fields(fields, &current.fields);
            self.link_account(id, &mut next, Some(&current.fields)).await?;
            self.store.records().update(id, expected, next).await?.version()
        } else {
            let current = self.store.records().get::<ActivityFields>(id).await?;
            // The record's own participants are known only now; the
            // addresses `fields` lists usually were looked up for the batch.
            let mut needs = Needs::default();
            needs.of_activity(&current.fields);
            needs.of_fields(fields);
            self.codec.top_up(needs).await?;
            let next = self.codec.activity_fields(fields, &current.fields);
            self.store.records().update(id, expected, next).await?.version()
        };
        Ok(version)
    }

    /// R-FIELD-2: a groupware company names a CRM account; link it, creating
    /// the account when missing and the profile's user may create accounts,
    /// otherwise keep the name as text (the history notes it).
    pub(crate) async fn link_account(
        &self,
        crm_id: &str,
        contact: &mut ContactFields,
        before: Option<&ContactFields>,
    ) -> Result<(), StoreError> {
        let company = contact.company.clone().filter(|c| !c.trim().is_empty());
        if before.is_some_and(|b| b.company == contact.company) {
            return Ok(());
        }
        let Some(name) = company else {
            contact.account_id = None;
            return Ok(());
        };
        if let Some(account) = self.store.records().account_by_name(&name).await? {
            contact.account_id = Some(account.meta.id);
            return Ok(());
        }
        if self.profile.rules.accounts.create {
            let account = AccountFields {
                name,
                ..AccountFields::default()
            };
            let created = self
                .store
                .records()
                .create(&self.profile.actor.user_id, account)
                .await?;
            contact.account_id = Some(created.meta.id);
        } else {
            contact.account_id = None;
            self.store
                .sync_state()
                .add_history(&HistoryEntry {
                    profile: self.profile.name.clone(),
                    collection: self.collection.to_string(),
                    crm_id: Some(crm_id.to_string()),
                    href: None,
                    run_id: self.run_id.map(str::to_string),
                    at: Utc::now(),
                    action: "warning".into(),
                    // R-FIELD-2 is decided here, not by the engine.
                    rule: "R-FIELD-2".to_string(),
                    message: format!(
                        "company \"{name}\" kept as text: no account has that name and the user may not create accounts"
                    ),
                    detail: None,
                })
                .await?;
        }
        Ok(())
    }
}
