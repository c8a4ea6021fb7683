//! R-TRACK-MAIL-11: push from the mailbox, end to end against a real
//! Dovecot. A message a user's mail client (Python imaplib) puts into the
//! tracking folder runs the profile at once; the number of IDLE connections
//! is bounded and the folders beyond are polled.
//!
//! The scheduler's poll is an hour and its clock stands still, so nothing
//! but a signal can start a run after the first; waits are on run events,
//! their time-outs only turn a hang into a failure.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use crmsync_model::User;
use crmsync_service::{
    ConnectorSpec, DefaultConnectorFactory, MailPushSettings, ManualClock, Metrics, ProfileCatalog, ProfileDefinition,
    ProfileSource, RunResult, Scheduler, SchedulerParts, SecretKey,
};
use crmsync_store::Store;
use crmsync_testkit::Dovecot;
use serde_json::json;

const HOUR: Duration = Duration::from_secs(3600);

/// A mail-only profile of `user` on Dovecot: the tracking folder `CRM` is
/// the one trigger, so it is the one folder watched.
fn imap_profile(name: &str, user: &User, dovecot: &Dovecot, login: (&str, &str)) -> ProfileDefinition {
    ProfileDefinition {
        name: name.into(),
        user_id: user.meta.id.clone(),
        connector: imap_spec(dovecot, login),
        mail: None,
        rules: json!({}),
        pull_interval: HOUR,
        push: true,
        enabled: true,
    }
}

fn imap_spec(dovecot: &Dovecot, (username, password): (&str, &str)) -> ConnectorSpec {
    ConnectorSpec::from_json(json!({
        "kind": "imap", "host": "127.0.0.1", "port": dovecot.port, "tls": "none",
        "username": username, "password": password,
        "tracking": { "keyword": "", "replies": false },
    }))
    .expect("imap settings")
}

/// A catalog that can seal the profiles' passwords, and a scheduler on it
/// that polls hourly on a clock that stands still.
async fn push_scheduler(store: &Store, max_idle_connections: usize) -> (ProfileCatalog, Scheduler) {
    let catalog =
        ProfileCatalog::new(store.clone(), Some(SecretKey::generate())).with_allowed_hosts(loopback_allowed());
    let mut settings = settings("w1", Duration::from_secs(60), 4);
    settings.poll = HOUR;
    settings.mail_push = MailPushSettings {
        max_idle_connections,
        refresh: HOUR,
        retry_base: Duration::from_millis(100),
        ..MailPushSettings::default()
    };
    let scheduler = Scheduler::new(SchedulerParts {
        catalog: catalog.clone(),
        factory: Arc::new(DefaultConnectorFactory),
        clock: Arc::new(ManualClock::new(Utc::now())),
        metrics: Metrics::new(),
        settings,
    })
    .await
    .expect("scheduler");
    (catalog, scheduler)
}

fn message(id: &str, subject: &str) -> Vec<u8> {
    format!(
        "Message-ID: <{id}>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nFrom: Carla <carla@customer.example>\r\n\
         To: alice@example.com\r\nSubject: {subject}\r\n\r\nHello\r\n"
    )
    .into_bytes()
}

/// Dovecot with alice's empty tracking folder, her client, and a push
/// scheduler holding her stored profile `alice-mail`.
async fn alice_pushing(store: &Store) -> (Dovecot, crmsync_testkit::MailClient, Scheduler) {
    let dovecot = Dovecot::start(&[("alice", "alice-pw")]);
    let client = dovecot.client("alice");
    client.create("CRM");
    let alice = user(store, "alice").await;
    let (catalog, scheduler) = push_scheduler(store, 4).await;
    let def = imap_profile("alice-mail", &alice, &dovecot, ("alice", "alice-pw"));
    catalog
        .save(&def, ProfileSource::Api, Utc::now())
        .await
        .expect("save profile");
    (dovecot, client, scheduler)
}

// R-TRACK-MAIL-11
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_mail_11_a_message_put_in_the_tracking_folder_runs_the_profile_at_once() {
    on_sqlite(|store| async move {
        let (_dovecot, client, scheduler) = alice_pushing(&store).await;
        let mut events = scheduler.subscribe();
        let (stop, looping) = looping(&scheduler);
        let first = next_events(&mut events, 1).await;
        assert!(matches!(first[0].result, RunResult::Finished { .. }), "{first:?}");

        let appending = tokio::task::spawn_blocking(move || client.append("CRM", "", &message("push-1@x", "Push")));
        // Every run from here on was started by a signal: the poll is an
        // hour and the clock does not move.
        loop {
            let ended = next_events(&mut events, 1).await;
            assert!(matches!(ended[0].result, RunResult::Finished { .. }), "{ended:?}");
            if store
                .records()
                .email_by_message_key("push-1@x")
                .await
                .unwrap()
                .is_some()
            {
                break;
            }
        }
        appending.await.unwrap();
        let metrics = scheduler.metrics().render();
        assert!(metrics.contains("crmsync_idle_connections 1"), "{metrics}");
        assert!(!metrics.contains("crmsync_triggers_total 0"), "{metrics}");
        let _ = stop.send(());
        looping.await.unwrap();
        assert!(
            scheduler.metrics().render().contains("crmsync_idle_connections 0"),
            "the watches end with the scheduler"
        );
    })
    .await;
}

// R-TRACK-MAIL-11
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_mail_11_idle_connections_are_bounded_and_the_folders_beyond_are_polled() {
    on_sqlite(|store| async move {
        let dovecot = Dovecot::start(&[("alice", "alice-pw"), ("bob", "bob-pw")]);
        let alice = user(&store, "alice").await;
        let bob = user(&store, "bob").await;
        let (catalog, scheduler) = push_scheduler(&store, 1).await;
        let now = Utc::now();
        let a = imap_profile("a-mail", &alice, &dovecot, ("alice", "alice-pw"));
        catalog.save(&a, ProfileSource::Api, now).await.unwrap();
        // Bob's profile has its mail beside a vdir connector (R-PROFILE-MAIL-1).
        let dir = tempfile::tempdir().unwrap();
        let mut b = vdir_profile("b-mail", &bob, dir.path(), HOUR);
        b.mail = Some(imap_spec(&dovecot, ("bob", "bob-pw")));
        catalog.save(&b, ProfileSource::Api, now).await.unwrap();
        // A profile with push off is never watched.
        let mut quiet = imap_profile("c-quiet", &bob, &dovecot, ("bob", "bob-pw"));
        quiet.push = false;
        catalog.save(&quiet, ProfileSource::Api, now).await.unwrap();

        let pair = |p: &str| (p.to_string(), "CRM".to_string());
        let report = scheduler.refresh_mail_push().await.unwrap();
        assert_eq!(report.watched, [pair("a-mail")]);
        assert_eq!(report.polled, [pair("b-mail")], "beyond max_idle_connections: polled");

        // The first profile goes: its slot passes to the next.
        let mut off = a.clone();
        off.enabled = false;
        catalog.save(&off, ProfileSource::Api, now).await.unwrap();
        let report = scheduler.refresh_mail_push().await.unwrap();
        assert_eq!(report.watched, [pair("b-mail")]);
        assert!(report.polled.is_empty(), "{report:?}");
        assert!(scheduler.metrics().render().contains("crmsync_idle_connections 1"));

        // Changed settings (another tracking folder) get a new watch.
        let mut moved = b.clone();
        moved.mail = Some(
            ConnectorSpec::from_json(json!({
                "kind": "imap", "host": "127.0.0.1", "port": dovecot.port, "tls": "none",
                "username": "bob", "password": "bob-pw",
                "tracking": { "folder": "Tracked", "keyword": "", "replies": false },
            }))
            .unwrap(),
        );
        catalog.save(&moved, ProfileSource::Api, now).await.unwrap();
        let report = scheduler.refresh_mail_push().await.unwrap();
        assert_eq!(report.watched, [("b-mail".to_string(), "Tracked".to_string())]);
    })
    .await;
}

/// Another run is coming: one is running, a trigger waits, or the profile
/// is due now (on the frozen clock, "now" is its last run's end).
async fn run_coming(store: &Store, profile: &str) -> bool {
    let row = store.catalog().profile_row(profile).await.unwrap().expect("profile");
    let s = row.status;
    s.lease_owner.is_some() || s.pending_trigger || s.last_run_at.is_none_or(|last| s.next_run_at <= last)
}

// R-TRACK-MAIL-13
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_track_mail_13_marking_a_tracked_message_wakes_no_further_run() {
    on_sqlite(|store| async move {
        let (_dovecot, client, scheduler) = alice_pushing(&store).await;
        let mut events = scheduler.subscribe();
        let (stop, looping) = looping(&scheduler);
        // Each message is put by the user's client and must be tracked by
        // exactly one run. The poll is an hour on a clock that stands
        // still: only a signal starts a run. The first two messages wait
        // until no run is coming, which absorbs the runs of the start (the
        // first run, the watch's first connection, a report that came
        // after the run that saw its message); from then on a run that woke
        // at its own `$CRMTracked` STORE is a second run for the next one.
        for i in 0..4 {
            while i < 2 && run_coming(&store, "alice-mail").await {
                next_events(&mut events, 1).await;
            }
            let key = format!("mark-{i}@x");
            let sender = client.clone();
            let text = message(&key, &format!("Mark {i}"));
            let appending = tokio::task::spawn_blocking(move || sender.append("CRM", "", &text));
            let mut runs = 0;
            loop {
                let ended = next_events(&mut events, 1).await;
                assert!(matches!(ended[0].result, RunResult::Finished { .. }), "{ended:?}");
                runs += 1;
                if store.records().email_by_message_key(&key).await.unwrap().is_some() {
                    break;
                }
            }
            appending.await.unwrap();
            if i >= 2 {
                assert_eq!(
                    runs, 1,
                    "message {i} took {runs} runs: a run woke at the previous one's mark"
                );
            }
            assert_eq!(client.count_with("CRM", "$CRMTracked"), i + 1);
        }
        let _ = stop.send(());
        looping.await.unwrap();
    })
    .await;
}
