//! The SIGKILL proof (issue 6, R-SAFE-1, R-SAFE-2): a first sync of N
//! contacts by the real `crmsync sync` binary, killed with SIGKILL at random
//! moments K times and restarted each time, then run to completion. At the end
//! both sides hold exactly the N contacts, no duplicate, the status store
//! agrees with both, and a further sync plans nothing.
//!
//! Against a real Radicale (slow, so fewer kills) and a vdir (cheap, more).
//! Sizes: `CRMSYNC_KILL_CONTACTS` (default 300), `CRMSYNC_KILL_ROUNDS`
//! (default 10 for Radicale, 30 for vdir); the full variant of the issue is
//! `CRMSYNC_KILL_CONTACTS=3000 CRMSYNC_KILL_ROUNDS=100`. The kill moments come
//! from a seeded generator and are counted in cards written, not in seconds,
//! so a loaded machine cannot make them miss the writes; the seed is printed,
//! and `CRMSYNC_KILL_SEED=<seed>` replays the same schedule.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crmsync_connector::Connector;
use crmsync_dav::{DavConfig, DavConnector};
use crmsync_model::{ContactFields, UserFields};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_testkit::{Peer, PeerKind};
use serde_json::Value;
use tempfile::TempDir;

const PROFILE: &str = "alice";
const DAV_USER: &str = crmsync_testkit::USER;
const DAV_PASSWORD: &str = crmsync_testkit::PASSWORD;

// R-SAFE-1, R-SAFE-2 (DAV: Radicale)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_2_first_sync_to_radicale_killed_at_random_moments_converges_without_duplicates() {
    let radicale = Peer::start(PeerKind::Radicale);
    let target = Target::Dav {
        url: radicale.url(),
        storage: radicale.storage(),
    };
    kill_loop(&target, env_usize("CRMSYNC_KILL_ROUNDS", 10)).await;
}

// R-SAFE-1, R-SAFE-2 (vdir)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_2_first_sync_to_vdir_killed_at_random_moments_converges_without_duplicates() {
    kill_loop(&Target::Vdir, env_usize("CRMSYNC_KILL_ROUNDS", 30)).await;
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a whole number")),
        Err(_) => default,
    }
}

enum Target {
    Vdir,
    /// A DAV server whose storage folder the test can look at.
    Dav {
        url: String,
        storage: PathBuf,
    },
}

/// How many cards the mailbox holds, counted on disk (Radicale keeps one
/// file per item), so counting adds no request to the server under test.
fn written(target: &Target, world: &World) -> usize {
    let folder = match target {
        Target::Vdir => world.root.join(DAV_USER).join("contacts"),
        Target::Dav { storage, .. } => storage.join("collection-root").join(DAV_USER).join("contacts"),
    };
    std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".vcf"))
                .count()
        })
        .unwrap_or(0)
}

/// One CRM (SQLite) with its config file, syncing as user `alice` to `target`.
struct World {
    _dir: TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl World {
    /// A CRM holding a copy of `seed_db`, its mailbox under `mailbox` (the vdir
    /// folder, or the DAV account name: a separate account is a separate home).
    fn new(target: &Target, seed_db: &Path, mailbox: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::copy(seed_db, root.join("crm.db")).unwrap();
        let connector = match target {
            Target::Vdir => format!("{{ kind = \"vdir\", root = \"{}\" }}", root.join(mailbox).display()),
            Target::Dav { url, .. } => {
                format!(
                    "{{ kind = \"dav\", url = \"{url}\", username = \"{mailbox}\", password = \"{DAV_PASSWORD}\" }}"
                )
            }
        };
        let config = root.join("crmsync.toml");
        let text = format!(
            "[database]\nurl = \"sqlite://{}\"\n[log]\nlevel = \"warn\"\n\n\
             [[profile]]\nname = \"{PROFILE}\"\nuser = \"alice\"\nconnector = {connector}\n",
            root.join("crm.db").display()
        );
        std::fs::write(&config, text).unwrap();
        World {
            _dir: dir,
            root,
            config,
        }
    }

    /// `crmsync --config … [--json] sync --profile alice`, output to a log file.
    fn spawn_sync(&self, json: bool) -> Child {
        let log = std::fs::File::create(self.root.join("sync.log")).unwrap();
        let mut args = vec!["--config".to_string(), self.config.display().to_string()];
        if json {
            args.push("--json".into());
        }
        args.extend(["sync".into(), "--profile".into(), PROFILE.into()]);
        let mut command = crate::support::crmsync_command();
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // The binary refuses unknown CRMSYNC_* variables (they would be
        // misspelt configuration keys): the test's own knobs stay here.
        for name in ["CRMSYNC_KILL_ROUNDS", "CRMSYNC_KILL_CONTACTS", "CRMSYNC_KILL_SEED"] {
            command.env_remove(name);
        }
        command.spawn().expect("crmsync starts")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("sync.log")).unwrap_or_default()
    }

    /// Runs a sync to its end; panics unless it exits 0 or 4 (items left
    /// for the next run), which it returns as `true` for "all done".
    fn sync_to_end(&self, json: bool) -> (bool, String) {
        let status = self.spawn_sync(json).wait().unwrap();
        let log = self.log();
        (finished_ok(status, &log), log)
    }

    async fn store(&self) -> Store {
        Store::connect(&format!("sqlite://{}", self.root.join("crm.db").display()))
            .await
            .unwrap()
    }
}

/// Whether a sync that ended by itself did all its work; 4 means a partial
/// run (items moved underneath, left for the next run), anything else is a
/// failure of the run, which a kill must never cause.
fn finished_ok(status: ExitStatus, log: &str) -> bool {
    match status.code() {
        Some(0) => true,
        Some(4) => false,
        _ => panic!("crmsync sync failed ({status}):\n{log}"),
    }
}

/// When a round kills its run.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after the start: before the writes, or early in them.
    BeforeWrites(Duration),
    /// Once the mailbox holds this many cards.
    Cards(usize),
}

/// The CRM contact the test gives number `i`: a name and an e-mail the
/// convergence check finds on the card.
fn contact(i: usize) -> ContactFields {
    ContactFields {
        first_name: Some(format!("First{i:05}")),
        last_name: Some(format!("Last{i:05}")),
        email1: Some(format!("person{i:05}@example.com")),
        job_title: Some(format!("Role {i}")),
        active: true,
        ..ContactFields::default()
    }
}

/// The user adds contacts `from..from + count` in the CRM between two runs.
async fn add_contacts(world: &World, owner: &str, from: usize, count: usize) {
    let store = world.store().await;
    for i in from..from + count {
        store.records().create(owner, contact(i)).await.unwrap();
    }
    store.close().await;
}

/// A CRM with user `alice` and `n` contacts she owns, closed and ready to
/// copy; also alice's id.
async fn seed(dir: &Path, n: usize) -> (PathBuf, String) {
    let db = dir.join("seed.db");
    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    store.migrate().await.unwrap();
    let (user, _token) = store
        .records()
        .create_user(UserFields::active_user("alice", "alice@example.com"))
        .await
        .unwrap();
    for i in 0..n {
        store.records().create(&user.meta.id, contact(i)).await.unwrap();
    }
    store.close().await;
    for suffix in ["-wal", "-shm"] {
        let side = dir.join(format!("seed.db{suffix}"));
        assert!(
            !side.exists() || std::fs::metadata(&side).unwrap().len() == 0,
            "the seed CRM must be checkpointed before it is copied"
        );
    }
    (db, user.meta.id)
}

async fn kill_loop(target: &Target, rounds: usize) {
    let mut n = env_usize("CRMSYNC_KILL_CONTACTS", 300);
    let seed_value = std::env::var("CRMSYNC_KILL_SEED")
        .ok()
        .map(|s| s.parse::<u64>().expect("CRMSYNC_KILL_SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("kill test: {n} contacts, {rounds} kills, CRMSYNC_KILL_SEED={seed_value}");
    let seeds = tempfile::tempdir().unwrap();
    let (db, owner) = seed(seeds.path(), n).await;

    // What a run costs before it writes anything: a no-op sync of a copy of
    // the CRM whose first sync is done. Only the "before the writes" kills
    // use it, to spread over start, discovery and listing.
    let reference = World::new(target, &db, "reference");
    let (done, log) = reference.sync_to_end(false);
    assert!(done, "an uninterrupted first sync finishes: {log}");
    let started = Instant::now();
    let (done, log) = reference.sync_to_end(false);
    let idle = started.elapsed();
    assert!(done, "{log}");
    println!("no-op sync: {idle:?}");

    // The kill moments follow what the run has done, not the clock, so the
    // machine's load cannot make them miss the writes (a schedule in seconds
    // did, under load): most rounds kill their run once the mailbox holds a
    // randomly chosen number of cards more than before, the others at a
    // random moment of the phase before the writes. A round counts when it
    // killed a run that still had cards to write. When the first sync is done
    // before enough rounds counted (a loaded machine lets a run write more
    // between two looks than a round's share), the user adds contacts, so
    // the next runs have writes again; `n` grows with them.
    let world = World::new(target, &db, DAV_USER);
    let mut rng = SplitMix64(seed_value);
    let mut killed_while_writing = 0;
    let mut round = 0;
    while killed_while_writing < rounds {
        assert!(
            round < rounds * 4,
            "{round} rounds killed only {killed_while_writing} runs with cards to write"
        );
        let mut before = written(target, &world);
        if before >= n {
            let more = (n / rounds).max(5);
            add_contacts(&world, &owner, n, more).await;
            n += more;
            before = written(target, &world);
        }
        let left = n - before.min(n);
        let share = (left / (rounds - killed_while_writing)).max(1);
        let moment = if killed_while_writing + 1 == rounds {
            // The last one lands as the last card does: while the run saves
            // its pairs and confirms what it wrote.
            KillAt::Cards(n)
        } else if rng.next_f64() < 0.2 {
            KillAt::BeforeWrites(idle.mul_f64(rng.next_f64()))
        } else {
            KillAt::Cards(before + 1 + (rng.next_f64() * share as f64) as usize)
        };
        let mut child = world.spawn_sync(false);
        let started = Instant::now();
        let outcome = loop {
            if let Some(status) = child.try_wait().unwrap() {
                finished_ok(status, &world.log());
                break "ended by itself";
            }
            let due = match moment {
                KillAt::BeforeWrites(delay) => started.elapsed() >= delay,
                KillAt::Cards(cards) => written(target, &world) >= cards,
            };
            if due {
                // `Child::kill` is SIGKILL on Unix: no handler runs.
                child.kill().unwrap();
                child.wait().unwrap();
                break "killed";
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        if outcome == "killed" && before < n {
            killed_while_writing += 1;
        }
        println!(
            "round {round}: {outcome} at {moment:?}; cards written before: {before}, after: {} of {n}",
            written(target, &world)
        );
        round += 1;
    }

    // Run to completion: a partial run (exit 4) leaves work for the next.
    let mut finished = false;
    for _ in 0..5 {
        let (done, _) = world.sync_to_end(false);
        if done {
            finished = true;
            break;
        }
    }
    assert!(
        finished,
        "after the kills, sync finishes within 5 runs: {}",
        world.log()
    );

    let server = server_items(target, &world).await;
    let store = world.store().await;
    let contacts = crm_contacts(&store).await;
    assert_converged(n, &server, &contacts, &store).await;

    // A further sync plans and writes nothing.
    let (done, out) = world.sync_to_end(true);
    assert!(done, "{out}");
    let reports: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    for collection in reports[0]["collections"].as_array().unwrap() {
        let name = &collection["collection"];
        assert_eq!(
            collection["applied"],
            serde_json::json!({}),
            "{name}: a no-op sync writes nothing"
        );
        let planned = collection["plan"]["actions"].as_array().unwrap();
        assert!(planned.is_empty(), "{name}: a no-op sync plans nothing: {planned:?}");
    }
    assert_eq!(
        server_items(target, &world).await,
        server,
        "the no-op sync left the server as it was"
    );
}

/// What the mailbox holds: href → (UID, body).
type Items = BTreeMap<String, (String, String)>;

async fn assert_converged(n: usize, server: &Items, contacts: &[crmsync_model::Contact], store: &Store) {
    // Both sides hold exactly the n, no duplicate.
    assert_eq!(
        contacts.len(),
        n,
        "the CRM holds exactly the seeded contacts (none created back)"
    );
    assert_eq!(server.len(), n, "the mailbox holds exactly one card per contact");
    let uids: BTreeSet<&str> = server.values().map(|(uid, _)| uid.as_str()).collect();
    assert_eq!(uids.len(), n, "every card has its own UID");
    // A CRM-born card carries the contact's id as UID; its content is the contact's.
    for c in contacts {
        let (first, last) = (
            c.fields.first_name.as_deref().unwrap(),
            c.fields.last_name.as_deref().unwrap(),
        );
        let (_, body) = server
            .values()
            .find(|(uid, _)| uid == c.id())
            .unwrap_or_else(|| panic!("no card for contact {} ({first} {last})", c.id()));
        assert!(
            body.contains(first) && body.contains(last) && body.contains(c.fields.email1.as_deref().unwrap()),
            "the card of {first} {last} holds its name and e-mail:\n{body}"
        );
    }

    // The status store agrees: one live pair per contact, each on an existing
    // card, nothing left half done, nothing quarantined.
    let pairs = store.sync_state().pairs(PROFILE, "contacts").await.unwrap();
    assert_eq!(pairs.len(), n, "exactly one pair per contact");
    let crm_ids: BTreeSet<&str> = contacts.iter().map(|c| c.id()).collect();
    let paired_ids: BTreeSet<&str> = pairs.iter().map(|p| p.crm_id.as_str()).collect();
    assert_eq!(paired_ids, crm_ids, "every contact is paired once");
    let hrefs: BTreeSet<&str> = pairs.iter().map(|p| p.href.as_str()).collect();
    assert_eq!(hrefs.len(), n, "no two pairs share a card");
    for p in &pairs {
        let (uid, _) = server
            .get(&p.href)
            .unwrap_or_else(|| panic!("pair {} points at {}, which is not on the server", p.id, p.href));
        assert_eq!(uid, &p.crm_id, "pair {} links its contact to that contact's card", p.id);
        assert_eq!(p.state, crmsync_engine::PairState::Live, "pair {}", p.id);
    }
    let unfinished = store.sync_state().journal_unfinished(PROFILE).await.unwrap();
    assert!(unfinished.is_empty(), "no journal step left open: {unfinished:?}");
    assert!(
        store.sync_state().quarantined(PROFILE).await.unwrap().is_empty(),
        "nothing quarantined"
    );
}

async fn crm_contacts(store: &Store) -> Vec<crmsync_model::Contact> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .records()
            .list::<ContactFields>(&ListQuery {
                cursor,
                limit: MAX_PAGE,
                ..ListQuery::default()
            })
            .await
            .unwrap();
        all.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

async fn server_items(target: &Target, world: &World) -> Items {
    let bodies: Vec<(String, String)> = match target {
        Target::Vdir => {
            let folder = world.root.join(DAV_USER).join("contacts");
            std::fs::read_dir(&folder)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "vcf"))
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&p).unwrap())
                })
                .collect()
        }
        Target::Dav { url, .. } => {
            let dav = DavConnector::new(&DavConfig::new(url.clone()).with_basic(DAV_USER, DAV_PASSWORD)).unwrap();
            let contacts = dav
                .discover()
                .await
                .unwrap()
                .into_iter()
                .find(|c| c.id.as_str().trim_end_matches('/').ends_with("/contacts"))
                .expect("the contacts collection exists");
            let listing = dav.changes(&contacts.id, None).await.unwrap();
            let hrefs: Vec<_> = listing.changed.into_iter().map(|m| m.href).collect();
            let mut bodies = Vec::new();
            for batch in hrefs.chunks(100) {
                let got = dav.get_many(&contacts.id, batch).await.unwrap();
                assert!(
                    got.missing.is_empty() && got.failed.is_empty(),
                    "every listed card reads"
                );
                bodies.extend(
                    got.found
                        .into_iter()
                        .map(|i| (i.href.as_str().to_string(), String::from_utf8(i.body).unwrap())),
                );
            }
            bodies
        }
    };
    bodies
        .into_iter()
        .map(|(href, body)| {
            let uid = uid_of(&body).unwrap_or_else(|| panic!("{href} has no UID:\n{body}"));
            (href, (uid, body))
        })
        .collect()
}

/// The UID of a vCard, lines unfolded (RFC 6350 §3.2).
fn uid_of(body: &str) -> Option<String> {
    let unfolded = body.replace("\r\n ", "").replace("\r\n\t", "");
    unfolded.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.split(';').next()?;
        name.eq_ignore_ascii_case("UID").then(|| value.trim().to_string())
    })
}

/// A small seeded generator (SplitMix64): a kill schedule replays exactly
/// from its printed seed without a dependency for it.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
