//! Shared set-up for the runner's integration tests: a real SQLite store in a
//! temp folder, a user, and a profile onto a real vdir.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use crmsync_model::{
    Activity, ActivityFields, ActivityKind, Actor, Contact, ContactFields, Participant, ParticipantRole, Party,
    PartyKind, Role, User, UserFields,
};
use crmsync_store::Store;
use crmsync_sync::{RunOptions, RunReport, SyncProfile, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

pub struct World {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub actor: Actor,
    pub profile: SyncProfile,
}

/// A fixed "now" so that planned/completed and the calendar window do not
/// depend on when the test runs.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("crm.db").display());
        World::on(dir, &url).await
    }

    /// A world whose CRM is the database at `url` (SQLite or PostgreSQL),
    /// its mailbox a vdir in `dir`.
    pub async fn on(dir: tempfile::TempDir, url: &str) -> World {
        let (store, actor) = crm_with_alice(url).await;
        let root = dir.path().join("mailbox");
        std::fs::create_dir_all(&root).unwrap();
        let connector = VdirConnector::open(&VdirConfig::new(root)).unwrap();
        let profile = SyncProfile::new(
            "alice",
            actor.clone(),
            crmsync_engine::Profile::new(&actor.user_id),
            Arc::new(connector),
        );
        World {
            dir,
            store,
            actor,
            profile,
        }
    }

    pub fn folder(&self, name: &str) -> PathBuf {
        self.dir.path().join("mailbox").join(name)
    }

    /// The item files of a collection folder, sorted.
    pub fn files(&self, name: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.folder(name))
            .map(|rd| rd.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("vcf" | "ics")));
        files.sort();
        files
    }

    /// The UIDs of a collection folder's items, in the order of `files`.
    pub fn uids(&self, name: &str) -> Vec<String> {
        self.files(name)
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).unwrap();
                text.lines()
                    .find_map(|l| l.strip_prefix("UID:"))
                    .expect("a UID")
                    .trim()
                    .to_string()
            })
            .collect()
    }

    pub async fn sync(&self) -> RunReport {
        self.sync_with(&RunOptions {
            now: Some(now()),
            ..RunOptions::default()
        })
        .await
    }

    pub async fn sync_with(&self, opts: &RunOptions<'_>) -> RunReport {
        run_profile(&self.store, &self.profile, opts).await.unwrap()
    }

    pub async fn contact(&self, first: &str, last: &str, email: &str) -> Contact {
        let fields = contact_fields(first, last, email);
        self.store.records().create(&self.actor.user_id, fields).await.unwrap()
    }

    /// Another active user of the CRM, beside alice.
    pub async fn other_user(&self, name: &str, email: &str) -> User {
        let fields = UserFields::active_user(name, email);
        self.store.records().create_user(fields).await.unwrap().0
    }

    pub async fn meeting(&self, subject: &str, start_in_days: i64) -> Activity {
        let a = meeting_fields(&self.actor.user_id, subject, now() + Duration::days(start_in_days));
        self.store.records().create(&self.actor.user_id, a).await.unwrap()
    }

    pub async fn task(&self, kind: ActivityKind, subject: &str) -> Activity {
        let mut a = ActivityFields::new(kind, subject);
        a.due = Some(now() + Duration::days(3));
        self.store.records().create(&self.actor.user_id, a).await.unwrap()
    }
}

/// How many actions of "target kind" a run applied in a collection.
pub fn applied(report: &RunReport, collection: &str, key: &str) -> usize {
    report.applied(collection, key)
}

/// Every write a run applied, over all collections.
pub fn writes(report: &RunReport) -> usize {
    report.writes()
}

/// A migrated CRM store at `url` holding user `alice`, and alice as the actor
/// the runs act for: the start of every world here.
pub async fn crm_with_alice(url: &str) -> (Store, Actor) {
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let (user, _token) = store
        .records()
        .create_user(UserFields::active_user("alice", "alice@example.com"))
        .await
        .unwrap();
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: Role::User,
    };
    (store, actor)
}

/// An active contact with a name and an e-mail address.
pub fn contact_fields(first: &str, last: &str, email: &str) -> ContactFields {
    ContactFields {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        email1: Some(email.into()),
        active: true,
        ..ContactFields::default()
    }
}

/// An appointment `organizer_id` organises, from `start`, one hour long.
pub fn meeting_fields(organizer_id: &str, subject: &str, start: DateTime<Utc>) -> ActivityFields {
    let mut a = ActivityFields::new(ActivityKind::Appointment, subject);
    a.start = Some(start);
    a.end = Some(start + Duration::hours(1));
    a.participants = vec![Participant {
        party: Party {
            kind: PartyKind::User,
            id: Some(organizer_id.to_owned()),
            email: None,
            name: None,
        },
        role: ParticipantRole::Organizer,
        invite: true,
        response: Default::default(),
        sync_status: Default::default(),
    }];
    a
}
