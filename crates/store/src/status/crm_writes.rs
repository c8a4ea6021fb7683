//! CRM writes that sync needs beyond the API's: creating a record under an id
//! chosen (and journaled) before the write, so a crash between the write and
//! the status commit is recognised on re-run instead of creating it twice.

use crmsync_model::{EntityKind, Record};

use crate::Records;
use crate::entity::Entity;
use crate::error::{Result, StoreError};
use crate::records::{insert_record, require_record};

impl Records {
    /// Creates a record under `id`. When a record with that id already exists
    /// (an earlier attempt got through), returns it unchanged: the call is
    /// idempotent (R-SAFE-2).
    pub async fn create_with_id<F: Entity>(&self, id: &str, owner_id: &str, fields: F) -> Result<Record<F>> {
        fields.validate()?;
        match self.get::<F>(id).await {
            Ok(existing) => return Ok(existing),
            Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, owner_id).await?;
        match insert_record(&mut tx, id.to_string(), owner_id, fields).await {
            Ok(record) => {
                tx.commit().await.map_err(StoreError::db("saving a new record"))?;
                self.db.announce_change();
                Ok(record)
            }
            // Lost a race with another writer of the same id: theirs stands.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                self.get::<F>(id).await
            }
            Err(e) => Err(e),
        }
    }
}
