use std::collections::BTreeSet;

use crate::SyncState;
use crate::error::{Result, StoreError};
use crate::sql::{get_text, now_ms};

/// The members of duplicates groups someone chose to keep apart (R-PAIR-2):
/// CRM record ids and groupware hrefs first-sync matching leaves out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeptApart {
    pub crm_ids: BTreeSet<String>,
    pub hrefs: BTreeSet<String>,
}

impl SyncState {
    /// Records that these records and items are not the same, so matching
    /// never joins them (nor reports them) again.
    pub async fn keep_apart(
        &self,
        profile: &str,
        collection: &str,
        crm_ids: &[String],
        hrefs: &[String],
    ) -> Result<()> {
        let mut tx = self.db.begin_write().await?;
        let members = crm_ids
            .iter()
            .map(|m| ("crm", m))
            .chain(hrefs.iter().map(|m| ("groupware", m)));
        for (side, member) in members {
            sqlx::query(
                "INSERT INTO sync_kept_apart (profile, collection, side, member, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (profile, collection, side, member) DO NOTHING",
            )
            .bind(profile)
            .bind(collection)
            .bind(side)
            .bind(member)
            .bind(now_ms())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("keeping duplicates apart"))?;
        }
        tx.commit().await.map_err(StoreError::db("keeping duplicates apart"))?;
        Ok(())
    }

    /// What a collection's matching leaves out.
    pub async fn kept_apart(&self, profile: &str, collection: &str) -> Result<KeptApart> {
        let rows = sqlx::query("SELECT side, member FROM sync_kept_apart WHERE profile = $1 AND collection = $2")
            .bind(profile)
            .bind(collection)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading duplicates kept apart"))?;
        let mut out = KeptApart::default();
        for r in &rows {
            let member = get_text(r, "member")?;
            if get_text(r, "side")? == "crm" {
                out.crm_ids.insert(member);
            } else {
                out.hrefs.insert(member);
            }
        }
        Ok(out)
    }
}
