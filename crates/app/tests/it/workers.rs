//! R-SCHED-3 with real processes: three `crmsync worker` processes share 50
//! vdir profiles of one PostgreSQL database through row leases (R-SVC-5); a
//! worker killed with SIGKILL while it runs profiles loses them to the others
//! when its leases expire; SIGTERM lets the survivors finish their runs and
//! exit 0 (R-SVC-6).
//!
//! Runs of a vdir profile with one contact take milliseconds, too short to
//! kill a worker "in the middle" reliably. [`RunHold`] holds every run at its
//! first journal read by locking that table, so the test decides when runs
//! end without sleeping or changing the binary.

use crate::workers_support;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crmsync_model::{Contact, ContactFields, UserFields};
use crmsync_store::Store;
use crmsync_store::status::{RunRow, RunState};
use workers_support::database::{RunHold, TestDatabase};
use workers_support::eventually;
use workers_support::worker::WorkerProcess;

const PROFILES: usize = 50;
/// Runs at once per worker (`scheduler.max_concurrent_runs`).
const SLOTS: usize = 4;
/// Far longer than the test runs: a live worker's lease never lapses, however
/// loaded the machine. The dead worker's leases are expired by the test
/// ([`expire_leases_of`]): separate processes cannot share a test clock.
const LEASE_SECS: u64 = 600;
/// Limit of every poll: only turns a hang into a failure.
const PATIENCE: Duration = Duration::from_secs(90);

fn profile_name(i: usize) -> String {
    format!("p{i:02}")
}

/// What a test's workers are configured with.
struct Setup {
    profiles: usize,
    lease_secs: u64,
    shutdown_grace_secs: u64,
}

/// A user with one contact per profile, and the config naming a vdir profile per user.
async fn seed(store: &Store, db_url: &str, dir: &Path, setup: &Setup) -> (PathBuf, Vec<Contact>) {
    let mut config = format!(
        "[database]\nurl = \"{db_url}\"\n\n[log]\nformat = \"json\"\nlevel = \"info\"\n\n\
         [scheduler]\nmax_concurrent_runs = {SLOTS}\nlease_secs = {}\npoll_millis = 100\n\
         shutdown_grace_secs = {}\n\n",
        setup.lease_secs, setup.shutdown_grace_secs
    );
    let mut contacts = Vec::new();
    for i in 0..setup.profiles {
        let (user, _token) = store
            .records()
            .create_user(UserFields::active_user(
                format!("user{i:02}"),
                format!("user{i:02}@example.com"),
            ))
            .await
            .expect("create user");
        let contact = store
            .records()
            .create(
                &user.meta.id,
                ContactFields {
                    first_name: Some("Ada".into()),
                    last_name: Some(format!("Contact{i:02}")),
                    email1: Some(format!("contact{i:02}@example.org")),
                    active: true,
                    ..ContactFields::default()
                },
            )
            .await
            .expect("create contact");
        contacts.push(contact);
        // Server mode opens a vdir root but does not create it (`crmsync sync` does).
        std::fs::create_dir_all(mailbox(dir, i)).expect("mailbox root");
        // An hour between pulls: every run in this test is a first run, a
        // CRM change, or a take-over, never the interval.
        config.push_str(&format!(
            "[[profile]]\nname = \"{}\"\nuser = \"user{i:02}\"\npull_interval_secs = 3600\n\
             connector = {{ kind = \"vdir\", root = \"{}\" }}\n\n",
            profile_name(i),
            mailbox(dir, i).display()
        ));
    }
    let path = dir.join("crmsync.toml");
    std::fs::write(&path, config).expect("write the config");
    (path, contacts)
}

fn mailbox(dir: &Path, i: usize) -> PathBuf {
    dir.join("mail").join(profile_name(i))
}

fn vcards(dir: &Path, i: usize) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox(dir, i).join("contacts")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
        .map(|p| std::fs::read_to_string(p).expect("read vCard"))
        .collect()
}

/// Every profile's runs, oldest first.
async fn all_runs(store: &Store) -> BTreeMap<String, Vec<RunRow>> {
    let mut all = BTreeMap::new();
    for row in store.catalog().profile_rows(None).await.expect("read profiles") {
        let name = row.definition.name;
        let mut runs = store.sync_state().runs(&name, 1000).await.expect("read runs");
        runs.sort_by_key(|r| r.started_at);
        all.insert(name, runs);
    }
    all
}

/// Leases held now, by worker id.
async fn leases(store: &Store) -> BTreeMap<String, BTreeMap<String, DateTime<Utc>>> {
    let mut by_worker: BTreeMap<String, BTreeMap<String, DateTime<Utc>>> = BTreeMap::new();
    for row in store.catalog().profile_rows(None).await.expect("read profiles") {
        if let (Some(owner), Some(until)) = (row.status.lease_owner, row.status.lease_until) {
            by_worker.entry(owner).or_default().insert(row.definition.name, until);
        }
    }
    by_worker
}

/// Lets `worker`'s leases run out now, as if their time had passed: what the
/// clock does to a dead worker's leases, without waiting for it.
async fn expire_leases_of(store: &Store, worker: &str) -> DateTime<Utc> {
    let now = Utc::now();
    sqlx::query("UPDATE sync_profiles SET lease_until = $1 WHERE lease_owner = $2")
        .bind(now.timestamp_millis() - 1)
        .bind(worker)
        .execute(store.pool())
        .await
        .expect("expire the leases");
    now
}

async fn running_count(store: &Store) -> usize {
    all_runs(store)
        .await
        .values()
        .flatten()
        .filter(|r| r.finished_at.is_none())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_sched_3_three_worker_processes_share_fifty_profiles_survive_a_kill_and_stop_gracefully() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let setup = Setup {
        profiles: PROFILES,
        lease_secs: LEASE_SECS,
        shutdown_grace_secs: 30,
    };
    let (config, contacts) = seed(&store, &db.url, tmp.path(), &setup).await;
    let names: Vec<String> = (0..PROFILES).map(profile_name).collect();

    // Phase 1: with runs held, the three workers (started at the same moment,
    // as a service manager would) each fill their slots: the profiles are
    // spread, and no profile is leased twice (one row, one owner).
    let hold = RunHold::take(&store).await;
    let mut workers: Vec<WorkerProcess> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| WorkerProcess::start(&config, id, tmp.path()))
        .collect();
    eventually("each worker runs its share of profiles", PATIENCE, || {
        for w in workers.iter_mut() {
            w.assert_alive();
        }
        let store = store.clone();
        async move {
            let held = leases(&store).await;
            held.len() == 3 && held.values().all(|l| l.len() == SLOTS) && running_count(&store).await == 3 * SLOTS
        }
    })
    .await;

    // Phase 2: w1 dies in the middle of its runs. Its leases stay until they
    // expire; read them after the kill, as its last renewal may have moved them.
    let mut victim = workers.remove(0);
    victim.kill();
    let orphans = leases(&store)
        .await
        .remove("w1")
        .expect("the dead worker still holds leases");
    assert_eq!(orphans.len(), SLOTS, "a dead worker keeps its leases until they expire");
    hold.release().await;

    // Every other profile is served by the two survivors; the orphans stay
    // with the dead worker while its leases last.
    let others: Vec<usize> = (0..PROFILES)
        .filter(|i| !orphans.contains_key(&profile_name(*i)))
        .collect();
    eventually(
        "every other profile has a finished run and its contact",
        PATIENCE,
        || {
            for w in workers.iter_mut() {
                w.assert_alive();
            }
            let store = store.clone();
            let dir = tmp.path().to_path_buf();
            let others = others.clone();
            async move {
                let runs = all_runs(&store).await;
                others.iter().all(|&i| {
                    runs[&profile_name(i)].iter().any(|r| r.outcome == RunState::Ok) && vcards(&dir, i).len() == 1
                })
            }
        },
    )
    .await;
    let held = leases(&store).await;
    assert_eq!(
        held.get("w1").map(|l| l.keys().collect::<Vec<_>>()),
        Some(orphans.keys().collect()),
        "no survivor takes a lease that has not expired"
    );
    let runs = all_runs(&store).await;
    for name in orphans.keys() {
        assert!(
            runs[name].iter().all(|r| r.outcome != RunState::Ok),
            "{name} ran before its lease expired"
        );
    }

    // The orphans' leases run out: the survivors take them over.
    let expired_at = expire_leases_of(&store, "w1").await;
    eventually("every profile has a finished run and its contact", PATIENCE, || {
        for w in workers.iter_mut() {
            w.assert_alive();
        }
        let store = store.clone();
        let dir = tmp.path().to_path_buf();
        async move {
            let runs = all_runs(&store).await;
            (0..PROFILES).all(|i| {
                runs[&profile_name(i)]
                    .iter()
                    .any(|r| r.outcome == crmsync_store::status::RunState::Ok)
                    && vcards(&dir, i).len() == 1
            })
        }
    })
    .await;
    let runs = all_runs(&store).await;
    assert!(
        victim.finished_runs().is_empty(),
        "the victim finished nothing: {:?}",
        victim.finished_runs()
    );
    let survivors_ran: BTreeMap<String, Vec<String>> =
        workers.iter().map(|w| (w.id.clone(), w.finished_runs())).collect();
    for name in orphans.keys() {
        // Closed as `interrupted` by the takeover (R-SYNC-RUNS-1), never `ok`.
        let dead: Vec<&RunRow> = runs[name]
            .iter()
            .filter(|r| r.outcome == crmsync_store::status::RunState::Interrupted)
            .collect();
        assert_eq!(
            dead.len(),
            1,
            "{name}: the killed worker's run never finished: {:?}",
            runs[name]
        );
        let takeover = runs[name]
            .iter()
            .find(|r| r.outcome == crmsync_store::status::RunState::Ok)
            .expect("a run after the kill");
        assert!(
            takeover.started_at >= expired_at,
            "{name}: taken over at {} although the dead worker's lease ran until {expired_at}",
            takeover.started_at
        );
        let by: Vec<&String> = survivors_ran
            .iter()
            .filter(|(_, ran)| ran.contains(name))
            .map(|(id, _)| id)
            .collect();
        assert!(!by.is_empty(), "{name}: a survivor's log shows the take-over run");
    }
    let mut served_by: BTreeSet<&str> = BTreeSet::new();
    for (id, ran) in &survivors_ran {
        if !ran.is_empty() {
            served_by.insert(id);
        }
    }
    assert_eq!(served_by.len(), 2, "both survivors served profiles: {survivors_ran:?}");
    assert_no_overlap(&all_runs(&store).await);

    // Phase 3: a CRM edit of every contact triggers every profile (R-SCHED-2);
    // with runs held again, each survivor is in the middle of SLOTS runs when
    // SIGTERM arrives. They claim nothing more, finish those runs within
    // the grace period, give the leases back and exit 0 (R-SVC-6).
    let hold = RunHold::take(&store).await;
    let edited_at = Utc::now();
    for c in &contacts {
        let mut fields = c.fields.clone();
        fields.job_title = Some("Head of Phase Three".into());
        store
            .records()
            .update::<ContactFields>(&c.meta.id, c.meta.version, fields)
            .await
            .expect("edit contact");
    }
    eventually("both survivors are in the middle of runs", PATIENCE, || {
        for w in workers.iter_mut() {
            w.assert_alive();
        }
        let store = store.clone();
        async move {
            let held = leases(&store).await;
            held.len() == 2 && held.values().all(|l| l.len() == SLOTS)
        }
    })
    .await;
    let in_flight: BTreeSet<String> = leases(&store).await.into_values().flat_map(|l| l.into_keys()).collect();
    for w in workers.iter_mut() {
        w.terminate();
    }
    eventually("both survivors took the stop signal", PATIENCE, || {
        let stopping = workers.iter().all(WorkerProcess::is_stopping);
        async move { stopping }
    })
    .await;
    hold.release().await;
    for w in workers.iter_mut() {
        let status = w.wait_exit(PATIENCE);
        assert_eq!(status.code(), Some(0), "worker {} exit:\n{}", w.id, w.log_text());
    }

    assert!(leases(&store).await.is_empty(), "every lease was given back");
    let runs = all_runs(&store).await;
    assert_no_overlap(&runs);
    for (i, name) in names.iter().enumerate() {
        let after_edit: Vec<&RunRow> = runs[name].iter().filter(|r| r.started_at >= edited_at).collect();
        if in_flight.contains(name) {
            assert_eq!(after_edit.len(), 1, "{name}: the run in flight at SIGTERM");
            assert_eq!(
                after_edit[0].outcome,
                crmsync_store::status::RunState::Ok,
                "{name}: finished, not abandoned"
            );
            assert!(
                vcards(tmp.path(), i)[0].contains("Head of Phase Three"),
                "{name}: the finished run wrote the edit"
            );
        } else {
            assert!(after_edit.is_empty(), "{name}: nothing is claimed after SIGTERM");
        }
        let unfinished = store.sync_state().journal_unfinished(name).await.expect("journal");
        assert!(unfinished.is_empty(), "{name}: no journal step left half done");
    }
    // Still `running`, or closed as `interrupted` by a later run (R-SYNC-RUNS-1).
    let dead_runs = runs
        .values()
        .flatten()
        .filter(|r| r.finished_at.is_none() || r.outcome == crmsync_store::status::RunState::Interrupted)
        .count();
    assert_eq!(dead_runs, SLOTS, "the only unfinished runs are the killed worker's");
    store.close().await;
}

// R-SVC-6: runs that outlast the grace period are abandoned, not left
// holding their leases: the worker gives them back due at once and exits 0,
// and the next worker resumes them at once instead of after the lease expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_svc_6_sigterm_abandons_runs_past_the_grace_and_another_worker_resumes_them_at_once() {
    let db = TestDatabase::create().await;
    let store = db.store().await;
    let tmp = tempfile::tempdir().expect("temp dir");
    // A lease far longer than the test waits: a take-over inside it can only
    // come from leases given back.
    let setup = Setup {
        profiles: SLOTS + 2,
        lease_secs: 600,
        shutdown_grace_secs: 1,
    };
    let (config, _contacts) = seed(&store, &db.url, tmp.path(), &setup).await;

    let hold = RunHold::take(&store).await;
    let mut first = WorkerProcess::start(&config, "first", tmp.path());
    eventually("the first worker is in the middle of its runs", PATIENCE, || {
        first.assert_alive();
        let store = store.clone();
        async move {
            leases(&store).await.get("first").map(BTreeMap::len) == Some(SLOTS) && running_count(&store).await == SLOTS
        }
    })
    .await;
    let abandoned: BTreeMap<String, DateTime<Utc>> = leases(&store).await.remove("first").expect("its leases");
    first.terminate();
    let status = first.wait_exit(PATIENCE);
    assert_eq!(status.code(), Some(0), "exit after abandoning:\n{}", first.log_text());
    let stopped_at = Utc::now();
    assert!(leases(&store).await.is_empty(), "abandoned leases are given back");
    for row in store.catalog().profile_rows(None).await.expect("profiles") {
        if abandoned.contains_key(&row.definition.name) {
            assert!(
                row.status.next_run_at <= stopped_at,
                "{}: due at once, not at its next interval",
                row.definition.name
            );
        }
    }
    hold.release().await;

    let mut second = WorkerProcess::start(&config, "second", tmp.path());
    eventually("the second worker served every profile", PATIENCE, || {
        second.assert_alive();
        let store = store.clone();
        async move {
            all_runs(&store)
                .await
                .values()
                .all(|runs| runs.iter().any(|r| r.outcome == crmsync_store::status::RunState::Ok))
        }
    })
    .await;
    let runs = all_runs(&store).await;
    for (name, lease_until) in &abandoned {
        let resumed = runs[name]
            .iter()
            .find(|r| r.outcome == crmsync_store::status::RunState::Ok)
            .expect("resumed");
        assert!(
            resumed.started_at < *lease_until,
            "{name}: resumed at {} without waiting for the lease until {lease_until}",
            resumed.started_at
        );
        assert!(
            second.finished_runs().contains(name),
            "{name}: the second worker's log shows the run"
        );
        assert!(
            store
                .sync_state()
                .journal_unfinished(name)
                .await
                .expect("journal")
                .is_empty(),
            "{name}: nothing half done in the journal"
        );
    }
    assert!(first.finished_runs().is_empty(), "the first worker finished nothing");
    second.terminate();
    assert_eq!(second.wait_exit(PATIENCE).code(), Some(0), "{}", second.log_text());
    store.close().await;
}

/// R-SVC-4 from the history: a profile's finished runs never overlap.
fn assert_no_overlap(runs: &BTreeMap<String, Vec<RunRow>>) {
    for (name, runs) in runs {
        let finished: Vec<(DateTime<Utc>, DateTime<Utc>)> = runs
            .iter()
            // A dead run's row is closed by the next run (R-SYNC-RUNS-1).
            .filter(|r| r.outcome != crmsync_store::status::RunState::Interrupted)
            .filter_map(|r| r.finished_at.map(|f| (r.started_at, f)))
            .collect();
        for pair in finished.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "{name}: a run started at {} before the previous one finished at {}",
                pair[1].0,
                pair[0].1
            );
        }
    }
}

// On PostgreSQL a command prints its own output only: the server's notice
// that `_sqlx_migrations` already exists (every start after the first) is
// not shown on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_commands_print_no_migration_notice() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crmsync.toml");
    std::fs::write(&config, format!("[database]\nurl = \"{}\"\n", db.url)).unwrap();
    let run = |args: &[&str]| {
        crate::support::crmsync_command()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let first = run(&["migrate"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = run(&["migrate"]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!stderr.contains("_sqlx_migrations"), "{stderr}");
}
