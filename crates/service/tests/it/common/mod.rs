//! What the service tests share: a migrated store on SQLite (temp file) or
//! PostgreSQL (a fresh database per test), CRM fixtures, vdir profiles, and a
//! scheduler on a hand-driven clock.
#![allow(dead_code)]

pub mod gate;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crmsync_model::{
    Activity, ActivityFields, ActivityKind, Contact, ContactFields, Participant, ParticipantRole, Party, PartyKind,
    User, UserFields,
};
use crmsync_service::{
    ConnectorFactory, ConnectorSpec, DefaultConnectorFactory, ManualClock, Metrics, ProfileCatalog, ProfileDefinition,
    ProfileSource, RunEvent, SchedulePolicy, Scheduler, SchedulerParts, SchedulerSettings, SecretKey,
};
use crmsync_store::Store;
use serde_json::json;

pub use crmsync_testkit::{Backend, TestDatabase};

/// `both_backends!(name, |store| { … })` defines `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        crmsync_testkit::on_both_backends!($name, common::on, |$store: crmsync_store::Store| $body);
    };
}

pub async fn on_sqlite<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on(Backend::Sqlite, body).await
}

pub async fn on_postgres<F, Fut>(body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on(Backend::Postgres, body).await
}

/// A fresh PostgreSQL database, dropped with the value (also after a panic).
pub async fn pg_database() -> TestDatabase {
    TestDatabase::postgres("crmsync_svc").await
}

/// `body` on a migrated store in a fresh database of `backend`; the database
/// goes when this returns or unwinds.
pub async fn on<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let db = TestDatabase::create(backend, "crmsync_svc").await;
    let store = Store::connect(db.url()).await.expect("open the test database");
    store.migrate().await.expect("migrate the test database");
    body(store).await;
}

pub async fn user(store: &Store, name: &str) -> User {
    store
        .records()
        .create_user(UserFields::active_user(name, format!("{name}@example.com")))
        .await
        .expect("create user")
        .0
}

pub async fn contact(store: &Store, owner: &User, last: &str) -> Contact {
    let fields = ContactFields {
        first_name: Some("Ada".into()),
        last_name: Some(last.into()),
        email1: Some(format!("{}@example.org", last.to_lowercase())),
        active: true,
        ..ContactFields::default()
    };
    store
        .records()
        .create(&owner.meta.id, fields)
        .await
        .expect("create contact")
}

pub fn user_party(user: &User, role: ParticipantRole) -> Participant {
    Participant {
        party: Party {
            kind: PartyKind::User,
            id: Some(user.meta.id.clone()),
            email: None,
            name: None,
        },
        role,
        invite: true,
        response: Default::default(),
        sync_status: Default::default(),
    }
}

/// A meeting `owner` organises tomorrow, with `invited` as attendees.
pub async fn meeting(store: &Store, owner: &User, subject: &str, invited: &[&User]) -> Activity {
    let mut a = ActivityFields::new(ActivityKind::Appointment, subject);
    let start = Utc::now() + chrono::Duration::days(1);
    a.start = Some(start);
    a.end = Some(start + chrono::Duration::hours(1));
    a.participants = std::iter::once(user_party(owner, ParticipantRole::Organizer))
        .chain(invited.iter().map(|u| user_party(u, ParticipantRole::Required)))
        .collect();
    store.records().create(&owner.meta.id, a).await.expect("create meeting")
}

/// A vdir profile for `user` with its root under `dir` (created).
pub fn vdir_profile(name: &str, user: &User, dir: &Path, interval: Duration) -> ProfileDefinition {
    let root = dir.join(name);
    std::fs::create_dir_all(&root).expect("vdir root");
    ProfileDefinition {
        name: name.into(),
        user_id: user.meta.id.clone(),
        connector: ConnectorSpec::from_json(json!({ "kind": "vdir", "root": root })).expect("settings"),
        mail: None,
        rules: json!({}),
        pull_interval: interval,
        push: true,
        enabled: true,
    }
}

pub fn vdir_files(root: &Path, collection: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(collection))
        .map(|rd| rd.map(|e| e.expect("dir entry").path()).collect())
        .unwrap_or_default();
    files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("vcf" | "ics")));
    files.sort();
    files
}

pub fn settings(worker: &str, lease: Duration, max_concurrent_runs: usize) -> SchedulerSettings {
    SchedulerSettings {
        worker_id: worker.into(),
        max_concurrent_runs,
        lease,
        poll: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        policy: SchedulePolicy::default(),
        mail_push: crmsync_service::MailPushSettings::default(),
        subscriptions: crmsync_service::SubscriptionSettings::default(),
        run_report_retention: None,
    }
}

/// A scheduler on a hand-driven clock with the production connectors.
pub async fn manual_scheduler(store: &Store, clock: Arc<ManualClock>) -> Scheduler {
    scheduler_with(
        store,
        clock,
        Arc::new(DefaultConnectorFactory),
        settings("w1", Duration::from_secs(60), 4),
    )
    .await
}

pub async fn scheduler_with(
    store: &Store,
    clock: Arc<ManualClock>,
    factory: Arc<dyn ConnectorFactory>,
    settings: SchedulerSettings,
) -> Scheduler {
    Scheduler::new(SchedulerParts {
        catalog: ProfileCatalog::new(store.clone(), Some(SecretKey::generate())).with_allowed_hosts(loopback_allowed()),
        factory,
        clock,
        metrics: Metrics::new(),
        settings,
    })
    .await
    .expect("scheduler")
}

/// The test operator lets users' profiles reach the peers on 127.0.0.1
/// (`[security] allowed_hosts`, R-SEC-1).
pub fn loopback_allowed() -> crmsync_connector::AllowList {
    crmsync_connector::AllowList::parse(&["127.0.0.0/8"]).expect("a network")
}

pub async fn save(store: &Store, def: &ProfileDefinition, now: chrono::DateTime<Utc>) {
    ProfileCatalog::new(store.clone(), None)
        .save(def, ProfileSource::Api, now)
        .await
        .expect("save profile");
}

/// Runs `scheduler.run_until` in a task until the sender is used (or dropped).
pub fn looping(scheduler: &Scheduler) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let scheduler = scheduler.clone();
    let task = tokio::spawn(async move {
        scheduler
            .run_until(async {
                let _ = stopped.await;
            })
            .await
    });
    (stop, task)
}

/// `user` acting with the user role.
pub fn user_actor(user: &User) -> crmsync_model::Actor {
    crmsync_model::Actor {
        user_id: user.meta.id.clone(),
        role: crmsync_model::Role::User,
    }
}

/// The next `n` run ends, in order. Waiting on events, not on time: the
/// timeout only turns a hang into a failure.
pub async fn next_events(rx: &mut tokio::sync::broadcast::Receiver<RunEvent>, n: usize) -> Vec<RunEvent> {
    let mut got = Vec::new();
    while got.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("a run should have ended")
            .expect("event channel open");
        got.push(event);
    }
    got
}
