//! E-mail tracking over IMAP (issue 14 item 9, R-BENCH-IMAP-1) against a
//! private Dovecot:
//! - first scan: crmsync tracking N messages of the tracking folder (every
//!   one a CRM e-mail, marked `$CRMTracked`) against a raw client that
//!   SELECTs the folder, lists its UIDs and FETCHes every message whole in
//!   the same batches, on a fresh connection each (login included in both);
//! - a no-change run: IMAP commands per tracked folder, login aside;
//! - IDLE latency: the scheduler as `crmsync serve` runs it (system clock,
//!   default `[scheduler]` settings, SQLite, a stored profile with push on
//!   and an hourly pull), from just before another client (Python imaplib)
//!   APPENDs a message until the CRM has the e-mail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use crmsync_config::SchedulerConfig;
use crmsync_connector::{MailSource, MailTracking};
use crmsync_imap::{ImapConfig, ImapConnector, TlsMode};
use crmsync_model::{Actor, Role, User, UserFields};
use crmsync_service::{
    ConnectorSpec, DefaultConnectorFactory, Metrics, ProfileCatalog, ProfileDefinition, ProfileSource, Scheduler,
    SchedulerParts, SchedulerSettings, SecretKey, SystemClock,
};
use crmsync_store::Store;
use crmsync_sync::{MailProfile, RunOptions, SyncProfile, run_profile};
use crmsync_testkit::{Dovecot, MailClient};
use serde_json::json;
use tokio::sync::watch;

use crate::error::BenchError;
use crate::latency::{millis, percentile};
use crate::report::{Report, Standing, ratio, secs};

const SECTION: &str = "imap";
const USER: &str = "alice";
const PASSWORD: &str = "alice-pw";
const FOLDER: &str = "CRM";
/// Generous for a loaded machine; a missed push would show as this.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(messages: usize, idle_samples: usize, report: &mut Report) -> Result<(), BenchError> {
    let dovecot = Dovecot::start(&[(USER, PASSWORD)]);
    let client = dovecot.client(USER);
    let filling = client.clone();
    tokio::task::spawn_blocking(move || {
        filling.create(FOLDER);
        filling.fill(FOLDER, messages, "bench");
    })
    .await
    .map_err(|e| BenchError::Unexpected(format!("filling the folder: {e}")))?;
    first_scan(&dovecot, messages, report).await?;
    idle_latency(&dovecot, client, idle_samples, report).await
}

fn config(dovecot: &Dovecot) -> ImapConfig {
    let mut c = ImapConfig::with_password("127.0.0.1", dovecot.port, TlsMode::None, USER, PASSWORD);
    // The folder trigger alone: the figure is the folder's messages.
    c.tracking = MailTracking {
        keyword: String::new(),
        replies: false,
        ..MailTracking::default()
    };
    c
}

fn imap(dovecot: &Dovecot) -> Result<Arc<ImapConnector>, BenchError> {
    ImapConnector::new(config(dovecot))
        .map(Arc::new)
        .map_err(|e| BenchError::Unexpected(format!("imap settings: {e}")))
}

/// A fresh SQLite CRM with the mailbox's user.
async fn crm(dir: &std::path::Path) -> Result<(Store, User), BenchError> {
    let store = Store::connect(&format!("sqlite://{}", dir.join("crm.db").display())).await?;
    store.migrate().await?;
    let (user, _) = store
        .records()
        .create_user(UserFields::active_user(USER, "alice@example.com"))
        .await?;
    Ok((store, user))
}

/// The raw client: one session, SELECT with the UID list, every message whole.
async fn raw_fetch(dovecot: &Dovecot) -> Result<(Duration, usize), BenchError> {
    let conn = imap(dovecot)?;
    let started = Instant::now();
    let listed = conn.poll(FOLDER, None).await?;
    let uids = listed.present.unwrap_or_default();
    let fetched = conn.fetch(FOLDER, &uids).await?;
    let took = started.elapsed();
    conn.close().await;
    Ok((took, fetched.len()))
}

async fn first_scan(dovecot: &Dovecot, messages: usize, report: &mut Report) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
    let (store, user) = crm(dir.path()).await?;
    let actor = Actor {
        user_id: user.meta.id.clone(),
        role: Role::User,
    };
    // Raw before and after crmsync; the faster one is the baseline.
    let (raw_before, fetched) = raw_fetch(dovecot).await?;
    if fetched != messages {
        return Err(BenchError::Unexpected(format!(
            "the raw client fetched {fetched} of {messages} messages"
        )));
    }
    let conn = imap(dovecot)?;
    let profile = SyncProfile::new(
        "bench-imap",
        actor.clone(),
        crmsync_engine::Profile::new(&actor.user_id),
        Arc::new(crmsync_connector::memory::MemoryConnector::new()),
    )
    .mail_only(MailProfile {
        source: conn.clone(),
        tracking: config(dovecot).tracking,
    });
    let started = Instant::now();
    let first = run_profile(&store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let created: usize = first
        .collections
        .iter()
        .filter_map(|c| c.applied.get("crm create"))
        .sum();
    if created != messages {
        return Err(BenchError::Unexpected(format!(
            "the first scan made {created} CRM e-mails of {messages} messages"
        )));
    }
    let (raw_after, _) = raw_fetch(dovecot).await?;
    let raw = raw_before.min(raw_after);
    let r = ratio(took, raw);
    report.add(
        SECTION,
        format!("first scan of {messages} messages: crmsync / raw FETCH"),
        format!("{r:.2}x"),
        "<= 1.2x raw",
        Standing::of(r <= 1.2),
    );
    report.add(
        SECTION,
        "first scan, crmsync (raw FETCH)",
        format!("{} ({})", secs(took), secs(raw)),
        "context",
        Standing::Info,
    );
    report.add(
        SECTION,
        "first scan per message, crmsync",
        format!("{:.2} ms", took.as_secs_f64() * 1000.0 / messages.max(1) as f64),
        "context",
        Standing::Info,
    );

    // The run after the first scan still sees the keywords it set; the one
    // after that finds nothing changed: what a poll costs, login aside
    // (LOGIN + CAPABILITY).
    run_profile(&store, &profile, &RunOptions::default()).await?;
    let before = conn.commands_sent();
    run_profile(&store, &profile, &RunOptions::default()).await?;
    let per_folder = conn.commands_sent().saturating_sub(before).saturating_sub(2);
    report.add(
        SECTION,
        "no-change run: IMAP commands per tracked folder",
        per_folder.to_string(),
        "1 (CONDSTORE)",
        Standing::of(per_folder <= 1),
    );
    Ok(())
}

async fn idle_latency(
    dovecot: &Dovecot,
    client: MailClient,
    samples: usize,
    report: &mut Report,
) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
    let (store, user) = crm(dir.path()).await?;
    let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
    let connector = json!({
        "kind": "imap", "host": "127.0.0.1", "port": dovecot.port, "tls": "none",
        "username": USER, "password": PASSWORD,
        "tracking": { "keyword": "", "replies": false },
    });
    let definition = ProfileDefinition {
        name: "bench-idle".into(),
        user_id: user.meta.id.clone(),
        connector: ConnectorSpec::from_json(connector)
            .map_err(|e| BenchError::Unexpected(format!("imap settings: {e}")))?,
        mail: None,
        rules: json!({}),
        pull_interval: Duration::from_secs(3600),
        push: true,
        enabled: true,
    };
    catalog.save(&definition, ProfileSource::Config, Utc::now()).await?;
    let mut settings = SchedulerSettings::from_config(&SchedulerConfig::default())?;
    settings.worker_id = "bench-idle".into();
    let scheduler = Scheduler::new(SchedulerParts {
        catalog,
        factory: Arc::new(DefaultConnectorFactory),
        clock: Arc::new(SystemClock),
        metrics: Metrics::new(),
        settings,
    })
    .await?;
    let mut ended = scheduler.subscribe();
    let (stop, stopped) = watch::channel(false);
    let looping = {
        let scheduler = scheduler.clone();
        tokio::spawn(async move {
            let mut stopped = stopped;
            scheduler
                .run_until(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await
        })
    };
    // The first run (the folder's old messages) is no sample.
    tokio::time::timeout(Duration::from_secs(3600), ended.recv())
        .await
        .map_err(|_| BenchError::Unexpected("the first run did not end".into()))?
        .map_err(|e| BenchError::Unexpected(format!("run events: {e}")))?;
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        // Runs the last message started (its keyword) settle first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let key = format!("idle-{i}@bench.example");
        let body = format!(
            "Message-ID: <{key}>\r\nDate: Sun, 6 Dec 2026 10:00:00 +0000\r\nFrom: carla@customer.example\r\n\
             To: alice@example.com\r\nSubject: idle {i}\r\n\r\nHello\r\n"
        );
        let appender = client.clone();
        let started = Instant::now();
        let appending = tokio::task::spawn_blocking(move || appender.append(FOLDER, "", body.as_bytes()));
        loop {
            if store.records().email_by_message_key(&key).await?.is_some() {
                break;
            }
            if started.elapsed() > ARRIVAL_TIMEOUT {
                return Err(BenchError::Unexpected(format!("message {i} never reached the CRM")));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        latencies.push(started.elapsed());
        appending
            .await
            .map_err(|e| BenchError::Unexpected(format!("APPEND: {e}")))?;
    }
    let _ = stop.send(true);
    let _ = looping.await;
    let p50 = percentile(&latencies, 50.0).unwrap_or_default();
    let p99 = percentile(&latencies, 99.0).unwrap_or_default();
    report.add(
        SECTION,
        format!("IDLE: APPEND until CRM e-mail, p50 ({samples} messages)"),
        millis(p50),
        "context",
        Standing::Info,
    );
    report.add(
        SECTION,
        format!("IDLE: APPEND until CRM e-mail, p99 ({samples} messages)"),
        millis(p99),
        "<= 2000 ms",
        Standing::of(p99 <= Duration::from_secs(2)),
    );
    Ok(())
}
