//! R-TRACK-3: converting a tracked e-mail, appointment or task into an
//! opportunity, lead or case, for the API and the CLI alike. [`prepare`]
//! checks who asks and builds the new record; [`Prepared::commit`] has the
//! store create it and link the activity in one transaction.

use crmsync_model::{
    Access, Activity, ActivityFields, Actor, CaseFields, ContactFields, ConvertTarget, ConvertedFields, EntityKind,
    LeadFields, OpportunityFields, RecordRef, Validate,
};
use crmsync_store::{Conversion, ConvertActivity, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What to convert an activity into.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ConvertRequest {
    pub to: ConvertTarget,
    /// Values of the new record laid over what is taken from the activity
    /// (title from the subject, description, the one contact and its
    /// account; a lead's name and e-mail from the one outside party), named
    /// as in the target's create body.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub fields: Option<Map<String, Value>>,
    /// Link the activity to the new record although it already regards
    /// another one (else 409).
    #[serde(default)]
    pub replace_regarding: bool,
}

/// Why a conversion was refused before the store was asked.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// No such activity, or one the caller may not read (R-API-2: the same answer).
    #[error("no activity {0} that you may read")]
    NotFound(String),
    #[error("only the owner or an admin may change this activity (and so convert it)")]
    Forbidden,
    /// A value in `fields` of the wrong type; fix the request.
    #[error("{field}: {message}")]
    BadValue { field: String, message: String },
    /// The new record would be invalid; set the field in `fields`.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conversion checked and ready to be written.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The activity as read (its version is the one a caller without a
    /// version of its own converts against).
    pub activity: Activity,
    pub fields: ConvertedFields,
    pub replace_regarding: bool,
}

/// The activity `actor` wants to convert, if they may change it.
pub async fn convertible(store: &Store, actor: &Actor, activity_id: &str) -> Result<Activity, ConvertError> {
    let activity = match store.records().get::<ActivityFields>(activity_id).await {
        Ok(a) if a.readable_by(actor) => a,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(ConvertError::NotFound(activity_id.to_owned())),
        Err(e) => return Err(e.into()),
    };
    if activity.writable_by(actor) {
        Ok(activity)
    } else {
        Err(ConvertError::Forbidden)
    }
}

/// Builds the new record from the activity with `request.fields` laid over
/// it (R-TRACK-3-DRAFT) and checks it.
pub async fn prepare(store: &Store, activity: Activity, request: ConvertRequest) -> Result<Prepared, ConvertError> {
    let account = concerned_account(store, &activity.fields).await?;
    let draft = ConvertedFields::draft(request.to, &activity.fields, account);
    let fields = overlay(draft, request.fields.unwrap_or_default())?;
    fields.validate().map_err(|e| ConvertError::Invalid {
        field: format!("fields.{}", e.field),
        message: format!("{} (the new record's value; set it in `fields`)", e.message),
    })?;
    Ok(Prepared {
        activity,
        fields,
        replace_regarding: request.replace_regarding,
    })
}

impl Prepared {
    /// Creates the record owned by `owner_id` and makes the activity regard
    /// it, if the activity is still at `expected_version`.
    pub async fn commit(self, store: &Store, expected_version: i64, owner_id: &str) -> Result<Conversion, StoreError> {
        store
            .records()
            .convert_activity(ConvertActivity {
                activity_id: &self.activity.meta.id,
                expected_version,
                owner_id,
                fields: self.fields,
                replace_regarding: self.replace_regarding,
            })
            .await
    }
}

/// The account the new record concerns: the one the activity regards, else
/// the account of the one contact it involves.
async fn concerned_account(store: &Store, activity: &ActivityFields) -> Result<Option<String>, StoreError> {
    if let Some(RecordRef {
        entity: EntityKind::Account,
        id,
    }) = &activity.regarding
    {
        return Ok(Some(id.clone()));
    }
    let Some(contact) = crmsync_model::convert::single_contact(activity) else {
        return Ok(None);
    };
    match store.records().get::<ContactFields>(&contact).await {
        Ok(c) => Ok(c.fields.account_id),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The draft with the caller's values laid over it, key by key.
fn overlay(draft: ConvertedFields, values: Map<String, Value>) -> Result<ConvertedFields, ConvertError> {
    Ok(match draft {
        ConvertedFields::Opportunity(f) => ConvertedFields::Opportunity(overlay_one::<OpportunityFields>(&f, values)?),
        ConvertedFields::Lead(f) => ConvertedFields::Lead(overlay_one::<LeadFields>(&f, values)?),
        ConvertedFields::Case(f) => ConvertedFields::Case(overlay_one::<CaseFields>(&f, values)?),
    })
}

fn overlay_one<F: Serialize + DeserializeOwned>(draft: &F, values: Map<String, Value>) -> Result<F, ConvertError> {
    let mut merged = match serde_json::to_value(draft) {
        Ok(Value::Object(map)) => map,
        // The fields types are structs: they serialize as objects.
        _ => Map::new(),
    };
    merged.extend(values);
    serde_path_to_error::deserialize(Value::Object(merged)).map_err(|e| ConvertError::BadValue {
        field: format!("fields.{}", e.path()),
        message: e.into_inner().to_string(),
    })
}
