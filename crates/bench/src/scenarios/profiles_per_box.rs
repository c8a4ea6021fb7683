//! Profiles per box (issue 17 item 5, R-SCALE-1): how many stored profiles
//! worker processes keep in step.
//!
//! N small vdir profiles (one user each with a few contacts) are stored; the
//! workers (this binary's `scale-worker`, the scheduler as `crmsync worker`
//! builds it) first sync them all, so every later run finds nothing to do.
//! Then two rounds of no-change runs:
//! - *burst*: all N due at one instant; runs/s = N / (last end − that instant),
//!   the most a worker can do, with the workers' CPU time and memory;
//! - *paced*: profile i due at `t + i / pace` (default 10,000 profiles per
//!   5 minutes = 33.3/s, what 10,000 profiles at a 5-minute interval ask);
//!   lag p99 = nearest-rank p99 of (run start − its due time), and the CPU
//!   share the workers needed at that pace.
//!
//! Times come from the runs' rows in the database (`sync_runs`), CPU and
//! memory from /proc of the worker processes.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use crmsync_store::Store;
use crmsync_store::status::RunState;
use crmsync_testkit::TestDatabase;

use crate::error::BenchError;
use crate::peers::{Peer, PeerKind};
use crate::report::{Report, Standing, secs};
use crate::scenarios::scale_out::{ProfileTarget, Workers, seed_profiles_to};
use crmsync_service::SecretKey;

const SECTION: &str = "profiles per box";
/// Due times of the paced round are written in buckets this long: a few
/// statements per second instead of one per profile.
const PACE_BUCKET: Duration = Duration::from_millis(100);
/// How often the bench looks at the runs table; seldom, so that it takes
/// next to nothing from the workers it measures.
const POLL: Duration = Duration::from_secs(1);
/// Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture.
const TICKS_PER_SEC: f64 = 100.0;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub profiles: usize,
    pub workers: usize,
    /// Profiles per second the paced round asks for.
    pub pace: f64,
    /// `scheduler.max_concurrent_runs` of the workers (`None`: the default).
    pub max_runs: Option<u64>,
    /// PostgreSQL admin URL; `None`: one SQLite file.
    pub postgres: Option<String>,
    /// DAV profiles, each its own user on one Radicale, instead of vdir ones.
    pub dav: bool,
}

/// Runs the three rounds and adds their figures to `report`.
pub async fn run(exe: &Path, sizes: &Sizes, report: &mut Report) -> Result<(), BenchError> {
    let db = match &sizes.postgres {
        Some(admin) => TestDatabase::try_postgres(admin, "crmsync_bench")
            .await
            .map_err(|e| BenchError::Postgres(e.to_string()))?,
        None => TestDatabase::sqlite(),
    };
    let measured = measure(exe, &db, sizes, report).await;
    if sizes.postgres.is_some() {
        db.drop_database()
            .await
            .map_err(|e| BenchError::Postgres(e.to_string()))?;
    }
    measured
}

async fn measure(exe: &Path, db: &TestDatabase, sizes: &Sizes, report: &mut Report) -> Result<(), BenchError> {
    let n = sizes.profiles;
    let backend = if sizes.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let store = Store::connect(db.url()).await?;
    store.migrate().await?;
    let seeding = Instant::now();
    // Kept up while the workers run: every DAV profile syncs with it.
    let radicale = if sizes.dav {
        Some(Peer::start(PeerKind::Radicale)?)
    } else {
        None
    };
    let key = SecretKey::generate();
    let url = radicale.as_ref().map(|peer| peer.url());
    let target = match &url {
        Some(url) => ProfileTarget::Dav { url, key: &key },
        None => ProfileTarget::Vdir(db.dir()),
    };
    let names = seed_profiles_to(&store, &target, n).await?;
    println!("   seeded {n} profiles in {}", secs(seeding.elapsed()));
    let workers = Workers::start(
        exe,
        db.url(),
        sizes.workers,
        sizes.max_runs,
        radicale.as_ref().map(|_| &key),
    )
    .await?;
    let pids = workers.pids();
    let kind = if sizes.dav {
        "DAV profiles (one Radicale)"
    } else {
        "vdir profiles"
    };
    let label = format!("{} worker(s), {n} {kind}, {backend}", sizes.workers);

    let first = Round::burst(&store, &names).await?;
    let first_took = first.wait(&store, n).await?;
    report.add(
        SECTION,
        format!("first sync of every profile, {label}"),
        format!(
            "{:.1} runs/s ({})",
            n as f64 / first_took.as_secs_f64().max(1e-9),
            secs(first_took)
        ),
        "(context)",
        Standing::Info,
    );

    let before = Usage::of(&pids)?;
    let burst = Round::burst(&store, &names).await?;
    let burst_took = burst.wait(&store, n).await?;
    let after = Usage::of(&pids)?;
    let rate = n as f64 / burst_took.as_secs_f64().max(1e-9);
    report.add(
        SECTION,
        format!("no-change runs, all due at once, {label}"),
        format!("{rate:.1} runs/s ({})", secs(burst_took)),
        ">= 33 runs/s per worker",
        Standing::of(rate >= 33.0 * sizes.workers as f64),
    );
    report.add(
        SECTION,
        format!("worker CPU during the burst, {label}"),
        format!(
            "{:.0} % of one core per worker ({:.1} ms CPU per run)",
            100.0 * after.cpu_since(&before) / burst_took.as_secs_f64().max(1e-9) / sizes.workers as f64,
            1000.0 * after.cpu_since(&before) / n as f64
        ),
        "(context)",
        Standing::Info,
    );

    let before = Usage::of(&pids)?;
    let paced = Round::paced(&store, &names, sizes.pace).await?;
    let paced_took = paced.wait(&store, n).await?;
    let after = Usage::of(&pids)?;
    let lags = paced.lags(&store).await?;
    let p99 = nearest_rank(&lags, 0.99);
    let last_due = paced.due.values().max().copied().unwrap_or(paced.start);
    report.add(
        SECTION,
        format!("lag behind schedule p99, {:.1} profiles/s due, {label}", sizes.pace),
        format!("{} (p50 {})", millis(p99), millis(nearest_rank(&lags, 0.5))),
        "(context: <= 1 s keeps up)",
        Standing::Info,
    );
    report.add(
        SECTION,
        format!("worker CPU at {:.1} profiles/s, {label}", sizes.pace),
        format!(
            "{:.0} % of one core per worker over {}",
            100.0 * after.cpu_since(&before) / paced_took.as_secs_f64().max(1e-9) / sizes.workers as f64,
            secs((last_due - paced.start).to_std().unwrap_or_default())
        ),
        "(context)",
        Standing::Info,
    );
    report.add(
        SECTION,
        format!("worker RSS at the end, {label}"),
        format!(
            "{:.0} MiB now, {:.0} MiB peak (largest worker)",
            after.rss_bytes as f64 / 1048576.0,
            after.peak_rss_bytes as f64 / 1048576.0
        ),
        "(context)",
        Standing::Info,
    );
    drop(workers);
    store.close().await;
    Ok(())
}

/// One round of runs: when each profile was made due.
struct Round {
    start: DateTime<Utc>,
    due: std::collections::HashMap<String, DateTime<Utc>>,
}

impl Round {
    /// Every profile due at one instant, far enough ahead that the trigger
    /// is written before any run may start: 3 s and 1 ms a profile (4,000
    /// profiles on PostgreSQL at load 11 took longer than a flat 3 s).
    async fn burst(store: &Store, names: &[String]) -> Result<Round, BenchError> {
        let start = Utc::now() + chrono::Duration::seconds(3) + chrono::Duration::milliseconds(names.len() as i64);
        let triggered = store.catalog().trigger_profiles(names, start).await?;
        if triggered as usize != names.len() {
            return Err(BenchError::Unexpected(format!(
                "triggered {triggered} of {} profiles",
                names.len()
            )));
        }
        late_check(start)?;
        Ok(Round {
            start,
            due: names.iter().map(|n| (n.clone(), start)).collect(),
        })
    }

    /// Profile i due at `start + i / pace`, written bucket by bucket before
    /// the first is due.
    async fn paced(store: &Store, names: &[String], pace: f64) -> Result<Round, BenchError> {
        let per_bucket = ((pace * PACE_BUCKET.as_secs_f64()).round() as usize).max(1);
        let buckets = names.len().div_ceil(per_bucket);
        // A generous 20 ms per statement, for a loaded machine.
        let start = Utc::now() + chrono::Duration::seconds(3) + chrono::Duration::milliseconds(20 * buckets as i64);
        let mut due = std::collections::HashMap::with_capacity(names.len());
        for (b, chunk) in names.chunks(per_bucket).enumerate() {
            let at = start + chrono::Duration::from_std(PACE_BUCKET * b as u32).unwrap_or_default();
            store.catalog().trigger_profiles(chunk, at).await?;
            due.extend(chunk.iter().map(|n| (n.clone(), at)));
        }
        late_check(start)?;
        Ok(Round { start, due })
    }

    /// Waits until every profile has a run that started in this round and
    /// ended; returns the time from the round's start to the last end. A
    /// failed run fails the measurement.
    async fn wait(&self, store: &Store, n: usize) -> Result<Duration, BenchError> {
        let last_due = self.due.values().max().copied().unwrap_or(self.start);
        let deadline = Instant::now()
            + (last_due - Utc::now()).to_std().unwrap_or_default()
            + Duration::from_secs(60 + n as u64 / 2);
        loop {
            tokio::time::sleep(POLL).await;
            let runs = store.sync_state().runs_since(self.start).await?;
            if let Some(failed) = runs.iter().find(|r| r.outcome == RunState::Failed) {
                return Err(BenchError::Unexpected(format!("a run of {} failed", failed.profile)));
            }
            let mut ended = std::collections::HashMap::new();
            for run in &runs {
                if let Some(end) = run.finished_at {
                    ended.insert(run.profile.as_str(), end);
                }
            }
            if ended.len() >= n {
                let last = ended.values().max().copied().unwrap_or(self.start);
                return Ok((last - self.start).to_std().unwrap_or_default());
            }
            if Instant::now() > deadline {
                return Err(BenchError::TimedOut(format!(
                    "{} of {n} profiles ran; see the workers' log for the rest",
                    ended.len()
                )));
            }
        }
    }

    /// Run start − due time of each profile's first run of the round.
    async fn lags(&self, store: &Store) -> Result<Vec<Duration>, BenchError> {
        let mut first_start = std::collections::HashMap::new();
        for run in store.sync_state().runs_since(self.start).await? {
            first_start.entry(run.profile).or_insert(run.started_at);
        }
        Ok(self
            .due
            .iter()
            .filter_map(|(name, due)| first_start.get(name).map(|s| (*s - *due).to_std().unwrap_or_default()))
            .collect())
    }
}

fn late_check(start: DateTime<Utc>) -> Result<(), BenchError> {
    if Utc::now() >= start {
        return Err(BenchError::TimedOut(
            "making the profiles due took longer than planned; the machine is too loaded to measure".into(),
        ));
    }
    Ok(())
}

/// Nearest-rank percentile (`q` in 0..=1) of `values`; zero when empty.
pub fn nearest_rank(values: &[Duration], q: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// CPU time and memory of the worker processes.
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu_secs: f64,
    rss_bytes: u64,
    peak_rss_bytes: u64,
}

impl Usage {
    fn of(pids: &[u32]) -> Result<Usage, BenchError> {
        let mut usage = Usage {
            cpu_secs: 0.0,
            rss_bytes: 0,
            peak_rss_bytes: 0,
        };
        for pid in pids {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map_err(BenchError::io("reading a worker's CPU time"))?;
            usage.cpu_secs += cpu_secs_of_stat(&stat)
                .ok_or_else(|| BenchError::Unexpected(format!("unreadable /proc/{pid}/stat")))?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
                .map_err(BenchError::io("reading a worker's memory"))?;
            usage.rss_bytes = usage.rss_bytes.max(status_kib(&status, "VmRSS:").unwrap_or(0) * 1024);
            usage.peak_rss_bytes = usage
                .peak_rss_bytes
                .max(status_kib(&status, "VmHWM:").unwrap_or(0) * 1024);
        }
        Ok(usage)
    }

    fn cpu_since(&self, before: &Usage) -> f64 {
        (self.cpu_secs - before.cpu_secs).max(0.0)
    }
}

/// utime + stime (fields 14 and 15) of a /proc/PID/stat line, in seconds.
/// The command name (field 2) may hold spaces, so fields count from its `)`.
pub fn cpu_secs_of_stat(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (state): utime is field 14, stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// A `Key:   123 kB` line of /proc/PID/status, in KiB.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_command_name() {
        let stat = "4242 (crmsync bench) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0";
        assert_eq!(cpu_secs_of_stat(stat), Some(3.0));
    }

    #[test]
    fn nearest_rank_p99_of_a_hundred_is_the_99th() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(nearest_rank(&values, 0.99), Duration::from_millis(99));
        assert_eq!(nearest_rank(&values, 0.5), Duration::from_millis(50));
        assert_eq!(nearest_rank(&[], 0.99), Duration::ZERO);
    }
}
