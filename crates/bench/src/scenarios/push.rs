//! Push latency (R-SCHED-2, measured as R-BENCH-7): a contact edited through the CRM's HTTP API
//! until the edit is in the groupware, here a vdir folder.
//!
//! Set up as `crmsync serve` runs: the API (crates/server, with /metrics and
//! /readyz) on a real TCP socket and the scheduler beside it, default
//! `[scheduler]` settings, SQLite (the default database), one stored vdir
//! profile with push on. The clock starts just before the `PUT` is sent and
//! stops when a poll of the folder finds the new value in a file: what a user
//! waiting for the edit on the phone would measure.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use crmsync_config::SchedulerConfig;
use crmsync_model::{Contact, UserFields};
use crmsync_server::AppState;
use crmsync_service::{
    ConnectorSpec, DefaultConnectorFactory, Metrics, ProfileCatalog, ProfileDefinition, ProfileSource, RunResult,
    Scheduler, SchedulerParts, SchedulerSettings, SystemClock,
};
use crmsync_store::Store;
use serde_json::json;
use tokio::sync::watch;

use crate::data;
use crate::error::BenchError;
use crate::latency::{millis, percentile};
use crate::report::{Report, Standing};

const SECTION: &str = "push";
const PROFILE: &str = "push";
/// Edits go round these contacts.
const CONTACTS: usize = 10;
/// Generous for a loaded machine; a missed push would show as this.
const EDIT_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn run(edits: usize, report: &mut Report) -> Result<(), BenchError> {
    let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("crm.db").display())).await?;
    store.migrate().await?;
    let (user, token) = store
        .records()
        .create_user(UserFields::active_user("alice", "alice@example.com"))
        .await?;
    let mut contacts: Vec<Contact> = Vec::with_capacity(CONTACTS);
    for i in 0..CONTACTS {
        contacts.push(store.records().create(&user.meta.id, data::contact(i)).await?);
    }
    let root = dir.path().join("mailbox");
    std::fs::create_dir_all(&root).map_err(BenchError::io("creating the vdir"))?;
    let catalog = ProfileCatalog::new(store.clone(), None);
    let definition = ProfileDefinition {
        name: PROFILE.into(),
        user_id: user.meta.id.clone(),
        connector: ConnectorSpec::from_json(json!({ "kind": "vdir", "root": root }))
            .map_err(|e| BenchError::Unexpected(format!("vdir settings: {e}")))?,
        mail: None,
        rules: json!({}),
        pull_interval: Duration::from_secs(3600),
        push: true,
        enabled: true,
    };
    catalog.save(&definition, ProfileSource::Api, Utc::now()).await?;

    // `crmsync serve`: the scheduler and the API side by side, one stop signal.
    let mut settings = SchedulerSettings::from_config(&SchedulerConfig::default())?;
    settings.worker_id = "bench-push".into();
    let metrics = Metrics::new();
    let scheduler = Scheduler::new(SchedulerParts {
        catalog,
        factory: Arc::new(DefaultConnectorFactory),
        clock: Arc::new(SystemClock),
        metrics: metrics.clone(),
        settings,
    })
    .await?;
    let mut ended = scheduler.subscribe();
    let (stop, stopped) = watch::channel(false);
    let wait_stop = move || {
        let mut rx = stopped.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let scheduling = {
        let scheduler = scheduler.clone();
        let until = wait_stop();
        tokio::spawn(async move { scheduler.run_until(until).await })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(BenchError::io("binding the API's port"))?;
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(BenchError::io("reading the API's port"))?
    );
    let serving = tokio::spawn(crmsync_server::routes::ops_metrics::serve_with_ops(
        listener,
        AppState::new(store.clone()),
        metrics,
        wait_stop(),
    ));

    // The profile is due at once: its first sync writes the ten cards.
    let first = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match ended.recv().await {
                Ok(event) if event.profile == PROFILE => return Ok(event.result),
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => return Err(BenchError::Unexpected(format!("scheduler events: {e}"))),
            }
        }
    })
    .await
    .map_err(|_| BenchError::TimedOut("the first sync did not end within 120 s".into()))??;
    drop(ended);
    if !matches!(first, RunResult::Finished { .. }) {
        return Err(BenchError::Unexpected(format!("first sync: {first:?}")));
    }

    let folder = root.join("contacts");
    let client = reqwest::Client::new();
    let poll_ms = SchedulerConfig::default().poll_millis;
    let mut latencies = Vec::with_capacity(edits);
    let mut outcome = Ok(());
    for i in 0..edits {
        // Edits spread over the scheduler's fallback poll period: should the
        // wake-up (R-PUSH-1) fail, edits at one phase of the poll would hide
        // it behind one point of the distribution.
        tokio::time::sleep(Duration::from_millis((i as u64 * 7919) % poll_ms)).await;
        match edit_and_wait(&client, &base, &token, &contacts[i % CONTACTS], i, &folder).await {
            Ok(took) => latencies.push(took),
            Err(e) => {
                outcome = Err(e);
                break;
            }
        }
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(30), scheduling).await;
    let _ = tokio::time::timeout(Duration::from_secs(30), serving).await;
    store.close().await;
    outcome?;

    let (Some(p50), Some(p99)) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0)) else {
        return Err(BenchError::Unexpected("no edit measured".into()));
    };
    report.add(
        SECTION,
        format!("API edit -> vdir file, p50 of {edits} edits"),
        millis(p50),
        "(context)",
        Standing::Info,
    );
    report.add(
        SECTION,
        format!("API edit -> vdir file, p99 of {edits} edits"),
        millis(p99),
        "<= 100 ms",
        Standing::of(p99 <= Duration::from_millis(100)),
    );
    report.note(format!(
        "push: `crmsync serve` in-process (API on TCP + scheduler, default [scheduler]); the scheduler wakes on \
         the committed change (R-PUSH-1), the poll of every {poll_ms} ms is only the fallback"
    ));
    Ok(())
}

/// PUTs a new job title on `contact` through the API and waits until a file
/// of the vdir folder holds it. Returns the time from the PUT to the file.
async fn edit_and_wait(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    contact: &Contact,
    i: usize,
    folder: &Path,
) -> Result<Duration, BenchError> {
    let url = format!("{base}/api/v1/contacts/{}", contact.meta.id);
    let api = |e: reqwest::Error| BenchError::Api(format!("{url}: {e}"));
    let current = client.get(&url).bearer_auth(token).send().await.map_err(api)?;
    if !current.status().is_success() {
        return Err(BenchError::Api(format!("GET {url}: {}", current.status())));
    }
    let etag = current
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| BenchError::Api(format!("GET {url}: no ETag")))?
        .to_owned();
    // Zero-padded, so no marker is a prefix of another one.
    let title = format!("Push edit #{i:05}");
    let mut fields = contact.fields.clone();
    fields.job_title = Some(title.clone());

    let started = Instant::now();
    let put = client
        .put(&url)
        .bearer_auth(token)
        .header("If-Match", etag)
        .json(&fields)
        .send()
        .await
        .map_err(api)?;
    if !put.status().is_success() {
        let status = put.status();
        let body = put.text().await.unwrap_or_default();
        return Err(BenchError::Api(format!("PUT {url}: {status} {body}")));
    }
    loop {
        if folder_holds(folder, &title)? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > EDIT_TIMEOUT {
            return Err(BenchError::TimedOut(format!(
                "edit {i} was not in the vdir within {} s",
                EDIT_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Whether a `.vcf` file of `folder` contains `text` (files are replaced
/// atomically by rename, so a read never sees half a card).
fn folder_holds(folder: &Path, text: &str) -> Result<bool, BenchError> {
    let entries = std::fs::read_dir(folder).map_err(BenchError::io(format!("listing {}", folder.display())))?;
    for entry in entries {
        let path = entry.map_err(BenchError::io("listing the vdir"))?.path();
        if path.extension().is_some_and(|e| e == "vcf")
            && let Ok(body) = std::fs::read_to_string(&path)
            && body.contains(text)
        {
            return Ok(true);
        }
    }
    Ok(false)
}
