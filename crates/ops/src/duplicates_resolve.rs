//! Resolving a group of the duplicates report (R-PAIR-2), by choice: link a
//! chosen CRM record to a chosen item, or keep the group's records and items
//! apart for good. Each choice is recorded in the history (R-OPS-16).

use chrono::Utc;
use crmsync_engine::{DuplicateGroup, Origin, PairState, RuleId};
use crmsync_model::FieldMap;
use crmsync_store::status::{HistoryEntry, PairRow};
use crmsync_store::{StoreError, SyncState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::reset::check_collection;

#[derive(Debug, thiserror::Error)]
pub enum ResolveDuplicatesError {
    #[error("{0}")]
    UnknownCollection(String),
    #[error(
        "the latest duplicates report of {profile}/{collection} has no group with {what}: list it with \
         `crmsync duplicates --profile {profile}` (a sync may have resolved it meanwhile)"
    )]
    NotInReport {
        profile: String,
        collection: String,
        what: String,
    },
    #[error("{what} is paired already in {profile}/{collection}: reset it first if the pair is wrong")]
    AlreadyPaired {
        profile: String,
        collection: String,
        what: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a resolution did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DuplicatesResolution {
    pub profile: String,
    pub collection: String,
    /// `linked` or `kept_apart`.
    pub resolution: String,
    pub crm_ids: Vec<String>,
    pub hrefs: Vec<String>,
    /// What the next sync does, in words.
    pub next: String,
}

async fn group_with(
    state: &SyncState,
    profile: &str,
    collection: &str,
    what: String,
    has: impl Fn(&DuplicateGroup) -> bool,
) -> Result<DuplicateGroup, ResolveDuplicatesError> {
    check_collection(collection).map_err(ResolveDuplicatesError::UnknownCollection)?;
    let report = crate::duplicates::read(state, profile).await?;
    report
        .collections
        .into_iter()
        .filter(|c| c.collection == collection)
        .flat_map(|c| c.groups)
        .find(|g| has(g))
        .ok_or_else(|| ResolveDuplicatesError::NotInReport {
            profile: profile.to_string(),
            collection: collection.to_string(),
            what,
        })
}

/// Links `record_id` and `href` of one reported group: a pair with nothing
/// agreed yet, so the next sync treats them as matched at a first sync
/// (R-ENG-7): a field one side holds alone is copied, fields held
/// differently are a conflict under the profile's policy.
pub async fn link(
    state: &SyncState,
    profile: &str,
    collection: &str,
    record_id: &str,
    href: &str,
) -> Result<DuplicatesResolution, ResolveDuplicatesError> {
    let what = format!("CRM record {record_id} and item {href}");
    group_with(state, profile, collection, what, |g| {
        g.crm_ids.iter().any(|c| c == record_id) && g.hrefs.iter().any(|h| h == href)
    })
    .await?;
    let pairs = state.pairs(profile, collection).await?;
    for (taken, what) in [
        (
            pairs.iter().any(|p| p.crm_id == record_id),
            format!("CRM record {record_id}"),
        ),
        (pairs.iter().any(|p| p.href == href), format!("item {href}")),
    ] {
        if taken {
            return Err(ResolveDuplicatesError::AlreadyPaired {
                profile: profile.to_string(),
                collection: collection.to_string(),
                what,
            });
        }
    }
    let now = Utc::now();
    state
        .save_pair(&PairRow {
            id: uuid::Uuid::new_v4().to_string(),
            profile: profile.to_string(),
            collection: collection.to_string(),
            crm_id: record_id.to_string(),
            href: href.to_string(),
            // Unknown: the next sync reads both sides in full.
            etag: String::new(),
            uid: None,
            crm_version: 0,
            // A pair found by matching counts as groupware-origin (R-ENG-2).
            origin: Origin::Groupware,
            state: PairState::Live,
            base: FieldMap::default(),
            facts: None,
            raw: None,
            updated_at: now,
        })
        .await?;
    state.forget_cursor(profile, collection).await?;
    let message = format!("linked by choice to {href} (R-PAIR-2); the next sync merges them as at a first sync");
    state
        .add_history(&history(
            profile,
            collection,
            Some(record_id),
            Some(href),
            "status pair",
            message,
        ))
        .await?;
    Ok(DuplicatesResolution {
        profile: profile.to_string(),
        collection: collection.to_string(),
        resolution: "linked".into(),
        crm_ids: vec![record_id.to_string()],
        hrefs: vec![href.to_string()],
        next: "the next sync merges the record and the item field by field as at a first sync: a field one side \
               holds alone is copied, fields held differently are a conflict under the profile's policy (R-ENG-7); \
               the group's other members are synced on their own"
            .into(),
    })
}

/// Keeps every record and item of the group holding `member` (a CRM record
/// id or an href) apart: matching leaves them out from now on, so each
/// syncs on its own and the group is never reported again.
pub async fn keep_apart(
    state: &SyncState,
    profile: &str,
    collection: &str,
    member: &str,
) -> Result<DuplicatesResolution, ResolveDuplicatesError> {
    let group = group_with(state, profile, collection, member.to_string(), |g| {
        g.crm_ids.iter().chain(g.hrefs.iter()).any(|m| m == member)
    })
    .await?;
    state
        .keep_apart(profile, collection, &group.crm_ids, &group.hrefs)
        .await?;
    let others = |me: &str| {
        group
            .crm_ids
            .iter()
            .chain(group.hrefs.iter())
            .filter(|m| *m != me)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    for id in &group.crm_ids {
        let message = format!("kept apart by choice from {} (R-PAIR-2): synced on its own", others(id));
        state
            .add_history(&history(
                profile,
                collection,
                Some(id),
                None,
                "status keep-apart",
                message,
            ))
            .await?;
    }
    for href in &group.hrefs {
        let message = format!(
            "kept apart by choice from {} (R-PAIR-2): synced on its own",
            others(href)
        );
        state
            .add_history(&history(
                profile,
                collection,
                None,
                Some(href),
                "status keep-apart",
                message,
            ))
            .await?;
    }
    Ok(DuplicatesResolution {
        profile: profile.to_string(),
        collection: collection.to_string(),
        resolution: "kept_apart".into(),
        crm_ids: group.crm_ids,
        hrefs: group.hrefs,
        next: "the next sync syncs each record and item on its own: a CRM record gets its own groupware item, an \
               item its own CRM record; the group is not reported again"
            .into(),
    })
}

fn history(
    profile: &str,
    collection: &str,
    crm_id: Option<&str>,
    href: Option<&str>,
    action: &str,
    message: String,
) -> HistoryEntry {
    HistoryEntry {
        profile: profile.to_string(),
        collection: collection.to_string(),
        crm_id: crm_id.map(str::to_string),
        href: href.map(str::to_string),
        run_id: None,
        at: Utc::now(),
        action: action.to_string(),
        rule: RuleId::Pair2.as_str().to_string(),
        message,
        detail: None,
    }
}

impl std::fmt::Display for DuplicatesResolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let members = self
            .crm_ids
            .iter()
            .map(|c| format!("CRM {c}"))
            .chain(self.hrefs.iter().map(|h| format!("groupware {h}")))
            .collect::<Vec<_>>()
            .join(", ");
        let done = if self.resolution == "linked" {
            "linked"
        } else {
            "kept apart"
        };
        writeln!(f, "profile {} ({}): {done}: {members}", self.profile, self.collection)?;
        writeln!(f, "  {}", self.next)
    }
}
