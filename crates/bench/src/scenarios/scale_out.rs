//! Scale-out (R-SCHED-3, measured as R-BENCH-6): profiles per second with 1, 2 and 4 workers on one
//! PostgreSQL database, a fresh database per measurement.
//!
//! A worker is a separate process (this binary's hidden `scale-worker`
//! command) running the scheduler exactly as `crmsync worker` builds it:
//! default `[scheduler]` settings, production connectors and clock, its own
//! connection pool. Processes rather than tasks, so the workers share nothing
//! but the database, as on several machines; not the `crmsync` binary itself,
//! so the benchmark does not need the CLI built.
//!
//! Every profile is saved due tomorrow; once all workers are up, all are
//! made due at one instant `t0` (a CRM-style trigger), and the figure is the
//! time from `t0` until the last profile's run ended, read from the runs'
//! own end times in the database.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crmsync_config::SchedulerConfig;
use crmsync_model::UserFields;
use crmsync_service::{
    DefaultConnectorFactory, Metrics, ProfileCatalog, ProfileSource, Scheduler, SchedulerParts, SchedulerSettings,
    SecretKey, SystemClock,
};
use crmsync_store::Store;
use tokio::io::AsyncReadExt as _;

use crate::data;
use crate::error::BenchError;
use crate::report::{Report, Standing, secs};
use crmsync_testkit::TestDatabase;

const SECTION: &str = "scale-out";
/// The variable `crmsync worker` reads `[security] key` from.
const KEY_ENV: &str = "CRMSYNC_SECURITY_KEY";
/// "Small" profiles: a user with a few contacts, synced to a vdir folder.
const CONTACTS_PER_PROFILE: usize = 3;
/// What a worker prints once its scheduler is built and watching.
const READY: &str = "scale-worker ready";
/// Generous: a loaded 2-core machine still finishes 200 small profiles well within it.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// Measures each worker count on its own fresh database and reports the
/// rates and the 4-to-1 speed-up.
pub async fn run(
    exe: &Path,
    admin_url: &str,
    profiles: usize,
    worker_counts: &[usize],
    report: &mut Report,
) -> Result<(), BenchError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut rates = Vec::new();
    for &workers in worker_counts {
        let db = TestDatabase::try_postgres(admin_url, "crmsync_bench")
            .await
            .map_err(|e| BenchError::Postgres(e.to_string()))?;
        let measured = measure(exe, db.url(), profiles, workers).await;
        db.drop_database()
            .await
            .map_err(|e| BenchError::Postgres(e.to_string()))?;
        let took = measured?;
        let rate = profiles as f64 / took.as_secs_f64().max(1e-9);
        rates.push((workers, rate));
        report.add(
            SECTION,
            format!("{workers} worker process(es), {profiles} vdir profiles"),
            format!("{rate:.1} profiles/s ({})", secs(took)),
            "(context)",
            Standing::Info,
        );
    }
    let rate_of = |k: usize| rates.iter().find(|(w, _)| *w == k).map(|(_, r)| *r);
    if let (Some(one), Some(four)) = (rate_of(1), rate_of(4)) {
        let speedup = four / one;
        report.add(
            SECTION,
            format!("4 workers / 1 worker, profiles per second ({cores} CPU cores)"),
            format!("{speedup:.2}x"),
            ">= 3.5x",
            Standing::of(speedup >= 3.5),
        );
    }
    let defaults = SchedulerConfig::default();
    report.note(format!(
        "scale-out: workers are separate processes running the scheduler as `crmsync worker` does (default \
         [scheduler]); {cores} CPU cores. A worker runs up to max_concurrent_runs = {} profiles at once and \
         claims the next as soon as one ends (R-SCHED-5), so its rate is bounded by the runs and the cores, \
         not by the poll_millis = {} ms tick.",
        defaults.max_concurrent_runs, defaults.poll_millis
    ));
    if let (Some(one), Some(two)) = (rate_of(1), rate_of(2)) {
        report.add(
            SECTION,
            "2 workers / 1 worker, profiles per second",
            format!("{:.2}x", two / one),
            "(context)",
            Standing::Info,
        );
    }
    Ok(())
}

/// One measurement on the empty database at `url`.
async fn measure(exe: &Path, url: &str, profiles: usize, workers: usize) -> Result<Duration, BenchError> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let folders = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
    let names = seed_profiles(&store, folders.path(), profiles).await?;

    let running = Workers::start(exe, url, workers, None, None).await?;
    // Far enough ahead that every trigger below is written before any run
    // may start; checked, since a loaded machine can be slower than that.
    let t0 = Utc::now() + chrono::Duration::seconds(3);
    let triggered = store.catalog().trigger_profiles(&names, t0).await?;
    if triggered as usize != profiles {
        return Err(BenchError::Unexpected(format!(
            "triggered {triggered} of {profiles} profiles"
        )));
    }
    if Utc::now() >= t0 {
        return Err(BenchError::TimedOut(
            "making the profiles due took longer than 3 s; the machine is too loaded to measure".into(),
        ));
    }
    let last_end = wait_all_ran(&store, profiles, t0).await;
    drop(running);
    store.close().await;
    let last_end = last_end?;
    Ok((last_end - t0).to_std().unwrap_or_default())
}

/// Where seeded profiles sync to.
pub(crate) enum ProfileTarget<'a> {
    /// A vdir folder each, under this folder.
    Vdir(&'a Path),
    /// A principal each (`user{p}`) on the DAV server at `url`; their
    /// passwords sealed with `key`, which the workers are given too.
    Dav { url: &'a str, key: &'a SecretKey },
}

/// `n` users with a few contacts each, one vdir profile each, due tomorrow.
pub(crate) async fn seed_profiles(store: &Store, root: &Path, n: usize) -> Result<Vec<String>, BenchError> {
    seed_profiles_to(store, &ProfileTarget::Vdir(root), n).await
}

/// `n` users with a few contacts each, one profile each syncing to
/// `target`, due tomorrow. DAV profiles are saved as an administrator's
/// (`ProfileSource::Config`), which may reach the server on 127.0.0.1
/// (R-SEC-1 keeps users' own profiles off internal addresses).
pub(crate) async fn seed_profiles_to(
    store: &Store,
    target: &ProfileTarget<'_>,
    n: usize,
) -> Result<Vec<String>, BenchError> {
    let catalog = match target {
        ProfileTarget::Vdir(_) => ProfileCatalog::new(store.clone(), None),
        ProfileTarget::Dav { key, .. } => ProfileCatalog::new(store.clone(), Some((*key).clone())),
    };
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let mut names = Vec::with_capacity(n);
    for p in 0..n {
        let name = format!("scale-{p:04}");
        let (user, _token) = store
            .records()
            .create_user(UserFields::active_user(
                format!("user{p}"),
                format!("user{p}@example.com"),
            ))
            .await?;
        for c in 0..CONTACTS_PER_PROFILE {
            store
                .records()
                .create(&user.meta.id, data::contact(p * CONTACTS_PER_PROFILE + c))
                .await?;
        }
        match target {
            ProfileTarget::Vdir(root) => {
                let folder = root.join(&name);
                std::fs::create_dir_all(&folder).map_err(BenchError::io("creating a vdir folder"))?;
                let definition = data::vdir_profile(&name, &user.meta.id, &folder)?;
                catalog.save(&definition, ProfileSource::Api, tomorrow).await?;
            }
            ProfileTarget::Dav { url, .. } => {
                let definition = data::dav_profile(&name, &user.meta.id, url, &format!("user{p}"))?;
                catalog.save(&definition, ProfileSource::Config, tomorrow).await?;
            }
        }
        names.push(name);
    }
    Ok(names)
}

/// Polls the profiles' rows until every one has a run that ended after `t0`;
/// returns the latest end. A failed run fails the measurement.
async fn wait_all_ran(store: &Store, profiles: usize, t0: DateTime<Utc>) -> Result<DateTime<Utc>, BenchError> {
    let deadline = Instant::now() + RUN_TIMEOUT;
    loop {
        let rows = store.catalog().profile_rows(None).await?;
        if let Some(failed) = rows.iter().find(|r| r.status.failures > 0) {
            return Err(BenchError::Unexpected(format!(
                "profile {} failed: {}",
                failed.definition.name,
                failed.status.state_reason.as_deref().unwrap_or("no reason")
            )));
        }
        let ends: Vec<DateTime<Utc>> = rows
            .iter()
            .filter_map(|r| r.status.last_run_at)
            .filter(|end| *end >= t0)
            .collect();
        if ends.len() == profiles {
            return Ok(ends.into_iter().max().unwrap_or(t0));
        }
        if Instant::now() > deadline {
            return Err(BenchError::TimedOut(format!(
                "{} of {profiles} profiles ran within {} s",
                ends.len(),
                RUN_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Worker processes, killed on drop (the database is dropped after them).
pub(crate) struct Workers(Vec<Child>);

impl Workers {
    /// Starts `n` workers and waits until each says it is ready.
    /// `max_runs`: their `scheduler.max_concurrent_runs` (`None`: the default).
    /// `key`: the key the profiles' credentials are sealed with (DAV
    /// profiles), handed over in the environment as `crmsync worker` reads it.
    pub(crate) async fn start(
        exe: &Path,
        url: &str,
        n: usize,
        max_runs: Option<u64>,
        key: Option<&SecretKey>,
    ) -> Result<Workers, BenchError> {
        let mut workers = Workers(Vec::with_capacity(n));
        for i in 0..n {
            let mut command = Command::new(exe);
            command
                .arg("scale-worker")
                .arg("--url")
                .arg(url)
                .arg("--id")
                .arg(format!("bench-worker-{i}"));
            if let Some(max_runs) = max_runs {
                command.arg("--max-runs").arg(max_runs.to_string());
            }
            match key {
                Some(key) => command.env(KEY_ENV, key.to_base64()),
                None => command.env_remove(KEY_ENV),
            };
            let child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .map_err(BenchError::io("starting a worker process"))?;
            workers.0.push(child);
        }
        for child in &mut workers.0 {
            let stdout = child.stdout.take().expect("piped");
            let said = tokio::time::timeout(
                Duration::from_secs(120),
                tokio::task::spawn_blocking(move || {
                    let mut line = String::new();
                    BufReader::new(stdout).read_line(&mut line).map(|_| line)
                }),
            )
            .await;
            match said {
                Ok(Ok(Ok(line))) if line.trim() == READY => {}
                Ok(Ok(Ok(line))) => {
                    return Err(BenchError::Unexpected(format!("a worker did not start: {line:?}")));
                }
                Ok(Ok(Err(e))) => return Err(BenchError::io("reading a worker's output")(e)),
                Ok(Err(e)) => return Err(BenchError::Unexpected(format!("reader task: {e}"))),
                Err(_) => return Err(BenchError::TimedOut("a worker was not ready within 120 s".into())),
            }
        }
        Ok(workers)
    }

    /// The workers' process ids, to read their CPU time and memory.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.0.iter().map(Child::id).collect()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The worker process: the scheduler as `crmsync worker` builds it, until
/// its standard input closes (or it is killed).
/// `max_runs`: `scheduler.max_concurrent_runs` (`None`: the default).
pub async fn worker_child(url: &str, id: &str, max_runs: Option<u64>) -> Result<(), BenchError> {
    let store = Store::connect(url).await?;
    let key = match std::env::var(KEY_ENV) {
        Ok(text) => Some(SecretKey::from_base64(&text)?),
        Err(_) => None,
    };
    let mut config = SchedulerConfig::default();
    if let Some(max_runs) = max_runs {
        config.max_concurrent_runs = max_runs;
    }
    let mut settings = SchedulerSettings::from_config(&config)?;
    settings.worker_id = id.to_owned();
    let scheduler = Scheduler::new(SchedulerParts {
        catalog: ProfileCatalog::new(store, key),
        factory: Arc::new(DefaultConnectorFactory),
        clock: Arc::new(SystemClock),
        metrics: Metrics::new(),
        settings,
    })
    .await?;
    println!("{READY}");
    scheduler
        .run_until(async {
            let mut rest = Vec::new();
            let _ = tokio::io::stdin().read_to_end(&mut rest).await;
        })
        .await;
    Ok(())
}
