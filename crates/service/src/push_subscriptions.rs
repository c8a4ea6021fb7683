//! Push from the groupware server by change notification subscriptions
//! (R-SCHED-2, R-GRAPH-11..15): for every enabled push profile whose connector
//! kind offers them (`ConnectorSpec::open_subscriptions`, Microsoft Graph),
//! the scheduler holds one subscription per synced collection and per mail
//! folder its tracked mail polls (R-GRAPH-44), pointing at
//! `{server.public_url}/api/v1/push/{token}`. It creates them, renews them
//! before they expire (on the injected clock), deletes them when the
//! profile is disabled, turns push off or `public_url` is cleared, and
//! creates again those the server dropped.
//!
//! Each subscription has its own URL token and clientState, both random
//! and stored only as hashes (`crmsync_store::status::PushSubscriptionRow`).
//! A notification counts only when its subscription id and clientState
//! match the row its URL names ([`ProfileCatalog::receive_notifications`]);
//! anything else is answered but runs nothing and is counted.
//!
//! Only the holder of a profile's lease changes its subscriptions: a pass
//! takes the lease as a manual run does (`run_holding_lease`), skips a
//! profile whose lease someone else holds (its run is on; the next pass
//! comes soon), and writes through the lease's fence (R-SCHED-4).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use crmsync_connector::{
    ChangeSubscriptions, Collection, ConnectorError, MailFolderCollection, NoticeKind, NotifyTarget, OpenOptions,
    Secret,
};
use crmsync_store::status::PushSubscriptionRow;
use crmsync_store::{ProfileRow, Store, hash_token};

use crate::catalog::ProfileCatalog;
use crate::error::ServiceError;
use crate::manual_run::run_holding_lease;
use crate::profile_api::new_push_token;
use crate::scheduler::Scheduler;

/// `[server] public_url` and how often the subscriptions are compared with
/// the stored profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionSettings {
    /// Where groupware servers reach this API, without a trailing `/`;
    /// `None`: no subscriptions (and those held are deleted).
    pub public_url: Option<String>,
    pub refresh: Duration,
}

impl Default for SubscriptionSettings {
    fn default() -> Self {
        SubscriptionSettings {
            public_url: None,
            refresh: Duration::from_secs(60),
        }
    }
}

impl SubscriptionSettings {
    /// From `server.public_url` (checked by the config crate); empty: off.
    pub fn with_public_url(public_url: &str) -> SubscriptionSettings {
        let url = public_url.trim().trim_end_matches('/');
        SubscriptionSettings {
            public_url: (!url.is_empty()).then(|| url.to_string()),
            ..SubscriptionSettings::default()
        }
    }
}

/// What one [`Scheduler::refresh_subscriptions`] did, as (profile, collection).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionReport {
    pub created: Vec<(String, String)>,
    pub renewed: Vec<(String, String)>,
    pub deleted: Vec<(String, String)>,
    /// Calls the server refused or that did not get through; tried again
    /// at the next pass.
    pub failed: Vec<(String, String)>,
    /// Profiles left alone because another worker (or a run) held the lease.
    pub busy: Vec<String>,
}

/// What a notification delivery asked for, once checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Received {
    /// Run the profile (a change, missed notifications, a dropped subscription).
    pub run: bool,
    /// The subscription must be renewed or created again now.
    pub resubscribe: bool,
    /// Notifications whose subscription id or clientState did not match.
    pub rejected: u64,
}

/// What became of one wanted subscription.
enum Done {
    Created,
    Renewed,
}

/// The subscriptions a pass wants for one profile, and what it holds.
struct ProfileWork {
    profile: String,
    subscriptions: Arc<dyn ChangeSubscriptions>,
    wanted: BTreeSet<String>,
    stored: Vec<PushSubscriptionRow>,
}

impl ProfileWork {
    /// Whether anything is to be done at `now`, so a quiet profile's lease
    /// is not taken at every pass.
    fn due(&self, now: DateTime<Utc>) -> bool {
        let stored: BTreeSet<&str> = self.stored.iter().map(|r| r.collection.as_str()).collect();
        self.wanted.iter().any(|c| !stored.contains(c.as_str()))
            || self.stored.iter().any(|r| {
                !self.wanted.contains(&r.collection)
                    || r.subscription_id.is_none()
                    || r.renew_at.is_none_or(|at| at <= now)
            })
    }
}

impl Scheduler {
    /// Compares the held subscriptions with the stored profiles and brings
    /// them in line: see the module docs.
    pub async fn refresh_subscriptions(&self) -> Result<SubscriptionReport, ServiceError> {
        let catalog = self.catalog();
        let store = catalog.store();
        let now = self.clock().now();
        let mut report = SubscriptionReport::default();
        let rows = store.catalog().profile_rows(None).await?;
        let stored = store.sync_state().push_subscriptions(None).await?;
        let public = self.subscription_settings().public_url.is_some();
        let mut names: BTreeSet<&str> = rows.iter().map(|r| r.definition.name.as_str()).collect();
        names.extend(stored.iter().map(|r| r.profile.as_str()));
        for name in names {
            let held: Vec<PushSubscriptionRow> = stored.iter().filter(|r| r.profile == name).cloned().collect();
            if !public && held.is_empty() {
                continue;
            }
            let Some(row) = rows.iter().find(|r| r.definition.name == name) else {
                // Deleted: its credentials went with it (the API's delete
                // ends the subscriptions first). What is left lapses on the
                // server; its notifications find no row.
                for r in held {
                    store.sync_state().forget_push_subscription(name, &r.collection).await?;
                    report.deleted.push((r.profile, r.collection));
                }
                continue;
            };
            let holds = !held.is_empty();
            let wants = row.definition.enabled && row.definition.push;
            if !holds && !wants {
                // Nothing held and nothing wanted: nothing can be due, so
                // its credentials are not opened every pass.
                continue;
            }
            let work = match self.work_of(row, held).await {
                Ok(Some(work)) => work,
                Ok(None) => continue,
                // Its runs fail with the same error and say so; what it
                // holds lapses on the server unless it can run again.
                Err(e) if holds => {
                    tracing::warn!(profile = %name, error = %e, "cannot manage the profile's subscriptions");
                    continue;
                }
                Err(e) => {
                    tracing::debug!(profile = %name, error = %e, "not managing the subscriptions of a profile that cannot run");
                    continue;
                }
            };
            if !work.due(now) {
                continue;
            }
            let worker = format!("{}/subscriptions", self.worker_id());
            let lease = self.lease();
            let done = run_holding_lease(store, self.clock(), name, &worker, lease, |fenced| {
                self.manage(fenced, work, &mut report)
            })
            .await;
            match done {
                Ok(result) => result?,
                Err(ServiceError::ProfileBusy { .. }) => report.busy.push(name.to_string()),
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// The profile's subscriptions and the collections it wants them for;
    /// `None` when its kind has none and it holds none.
    async fn work_of(
        &self,
        row: &ProfileRow,
        stored: Vec<PushSubscriptionRow>,
    ) -> Result<Option<ProfileWork>, ServiceError> {
        let catalog = self.catalog();
        let def = catalog.definition_of(row)?;
        let user = catalog.user(&def.name, &def.user_id).await?;
        let options = OpenOptions {
            create_local_root: false,
            reach: catalog.reach_of(&row.definition.source, &user),
            token_vault: catalog.sign_in_vault(&def.name, &def.user_id),
        };
        let subscriptions = match def.connector.open_subscriptions(options) {
            Some(Ok(s)) => s,
            Some(Err(e)) => return Err(crate::factory::open_error(&def.name, e)),
            None => return Ok(None),
        };
        let public = self.subscription_settings().public_url.is_some();
        let mut wanted = BTreeSet::new();
        if public && row.definition.enabled && row.definition.push {
            // The collections its runs found or made (R-SYNC-PERF-3): a
            // profile that never ran has none yet.
            for found in catalog.store().sync_state().remembered_collections(&def.name).await? {
                match serde_json::from_str::<Collection>(&found) {
                    Ok(c) => {
                        wanted.insert(c.id.as_str().to_string());
                    }
                    Err(e) => {
                        tracing::warn!(profile = %def.name, error = %e, "a remembered collection that does not read")
                    }
                }
            }
            // The mail folders its runs poll (R-GRAPH-44): those a run
            // polled, each under the identity that poll saw. A profile with
            // a mail side of its own (`mail = imap {…}`) polls that instead
            // (the factory ignores the connector's `tracking` then), and its
            // `mail_folders` rows are that server's: none is subscribed.
            let mail_folders = if def.mail.is_none() {
                def.connector.mail_watch_folders()
            } else {
                Vec::new()
            };
            for folder in mail_folders {
                if let Some(at) = catalog.store().sync_state().mail_folder(&def.name, &folder).await? {
                    let mail = MailFolderCollection {
                        folder,
                        uid_validity: at.uid_validity,
                    };
                    wanted.insert(mail.id().as_str().to_string());
                }
            }
        }
        Ok(Some(ProfileWork {
            profile: def.name,
            subscriptions,
            wanted,
            stored,
        }))
    }

    /// One profile's pass, under its lease, writing through `store` (fenced).
    async fn manage(
        &self,
        store: Store,
        work: ProfileWork,
        report: &mut SubscriptionReport,
    ) -> Result<(), ServiceError> {
        let state = store.sync_state();
        let profile = &work.profile;
        let now = self.clock().now();
        // Read again under the lease: another worker may have changed them
        // since the pass looked.
        let stored = state.push_subscriptions(Some(profile)).await?;
        for row in stored.iter().filter(|r| !work.wanted.contains(&r.collection)) {
            let key = (profile.clone(), row.collection.clone());
            if let Some(id) = &row.subscription_id
                && let Err(e) = work.subscriptions.unsubscribe(id).await
            {
                tracing::warn!(profile = %profile, collection = %row.collection, error = %e, "could not delete a subscription; trying again later");
                report.failed.push(key);
                continue;
            }
            state.forget_push_subscription(profile, &row.collection).await?;
            tracing::info!(profile = %profile, collection = %row.collection, "change notification subscription deleted");
            report.deleted.push(key);
        }
        for collection in &work.wanted {
            let key = (profile.clone(), collection.clone());
            let held = stored.iter().find(|r| &r.collection == collection);
            let subs = &*work.subscriptions;
            let outcome = match held.map(|row| (row, &row.subscription_id)) {
                Some((row, Some(_))) if row.renew_at.is_some_and(|at| at > now) => continue,
                Some((row, Some(id))) => match self.renew(&state, subs, row, id).await {
                    Ok(true) => Ok(Done::Renewed),
                    // Gone on the server, or refused for good: a new one.
                    Ok(false) | Err(ServiceError::Connector { transient: false, .. }) => {
                        self.create(&state, subs, profile, collection).await
                    }
                    Err(e) => Err(e),
                },
                // None held, or its creation did not finish.
                _ => self.create(&state, subs, profile, collection).await,
            };
            match outcome {
                Ok(Done::Created) => report.created.push(key),
                Ok(Done::Renewed) => report.renewed.push(key),
                Err(e @ ServiceError::Store(_)) => return Err(e),
                Err(e) => {
                    tracing::warn!(profile = %profile, collection = %collection, error = %e, "change notification subscription failed; the profile is polled meanwhile");
                    report.failed.push(key);
                }
            }
        }
        Ok(())
    }

    /// A new subscription for `collection`, with new secrets.
    async fn create(
        &self,
        state: &crmsync_store::SyncState,
        subscriptions: &dyn ChangeSubscriptions,
        profile: &str,
        collection: &str,
    ) -> Result<Done, ServiceError> {
        let public_url = self.subscription_settings().public_url.as_deref().unwrap_or_default();
        let (url_token, client_state) = (new_push_token(), new_push_token());
        // Stored first: the server calls the URL before it answers.
        state
            .begin_push_subscription(profile, collection, &url_token, &client_state)
            .await?;
        let target = NotifyTarget {
            url: Secret::new(format!("{public_url}/api/v1/push/{url_token}")),
            client_state: Secret::new(client_state.clone()),
        };
        let now = self.clock().now();
        let expires = system_time(now) + subscriptions.lifetime();
        let created = subscriptions
            .subscribe(&crmsync_connector::CollectionId::new(collection), &target, expires)
            .await
            .map_err(|e| connector_error(profile, e))?;
        let row = PushSubscriptionRow {
            profile: profile.to_string(),
            collection: collection.to_string(),
            client_state_hash: hash_token(&client_state),
            subscription_id: None,
            expires_at: None,
            renew_at: None,
        };
        let expires = DateTime::<Utc>::from(created.expires);
        if !state
            .confirm_push_subscription(&row, &created.id, expires, renew_at(now, expires))
            .await?
        {
            tracing::warn!(
                profile,
                collection,
                "a subscription was begun again meanwhile; this one lapses"
            );
        }
        tracing::info!(profile, collection, expires = %expires, "change notification subscription created");
        Ok(Done::Created)
    }

    /// Renews subscription `id`; false when the server no longer has it.
    async fn renew(
        &self,
        state: &crmsync_store::SyncState,
        subscriptions: &dyn ChangeSubscriptions,
        row: &PushSubscriptionRow,
        id: &str,
    ) -> Result<bool, ServiceError> {
        let now = self.clock().now();
        let expires = system_time(now) + subscriptions.lifetime();
        let renewed = match subscriptions.renew(id, expires).await {
            Ok(renewed) => renewed,
            Err(ConnectorError::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(connector_error(&row.profile, e)),
        };
        let expires = DateTime::<Utc>::from(renewed.expires);
        state
            .confirm_push_subscription(row, id, expires, renew_at(now, expires))
            .await?;
        tracing::debug!(profile = %row.profile, collection = %row.collection, expires = %expires, "change notification subscription renewed");
        Ok(true)
    }

    /// Passes until aborted: every `refresh`, and at once when a
    /// notification asked for a renewal or a new subscription.
    pub(crate) async fn keep_subscriptions(self) {
        let every = self.subscription_settings().refresh;
        loop {
            if let Err(e) = self.refresh_subscriptions().await {
                tracing::warn!(error = %e, "managing change notification subscriptions failed; trying again later");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.subscriptions_wanted() => {}
            }
        }
    }
}

impl ProfileCatalog {
    /// Deletes the subscriptions profile `name` holds, before the profile
    /// and its credentials go. Best effort: one that cannot be deleted
    /// lapses on the server, and its notifications find no row.
    pub(crate) async fn end_subscriptions(&self, row: &ProfileRow) {
        let name = &row.definition.name;
        let state = self.store().sync_state();
        let held = match state.push_subscriptions(Some(name)).await {
            Ok(held) if !held.is_empty() => held,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(profile = %name, error = %e, "could not read the profile's subscriptions");
                return;
            }
        };
        let subscriptions = match self.definition_of(row) {
            Ok(def) => match self.user(&def.name, &def.user_id).await {
                Ok(user) => def.connector.open_subscriptions(OpenOptions {
                    create_local_root: false,
                    reach: self.reach_of(&row.definition.source, &user),
                    token_vault: self.sign_in_vault(&def.name, &def.user_id),
                }),
                Err(_) => None,
            },
            Err(_) => None,
        };
        for sub in held {
            if let (Some(Ok(subs)), Some(id)) = (&subscriptions, &sub.subscription_id)
                && let Err(e) = subs.unsubscribe(id).await
            {
                tracing::warn!(profile = %name, collection = %sub.collection, error = %e, "could not delete a subscription; it lapses");
            }
            if let Err(e) = state.forget_push_subscription(name, &sub.collection).await {
                tracing::warn!(profile = %name, error = %e, "could not forget a subscription");
            }
        }
    }

    /// Checks a delivery POSTed to the push URL of subscription `sub` and
    /// records what its lifecycle notifications ask (a renewal, a new
    /// subscription); the caller runs the profile when [`Received::run`].
    /// A notification counts only with the subscription's id and clientState.
    pub async fn receive_notifications(
        &self,
        sub: &PushSubscriptionRow,
        body: &[u8],
    ) -> Result<Received, ServiceError> {
        let mut received = Received::default();
        let Some(row) = self.store().catalog().profile_row(&sub.profile).await? else {
            return Ok(received);
        };
        let def = self.definition_of(&row)?;
        let notices = match def.connector.read_notifications(body) {
            Some(Ok(notices)) => notices,
            Some(Err(e)) => return Err(ServiceError::invalid(&sub.profile, e.to_string())),
            None => return Ok(received),
        };
        let state = self.store().sync_state();
        for notice in notices {
            let same_id = sub
                .subscription_id
                .as_deref()
                .is_none_or(|id| id == notice.subscription_id);
            let same_state = notice
                .client_state
                .as_ref()
                .is_some_and(|c| hash_token(c.expose()) == sub.client_state_hash);
            if !(same_id && same_state) {
                received.rejected += 1;
                continue;
            }
            match notice.kind {
                NoticeKind::Changed | NoticeKind::Missed => received.run = true,
                NoticeKind::RenewalRequired => {
                    state
                        .push_renewal_due(&sub.profile, &sub.collection, &notice.subscription_id)
                        .await?;
                    received.resubscribe = true;
                }
                NoticeKind::Removed => {
                    state
                        .push_subscription_lost(&sub.profile, &sub.collection, &notice.subscription_id)
                        .await?;
                    received.resubscribe = true;
                    received.run = true;
                }
            }
        }
        Ok(received)
    }
}

/// Renew after nine tenths of the granted lifetime, so failed renewals
/// have time for retries before notifications stop.
fn renew_at(now: DateTime<Utc>, expires: DateTime<Utc>) -> DateTime<Utc> {
    expires - (expires - now) / 10
}

fn system_time(t: DateTime<Utc>) -> SystemTime {
    t.into()
}

fn connector_error(profile: &str, e: ConnectorError) -> ServiceError {
    ServiceError::Connector {
        profile: profile.to_string(),
        message: e.to_string(),
        transient: e.is_transient(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_sched_2_renewal_comes_after_nine_tenths_of_the_lifetime() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let expires = now + chrono::Duration::minutes(4230);
        assert_eq!(renew_at(now, expires), now + chrono::Duration::minutes(3807));
        assert_eq!(
            SubscriptionSettings::with_public_url("https://crm.example.com/")
                .public_url
                .as_deref(),
            Some("https://crm.example.com")
        );
        assert_eq!(SubscriptionSettings::with_public_url("").public_url, None);
    }
}
