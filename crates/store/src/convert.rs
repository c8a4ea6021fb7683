//! R-TRACK-3: an activity (a tracked e-mail, appointment or task) becomes an
//! opportunity, lead or case it then regards. The new record, the activity's
//! new regarding link, both change-log entries and the conversion row are
//! one transaction: a crash or an error leaves no half-converted state.

use crmsync_model::{Activity, ActivityFields, ChangeOp, ConvertedFields, EntityKind, Record, RecordRef, Validate};
use sqlx::AnyConnection;

use crate::Records;
use crate::error::{Result, StoreError};
use crate::records::{
    current_version, insert_record, log, new_id, not_found, require_record, stale_or_missing, update_row,
};
use crate::sql::{RECORD_COLUMNS, dynamic, now_ms, record_from_row};

/// A conversion to run: the activity at the version the caller read, the
/// new record's owner and fields.
#[derive(Debug, Clone)]
pub struct ConvertActivity<'a> {
    pub activity_id: &'a str,
    pub expected_version: i64,
    pub owner_id: &'a str,
    pub fields: ConvertedFields,
    /// Link the activity to the new record even when it already regards
    /// another one (R-TRACK-3-REPLACE).
    pub replace_regarding: bool,
}

/// What [`Records::convert_activity`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversion {
    /// A new record was created and the activity now regards it.
    Created { activity: Activity, target: RecordRef },
    /// An earlier conversion of this activity to this kind created the record
    /// it still regards: nothing was written (R-TRACK-3-ONCE).
    Existing { activity: Activity, target: RecordRef },
}

impl Records {
    /// Creates the record `c.fields` describes, owned by `c.owner_id`, and
    /// sets the activity's regarding to it, only if the activity is still at
    /// `c.expected_version`. An activity that already regards a record a
    /// conversion of it to the same kind created answers with that record
    /// whatever the version (a retry of a conversion whose reply was lost);
    /// one that regards any other live record is a Conflict unless
    /// `replace_regarding`.
    pub async fn convert_activity(&self, c: ConvertActivity<'_>) -> Result<Conversion> {
        c.fields.validate()?;
        let entity = c.fields.entity();
        let mut tx = self.db.begin_write().await?;
        require_record(&mut tx, EntityKind::User, c.owner_id).await?;
        let activity = read_activity(&mut tx, c.activity_id).await?;
        if let Some(regarding) = activity.fields.regarding.clone()
            && current_version(&mut tx, regarding.entity, &regarding.id)
                .await?
                .is_some()
        {
            if regarding.entity == entity && converted(&mut tx, c.activity_id, &regarding).await? {
                drop(tx);
                return self.existing(activity, regarding).await;
            }
            if !c.replace_regarding {
                return Err(StoreError::Conflict(format!(
                    "the activity already regards {} {}; send `replace_regarding: true` to link it to the new {entity} \
                     instead (R-TRACK-3)",
                    regarding.entity, regarding.id
                )));
            }
        }
        if activity.meta.version != c.expected_version {
            return Err(StoreError::VersionConflict {
                entity: EntityKind::Activity,
                id: c.activity_id.to_owned(),
                expected: c.expected_version,
                current: activity.meta.version,
            });
        }
        let target = RecordRef { entity, id: new_id() };
        let mut fields = activity.fields;
        fields.regarding = Some(target.clone());
        // The activity's row first, the counter last: the lock order every
        // other write takes (changelog), so no deadlock with a plain update.
        let Some(meta) = update_row(&mut tx, c.activity_id, c.expected_version, &fields).await? else {
            return Err(stale_or_missing(&mut tx, EntityKind::Activity, c.activity_id, c.expected_version).await);
        };
        match c.fields {
            ConvertedFields::Opportunity(f) => insert_record(&mut tx, target.id.clone(), c.owner_id, f).await?.meta,
            ConvertedFields::Lead(f) => insert_record(&mut tx, target.id.clone(), c.owner_id, f).await?.meta,
            ConvertedFields::Case(f) => insert_record(&mut tx, target.id.clone(), c.owner_id, f).await?.meta,
        };
        log(&mut tx, EntityKind::Activity, &meta, ChangeOp::Update).await?;
        // After the counter bump only inserts of fresh keys (see changelog).
        sqlx::query(
            "INSERT INTO activity_conversions (activity_id, target_entity, target_id, converted_by, converted_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(c.activity_id)
        .bind(entity.as_str())
        .bind(target.id.clone())
        .bind(c.owner_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::db("recording a conversion"))?;
        tx.commit().await.map_err(StoreError::db("saving a conversion"))?;
        self.db.announce_change();
        let mut activity = Record { meta, fields };
        self.show_participant_status(std::slice::from_mut(&mut activity))
            .await?;
        Ok(Conversion::Created { activity, target })
    }

    async fn existing(&self, mut activity: Activity, target: RecordRef) -> Result<Conversion> {
        self.show_participant_status(std::slice::from_mut(&mut activity))
            .await?;
        Ok(Conversion::Existing { activity, target })
    }
}

async fn read_activity(conn: &mut AnyConnection, id: &str) -> Result<Activity> {
    let row = dynamic(format!("SELECT {RECORD_COLUMNS} FROM activities WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(StoreError::db("reading an activity"))?;
    match row {
        Some(row) => record_from_row::<ActivityFields>(&row),
        None => Err(not_found(EntityKind::Activity, id)),
    }
}

/// Did converting `activity_id` create `target`?
async fn converted(conn: &mut AnyConnection, activity_id: &str, target: &RecordRef) -> Result<bool> {
    let row = sqlx::query(
        "SELECT 1 AS one FROM activity_conversions WHERE activity_id = $1 AND target_entity = $2 AND target_id = $3",
    )
    .bind(activity_id)
    .bind(target.entity.as_str())
    .bind(target.id.clone())
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::db("looking up a conversion"))?;
    Ok(row.is_some())
}
