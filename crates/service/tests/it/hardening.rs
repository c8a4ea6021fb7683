//! Issue 12 on the service side, on SQLite and PostgreSQL: a run that panics
//! fails alone (the process and the scheduler go on), every numeric setting
//! has a range checked when saved (R-CFG-DAV-2), the lease's fencing token
//! stops a worker that paused past its lease (R-SCHED-4), non-admin profiles
//! reach only allowed addresses (R-SEC-1), and a missing key is named at
//! start (R-SEC-4).

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use common::gate::GatedFactory;
use common::*;
use crmsync_config::SchedulerConfig;
use crmsync_connector::{ChangeSet, Collection, CollectionId, Connector, ConnectorError, ItemMeta, Reach, SyncToken};
use crmsync_model::{Actor, Role};
use crmsync_service::{
    Clock as _, ConnectorFactory, ConnectorSpec, DefaultConnectorFactory, ManualClock, ProfileCatalog, ProfileInput,
    ProfileSource, RunResult, SchedulerSettings, SecretKey, ServiceError,
};
use crmsync_store::StoreError;
use serde_json::json;

/// Opens connectors that panic at their first call: a bug in a connector
/// or the runner, as seen from the scheduler.
struct PanickingFactory;

impl ConnectorFactory for PanickingFactory {
    fn open(&self, profile: &str, settings: &ConnectorSpec, reach: &Reach) -> Result<Arc<dyn Connector>, ServiceError> {
        Ok(Arc::new(PanickingConnector {
            inner: DefaultConnectorFactory.open(profile, settings, reach)?,
        }))
    }
}

/// The profile's own connector, panicking at a run's first call: a run
/// starts with a discovery or a listing, so no call gets past these.
struct PanickingConnector {
    inner: Arc<dyn Connector>,
}

#[async_trait]
impl crmsync_connector::Forward for PanickingConnector {
    fn inner(&self) -> &dyn Connector {
        &*self.inner
    }
    async fn discover(&self) -> Result<Vec<Collection>, ConnectorError> {
        panic!("a connector bug")
    }
    async fn changes(&self, _: &CollectionId, _: Option<&SyncToken>) -> Result<ChangeSet, ConnectorError> {
        panic!("a connector bug")
    }
    async fn changes_paged(
        &self,
        _: &CollectionId,
        _: Option<&SyncToken>,
        _: &mut (dyn FnMut(Vec<ItemMeta>) + Send),
    ) -> Result<ChangeSet, ConnectorError> {
        panic!("a connector bug")
    }
}

// Issue 12 item 1: a run that panics is that run's failure. Before, the
// panic ended the run's task without its bookkeeping: no event, the slot
// stayed taken and the lease held until it expired.
both_backends!(
    r_safe_6_a_panicking_run_fails_alone_and_frees_its_slot_and_lease,
    |store| {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let anna = user(&store, "anna").await;
        save(
            &store,
            &vdir_profile("buggy", &anna, dir.path(), Duration::from_secs(3600)),
            clock.now(),
        )
        .await;
        let scheduler = scheduler_with(
            &store,
            clock.clone(),
            Arc::new(PanickingFactory),
            settings("w1", Duration::from_secs(60), 1),
        )
        .await;
        let mut rx = scheduler.subscribe();
        assert_eq!(scheduler.tick().await.unwrap().started, ["buggy"]);
        let event = next_events(&mut rx, 1).await.remove(0);
        match &event.result {
            RunResult::Failed { message, transient } => {
                assert!(message.contains("a connector bug"), "{message}");
                assert!(!transient);
            }
            other => panic!("expected a failed run, got {other:?}"),
        }
        assert!(scheduler.running().is_empty(), "the slot is free again");
        let view = ProfileCatalog::new(store.clone(), None)
            .view("buggy")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(view.leased_by, None, "the lease was given back");
        assert_eq!(view.failures, 1, "counted as a failed run");
        assert!(
            view.state_reason
                .as_deref()
                .is_some_and(|r| r.contains("internal error"))
        );
    }
);

// Issue 12 item 11: worker w1 is paused (its run held at the connector)
// past its lease; w2 claims the profile and runs it. When w1 wakes up, none
// of its writes commit: the store refuses the stale fencing token.
both_backends!(r_sched_4_a_worker_paused_past_its_lease_can_no_longer_write, |store| {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let anna = user(&store, "anna").await;
    contact(&store, &anna, "Lovelace").await;
    save(
        &store,
        &vdir_profile("paused", &anna, dir.path(), Duration::from_secs(3600)),
        clock.now(),
    )
    .await;
    let lease = Duration::from_secs(60);
    let gate = GatedFactory::new(&["paused"]);
    let first = scheduler_with(&store, clock.clone(), gate.clone(), settings("w1", lease, 4)).await;
    let mut rx1 = first.subscribe();
    assert_eq!(first.tick().await.unwrap().started, ["paused"]);
    // Held at its first connector call, its writes so far committed: none
    // of its transactions still locks the row the next claim skips if locked.
    gate.reached().await;
    let token_w1 = store
        .catalog()
        .profile_row("paused")
        .await
        .unwrap()
        .unwrap()
        .status
        .lease_token;

    // w1 never ticks again (it is paused at the connector, between writes:
    // a fenced write holds the profile row, which a claim skips); its lease
    // runs out.
    clock.advance(chrono::Duration::seconds(lease.as_secs() as i64 + 1));
    let second = scheduler_with(
        &store,
        clock.clone(),
        Arc::new(crmsync_service::DefaultConnectorFactory),
        settings("w2", lease, 4),
    )
    .await;
    let mut rx2 = second.subscribe();
    assert_eq!(second.tick().await.unwrap().started, ["paused"]);
    let token_w2 = store
        .catalog()
        .profile_row("paused")
        .await
        .unwrap()
        .unwrap()
        .status
        .lease_token;
    assert!(token_w2 > token_w1, "another worker's claim moves the token on");
    let done = next_events(&mut rx2, 1).await.remove(0);
    assert!(matches!(done.result, RunResult::Finished { .. }), "{done:?}");
    let written = vdir_files(&dir.path().join("paused"), "contacts");
    assert_eq!(written.len(), 1);

    // w1 wakes up and goes on with its run.
    gate.open(1);
    let late = next_events(&mut rx1, 1).await.remove(0);
    match &late.result {
        RunResult::Failed { message, .. } => assert!(message.contains("R-SCHED-4"), "{message}"),
        other => panic!("the stale worker's run must fail, got {other:?}"),
    }
    assert_eq!(vdir_files(&dir.path().join("paused"), "contacts"), written);

    // The store itself refuses a stale token, and takes the current one.
    let stale = store.fenced("paused", token_w1);
    assert!(matches!(
        stale.sync_state().forget_cursor("paused", "contacts").await,
        Err(StoreError::Fenced { .. })
    ));
    assert!(matches!(
        stale.sync_state().begin_run("paused").await,
        Err(StoreError::Fenced { .. })
    ));
    store
        .fenced("paused", token_w2)
        .sync_state()
        .forget_cursor("paused", "contacts")
        .await
        .expect("the current holder writes");
});

// Issue 12 item 1: every numeric setting has a documented range, checked
// when saved, and the error names the field (R-CFG-DAV-2).
both_backends!(
    r_cfg_dav_2_numbers_out_of_range_are_refused_on_save_naming_the_field,
    |store| {
        let anna = user(&store, "anna").await;
        let actor = Actor {
            user_id: anna.meta.id.clone(),
            role: Role::User,
        };
        let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
        for (field, connector) in [
            (
                "connector.concurrency",
                json!({"kind": "dav", "url": "https://dav.example.org/", "concurrency": 1_000_000_000u64}),
            ),
            (
                "connector.timeout_secs",
                json!({"kind": "dav", "url": "https://dav.example.org/", "timeout_secs": u64::MAX}),
            ),
            (
                "connector.retry.max_retries",
                json!({"kind": "dav", "url": "https://dav.example.org/", "retry": {"max_retries": 4_000_000_000u64}}),
            ),
            ("connector.root", json!({"kind": "vdir", "root": ""})),
        ] {
            // Only an admin may set up a vdir profile (it writes server folders).
            let actor = if field == "connector.root" {
                Actor {
                    role: Role::Admin,
                    ..actor.clone()
                }
            } else {
                actor.clone()
            };
            let input = ProfileInput {
                name: "hostile".into(),
                user_id: None,
                connector,
                mail: None,
                rules: json!({}),
                pull_interval_secs: 900,
                push: false,
                enabled: true,
            };
            match catalog.create_for(&actor, input, Utc::now()).await {
                Err(ServiceError::InvalidField { field: named, .. }) => assert_eq!(named, field),
                other => panic!("{field}: expected InvalidField, got {other:?}"),
            }
        }
        assert!(
            store.catalog().profile_row("hostile").await.unwrap().is_none(),
            "nothing was saved"
        );
    }
);

#[test]
fn r_cfg_dav_2_scheduler_numbers_out_of_range_name_their_key() {
    for (key, config) in [
        (
            "scheduler.max_concurrent_runs",
            SchedulerConfig {
                max_concurrent_runs: u64::MAX,
                ..SchedulerConfig::default()
            },
        ),
        (
            "scheduler.lease_secs",
            SchedulerConfig {
                lease_secs: u64::MAX,
                ..SchedulerConfig::default()
            },
        ),
        (
            "scheduler.default_pull_interval_secs",
            SchedulerConfig {
                default_pull_interval_secs: u64::MAX,
                ..SchedulerConfig::default()
            },
        ),
        (
            "scheduler.shutdown_grace_secs",
            SchedulerConfig {
                shutdown_grace_secs: u64::MAX,
                ..SchedulerConfig::default()
            },
        ),
        (
            "scheduler.max_idle_connections",
            SchedulerConfig {
                max_idle_connections: u64::MAX,
                ..SchedulerConfig::default()
            },
        ),
    ] {
        match SchedulerSettings::from_config(&config) {
            Err(ServiceError::Config { key: named, .. }) => assert_eq!(named, key),
            other => panic!("{key}: expected a config error, got {other:?}"),
        }
    }
    assert!(SchedulerSettings::from_config(&SchedulerConfig::default()).is_ok());
}

// R-SEC-1: a non-admin's API profile reaches only public addresses and the
// administrator's allow-list; an admin's, and the config file's, anything.
both_backends!(
    r_sec_1_only_non_admin_api_profiles_are_held_to_public_addresses,
    |store| {
        let anna = user(&store, "anna").await;
        let mut boss = user(&store, "boss").await;
        boss.fields.role = Role::Admin;
        let allow = crmsync_connector::AllowList::parse(&["dav.lan"]).unwrap();
        let catalog = ProfileCatalog::new(store.clone(), None).with_allowed_hosts(allow.clone());
        assert_eq!(
            catalog.reach_of(ProfileSource::Api.as_str(), &anna),
            Reach::Public(allow)
        );
        assert_eq!(catalog.reach_of(ProfileSource::Api.as_str(), &boss), Reach::Any);
        assert_eq!(catalog.reach_of(ProfileSource::Config.as_str(), &anna), Reach::Any);
    }
);

// R-SEC-4: at start, stored credentials without a key are named (and
// logged), so the operator learns before the runs fail; the run-time error
// says how to fix it.
both_backends!(r_sec_4_stored_credentials_without_a_key_are_named_at_start, |store| {
    let anna = user(&store, "anna").await;
    let keyed = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
    let mut def = vdir_profile(
        "anna-vdir",
        &anna,
        tempfile::tempdir().unwrap().path(),
        Duration::from_secs(900),
    );
    def.connector = ConnectorSpec::from_json(json!({
        "kind": "dav", "url": "https://dav.example.org/", "username": "anna", "password": "pw"
    }))
    .unwrap();
    def.name = "anna-dav".into();
    keyed.save(&def, ProfileSource::Api, Utc::now()).await.unwrap();
    assert!(keyed.warn_if_keyless().await.unwrap().is_empty(), "a key is set");

    let keyless = ProfileCatalog::new(store.clone(), None);
    assert_eq!(keyless.warn_if_keyless().await.unwrap(), ["anna-dav"]);
    let row = store.catalog().profile_row("anna-dav").await.unwrap().unwrap();
    let err = keyless.definition_of(&row).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ServiceError::NoKeyToDecrypt { .. }), "{err:?}");
    assert!(
        message.contains("CRMSYNC_SECURITY_KEY") && message.contains("openssl rand -base64 32"),
        "{message}"
    );
});
