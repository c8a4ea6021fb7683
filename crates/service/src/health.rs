//! Readiness (`/readyz`): the process can do its work only while the
//! database answers. Liveness (`/healthz`) needs no check of its own.

use crmsync_store::Store;

use crate::error::ServiceError;

/// Ok when the database answers a read of the change log (the scheduler's
/// most frequent query); the error says whether waiting may help.
pub async fn readiness(store: &Store) -> Result<(), ServiceError> {
    store.records().latest_seq().await?;
    Ok(())
}
