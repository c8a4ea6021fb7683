//! The lookups sync needs: the user a profile names (R-SYNC-PERF-8),
//! pairing by e-mail (R-PAIR-1), matching attendees
//! (R-CAL-2), linking a company name to its account (R-FIELD-2), and the
//! default activity filter (R-FILTER-1).

use std::collections::HashMap;

use crmsync_model::{Account, Activity, Contact, EntityKind, Lead, Record, User};

use crate::Records;
use crate::entity::{Entity, fold, table};
use crate::error::{Result, StoreError};
use crate::sql::{RECORD_COLUMNS, dynamic, record_from_row};

impl Records {
    /// Contacts with `email` as any of their addresses, ignoring case; oldest first.
    pub async fn contacts_by_email(&self, email: &str) -> Result<Vec<Contact>> {
        self.by_email(email).await
    }

    /// Leads with `email`, ignoring case; oldest first (R-TRACK-6).
    pub async fn leads_by_email(&self, email: &str) -> Result<Vec<Lead>> {
        self.by_email(email).await
    }

    /// Users with `email`, ignoring case; oldest first.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<User>> {
        self.by_email(email).await
    }

    /// [`Records::contacts_by_email`] for many addresses at once (the
    /// parties of a chunk of tracked e-mails): by folded address, each list
    /// oldest first; addresses with none are left out.
    pub async fn contacts_by_emails(&self, emails: &[String]) -> Result<HashMap<String, Vec<Contact>>> {
        self.by_emails(emails).await
    }

    /// [`Records::leads_by_email`] for many addresses at once.
    pub async fn leads_by_emails(&self, emails: &[String]) -> Result<HashMap<String, Vec<Lead>>> {
        self.by_emails(emails).await
    }

    /// [`Records::users_by_email`] for many addresses at once.
    pub async fn users_by_emails(&self, emails: &[String]) -> Result<HashMap<String, Vec<User>>> {
        self.by_emails(emails).await
    }

    /// The users a profile's `user = "…"` may mean, in one query
    /// (R-SYNC-PERF-8): the one whose id is `who` and the one whose name is
    /// `who` ignoring case and surrounding blanks (names are unique so,
    /// R-API-16); at most two rows. The caller picks: an id before a name.
    pub async fn users_by_id_or_name(&self, who: &str) -> Result<Vec<User>> {
        let rows = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM {t} WHERE id = $1 OR name_key = $2",
            t = table(EntityKind::User)
        ))
        .bind(who.to_string())
        .bind(fold(who))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("looking up a user by id or name"))?;
        rows.iter().map(record_from_row).collect()
    }

    /// The account called `name`, ignoring case and surrounding blanks. When
    /// several share the name, the oldest: the same answer every time.
    pub async fn account_by_name(&self, name: &str) -> Result<Option<Account>> {
        let row = dynamic(format!(
            // Oldest first; two accounts made in the same millisecond are told
            // apart by the change-log sequence of their creation, which is in
            // commit order (a random UUID would make the choice arbitrary).
            "SELECT {RECORD_COLUMNS} FROM {t} WHERE name_key = $1 ORDER BY created_at, \
             (SELECT MIN(c.seq) FROM changes c WHERE c.entity = 'account' AND c.record_id = {t}.id), id LIMIT 1",
            t = table(EntityKind::Account)
        ))
        .bind(fold(name))
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::db("looking up an account by name"))?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Activities `user_id` owns or is an invited participant of: the default
    /// activity filter of R-FILTER-1, as one query. Ordered by (modified_at, id).
    pub async fn activities_for_user(&self, user_id: &str) -> Result<Vec<Activity>> {
        let rows = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM activities WHERE owner_id = $1 OR EXISTS (\
               SELECT 1 FROM activity_participants p WHERE p.activity_id = activities.id \
               AND p.kind = 'user' AND p.party_id = $1 AND p.invite = 1) \
             ORDER BY modified_at, id"
        ))
        .bind(user_id.to_string())
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("listing a user's activities"))?;
        rows.iter().map(record_from_row).collect()
    }

    /// One page of [`Records::activities_for_user`] in id order: the first
    /// `limit` with an id after `after`. A caller that must not hold every
    /// activity at once (a streamed first sync) pages with the last id seen.
    pub async fn activities_for_user_page(
        &self,
        user_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Activity>> {
        let rows = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM activities WHERE id > $2 AND (owner_id = $1 OR EXISTS (\
               SELECT 1 FROM activity_participants p WHERE p.activity_id = activities.id \
               AND p.kind = 'user' AND p.party_id = $1 AND p.invite = 1)) \
             ORDER BY id LIMIT $3"
        ))
        .bind(user_id.to_string())
        .bind(after.unwrap_or("").to_string())
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("listing a user's activities"))?;
        rows.iter().map(record_from_row).collect()
    }

    async fn by_email<F: Entity>(&self, email: &str) -> Result<Vec<Record<F>>> {
        let rows = dynamic(format!(
            "SELECT {RECORD_COLUMNS} FROM {} WHERE id IN (\
               SELECT record_id FROM record_emails WHERE entity = $1 AND email = $2) \
             ORDER BY created_at, id",
            table(F::KIND)
        ))
        .bind(F::KIND.as_str())
        .bind(fold(email))
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::db("looking up records by e-mail"))?;
        rows.iter().map(record_from_row).collect()
    }

    async fn by_emails<F: Entity>(&self, emails: &[String]) -> Result<HashMap<String, Vec<Record<F>>>> {
        /// Addresses per `IN (…)`: far below every backend's parameter limit.
        const PER_QUERY: usize = 200;
        let mut folded: Vec<String> = emails.iter().map(|e| fold(e)).filter(|e| !e.is_empty()).collect();
        folded.sort();
        folded.dedup();
        let mut out: HashMap<String, Vec<Record<F>>> = HashMap::new();
        for chunk in folded.chunks(PER_QUERY) {
            let marks: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let mut query = dynamic(format!(
                "SELECT e.email AS matched, r.id, r.owner_id, r.created_at, r.modified_at, r.version, r.data \
                 FROM {} r JOIN record_emails e ON e.record_id = r.id AND e.entity = $1 \
                 WHERE e.email IN ({}) ORDER BY r.created_at, r.id",
                table(F::KIND),
                marks.join(", ")
            ))
            .bind(F::KIND.as_str());
            for email in chunk {
                query = query.bind(email.clone());
            }
            let rows = query
                .fetch_all(self.db.pool())
                .await
                .map_err(StoreError::db("looking up records by e-mail"))?;
            for row in &rows {
                let matched = crate::sql::get_text(row, "matched")?;
                out.entry(matched).or_default().push(record_from_row(row)?);
            }
        }
        Ok(out)
    }
}
