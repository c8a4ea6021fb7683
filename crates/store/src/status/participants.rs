//! R-CAL-3-STATUS: each participant's sync status, kept beside the activity
//! rather than in it. The profile of a participant's user writes one row per
//! appointment it keeps in that user's calendar; reads of an activity show
//! the rows on its participants. A status write is therefore no update of
//! the record: its version (the API's ETag) stays and the change log, which
//! wakes every participant's profile (R-SCHED-2), does not hear of it.

use std::collections::{BTreeMap, HashMap};

use crmsync_model::{EntityKind, Participant, ParticipantSyncStatus, PartyKind, Record};

use super::columns::{TextColumn, get_enum};
use crate::entity::Entity;
use crate::error::{Result, StoreError};
use crate::sql::{Arg, Sql, get_text, now_ms};
use crate::{Records, SyncState};

/// How far sync got, for choosing what to show when several profiles of one
/// user keep the same appointment: the furthest wins.
fn progress(status: ParticipantSyncStatus) -> u8 {
    match status {
        ParticipantSyncStatus::NotSynced | ParticipantSyncStatus::Pending => 0,
        ParticipantSyncStatus::Sent => 1,
        ParticipantSyncStatus::Synchronized => 2,
    }
}

impl SyncState {
    /// The status a profile wrote, per activity id.
    pub async fn participant_statuses(&self, profile: &str) -> Result<BTreeMap<String, ParticipantSyncStatus>> {
        let rows = sqlx::query("SELECT activity_id, status FROM sync_participant_status WHERE profile = $1")
            .bind(profile)
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading participant status"))?;
        rows.iter()
            .map(|r| Ok((get_text(r, "activity_id")?, get_enum(r, "status")?)))
            .collect()
    }

    /// Sets (`Some`) or forgets (`None`) the status of `user_id`, the
    /// profile's user, on each activity, in one transaction.
    pub async fn set_participant_statuses(
        &self,
        profile: &str,
        user_id: &str,
        changes: &[(String, Option<ParticipantSyncStatus>)],
    ) -> Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        const CONTEXT: &str = "saving participant status";
        let mut tx = self.db.begin_write().await?;
        for (activity_id, status) in changes {
            let query = match status {
                Some(status) => sqlx::query(
                    "INSERT INTO sync_participant_status (profile, activity_id, user_id, status, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (profile, activity_id) \
                     DO UPDATE SET user_id = excluded.user_id, status = excluded.status, updated_at = excluded.updated_at",
                )
                .bind(profile)
                .bind(activity_id.as_str())
                .bind(user_id)
                .bind(status.as_text())
                .bind(now_ms()),
                None => sqlx::query("DELETE FROM sync_participant_status WHERE profile = $1 AND activity_id = $2")
                    .bind(profile)
                    .bind(activity_id.as_str()),
            };
            query.execute(&mut *tx).await.map_err(StoreError::db(CONTEXT))?;
        }
        tx.commit().await.map_err(StoreError::db(CONTEXT))
    }
}

impl Records {
    /// Shows each participant's sync status on activities just read: a user
    /// the status their profiles wrote (`pending` without one when invited),
    /// anyone else `not_synced`. What a client stored there is not kept:
    /// crmsync alone maintains it.
    pub(crate) async fn show_participant_status<F: Entity>(&self, records: &mut [Record<F>]) -> Result<()> {
        if F::KIND != EntityKind::Activity || records.is_empty() {
            return Ok(());
        }
        let mut sql =
            Sql::new("SELECT activity_id, user_id, status FROM sync_participant_status WHERE activity_id IN (");
        for (i, r) in records.iter().enumerate() {
            let p = sql.arg(Arg::Text(r.meta.id.clone()));
            sql.push(if i == 0 { "" } else { ", " }).push(&p);
        }
        sql.push(")");
        let rows = sql
            .query(self.db.backend())
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::db("reading participant status"))?;
        let mut written: HashMap<(String, String), ParticipantSyncStatus> = HashMap::new();
        for row in &rows {
            let key = (get_text(row, "activity_id")?, get_text(row, "user_id")?);
            let status: ParticipantSyncStatus = get_enum(row, "status")?;
            let shown = written.entry(key).or_insert(status);
            if progress(status) > progress(*shown) {
                *shown = status;
            }
        }
        for record in records {
            let id = record.meta.id.clone();
            let Some(participants) = record.fields.participants_mut() else {
                continue;
            };
            for p in participants {
                p.sync_status = shown(p, |user| written.get(&(id.clone(), user.to_string())).copied());
            }
        }
        Ok(())
    }
}

/// A user's profile may keep an appointment it owns without the invite flag
/// (R-FILTER-1): what it wrote is shown all the same.
fn shown(p: &Participant, written: impl Fn(&str) -> Option<ParticipantSyncStatus>) -> ParticipantSyncStatus {
    let user = p.party.id.as_deref().filter(|_| p.party.kind == PartyKind::User);
    match user.and_then(written) {
        Some(status) => status,
        None if user.is_some() && p.invite => ParticipantSyncStatus::Pending,
        None => ParticipantSyncStatus::NotSynced,
    }
}
