//! Whether a user may read a CRM record that sync explains (R-API-2): the
//! API and the dashboard ask the same question before explaining one.

use crmsync_model::{Access, ActivityFields, Actor, ContactFields, Record};
use crmsync_store::{Entity, Store, StoreError};

/// Whether `actor` may read the CRM record `id` (a contact or an
/// activity); `None` when no such record exists now (deleted or never was).
pub async fn record_readable(store: &Store, actor: &Actor, id: &str) -> Result<Option<bool>, StoreError> {
    async fn one<F: Entity>(store: &Store, actor: &Actor, id: &str) -> Result<Option<bool>, StoreError>
    where
        Record<F>: Access,
    {
        match store.records().get::<F>(id).await {
            Ok(r) => Ok(Some(r.readable_by(actor))),
            Err(StoreError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
    match one::<ContactFields>(store, actor, id).await? {
        Some(r) => Ok(Some(r)),
        None => one::<ActivityFields>(store, actor, id).await,
    }
}
