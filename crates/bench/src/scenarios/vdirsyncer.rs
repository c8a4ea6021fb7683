//! crmsync and vdirsyncer as whole commands (issue #17 item 7): each sync is
//! a process started as a user starts it, so its own start-up, configuration
//! and status-store open are inside the time, as they are inside
//! vdirsyncer's. Both sync the same contacts with a fresh server of the same
//! kind (Radicale, then Xandikos): a first sync, a no-change sync, and a sync
//! after 1 % changed on each side.
//!
//! Both keep the same three server collections in step (R-BENCH-10):
//! `crmsync sync` syncs every class of the profile (contacts, calendar and
//! tasks: the address book `contacts` and the calendars `calendar` and
//! `tasks`, the last two empty), and vdirsyncer's configuration names the
//! same three, an address-book pair (`contacts`) and a calendar pair
//! (`calendar`, `tasks`). What they sync them with differs, and the notes say
//! so: crmsync the CRM (its SQLite file), vdirsyncer a vdir holding the same
//! cards (written by an untimed crmsync run) and two empty calendar folders.
//!
//! Both talk to the server through the testkit's proxy with no faults, so
//! the HTTP requests of each sync are counted the same way for both (issue
//! 17 item 7: requests per sync, not only connector calls); both pay its
//! small cost per request. vdirsyncer's `discover` (which finds and makes
//! the address book) is a command of its own before the first sync and is
//! neither timed nor counted; crmsync's first sync does both itself.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_connector::{CollectionKind, Connector as _};
use crmsync_dav::DavConfig;
use crmsync_engine::EntityClass;
use crmsync_model::ContactFields;
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::{RunOptions, run_profile};
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates, RecordedRequest};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::edits::{edit_card, edit_crm_contacts, one_percent};
use crate::error::BenchError;
use crate::peers::{PASSWORD, Peer, PeerKind, USER, tool};
use crate::raw_replay;
use crate::raw_vdir::read_items;
use crate::report::{Report, Standing, ratio, secs};
use crate::scenarios::dav::{collection_items, edit_on_server};
use crate::world::{Template, World};

const SECTION: &str = "vdirsyncer";

/// The three timed commands of one tool on one server, and the HTTP
/// requests each sent (first, no-change, 1 %).
struct CommandTimes {
    first: Duration,
    no_change: Duration,
    one_percent: Duration,
    requests: [Vec<String>; 3],
    /// The server's own time for the no-change and 1 % runs' requests, sent
    /// again raw (R-BENCH-11); crmsync's runs only.
    floors: Option<[Duration; 2]>,
}

/// How often the floor's requests are sent again; the median counts.
const FLOOR_REPS: usize = 3;

/// R-BENCH-11: where a speed-up over vdirsyncer stands against `target`:
/// met only when measured so; a miss where vdirsyncer's time over the
/// server's floor for crmsync's requests (`floor_speedup`) misses too says
/// that crmsync's own part cannot reach it.
pub fn standing_against(speedup: f64, floor_speedup: f64, target: f64) -> Standing {
    if speedup >= target {
        Standing::Met
    } else if floor_speedup < target {
        Standing::MissedBelowFloor
    } else {
        Standing::Missed
    }
}

/// The requests of one crmsync run sent again raw through the same proxy,
/// [`FLOOR_REPS`] times: the median time.
async fn floor_of(proxy: &FaultProxy, kind: PeerKind, requests: &[RecordedRequest]) -> Result<Duration, BenchError> {
    let at_once = DavConfig::new(proxy.url()).concurrency;
    let quirks = match kind {
        PeerKind::Xandikos => crmsync_dav::quirks::XANDIKOS,
        _ => crmsync_dav::quirks::RADICALE,
    };
    let writes_at_once = quirks.writes_at_once.unwrap_or(at_once);
    let mut times = Vec::with_capacity(FLOOR_REPS);
    for _ in 0..FLOOR_REPS {
        times.push(raw_replay::replay(proxy.addr(), requests, at_once, writes_at_once).await?);
    }
    times.sort();
    Ok(times[FLOOR_REPS / 2])
}

/// One tool's commands against one proxy: each run timed, and the
/// requests it sent counted from where the previous one ended.
struct Runs<'a> {
    program: &'a Path,
    proxy: &'a FaultProxy,
    seen: usize,
}

impl<'a> Runs<'a> {
    /// Counts from the requests the proxy has seen so far on.
    fn new(program: &'a Path, proxy: &'a FaultProxy) -> Self {
        let seen = proxy.counters().requests().len();
        Runs { program, proxy, seen }
    }

    /// Leaves out of the next run's count what the proxy saw until now
    /// (the floor's own requests).
    fn skip_to_now(&mut self) {
        self.seen = self.proxy.counters().requests().len();
    }

    /// `program args`, timed, with the requests it sent.
    fn run(&mut self, args: &[&str]) -> Result<(Duration, Vec<String>), BenchError> {
        let took = timed(self.program, args, "")?;
        Ok((took, requests_since(self.proxy, &mut self.seen)))
    }
}

/// A first sync that left less than every contact on the server is no
/// figure: `tool` failed without saying so.
async fn check_server_holds_all(peer: &Peer, n: usize, tool: &str, kind: PeerKind) -> Result<(), BenchError> {
    let (_, items) = collection_items(&peer.connector()?, CollectionKind::Contacts, "contacts").await?;
    if items.len() != n {
        return Err(BenchError::Unexpected(format!(
            "{tool} sync ({}): the server holds {} of {n} contacts",
            kind.name(),
            items.len()
        )));
    }
    Ok(())
}

/// Like for like (R-BENCH-10): after `tool`'s first sync the server holds
/// every collection of [`SERVER_COLLECTIONS`], so both commands keep the
/// same three in step.
async fn check_server_collections(peer: &Peer, tool: &str, kind: PeerKind) -> Result<(), BenchError> {
    let found = peer.connector()?.discover().await?;
    let names: Vec<&str> = found
        .iter()
        .map(|c| c.id.as_str().trim_end_matches('/').rsplit('/').next().unwrap_or(""))
        .collect();
    let missing: Vec<&str> = SERVER_COLLECTIONS
        .into_iter()
        .filter(|wanted| !names.contains(wanted))
        .collect();
    if !missing.is_empty() {
        return Err(BenchError::Unexpected(format!(
            "{tool} sync ({}): the server lacks {missing:?} (it holds {names:?})",
            kind.name()
        )));
    }
    Ok(())
}

/// A request-counting pass-through in front of `peer`.
async fn counting_proxy(peer: &Peer) -> Result<FaultProxy, BenchError> {
    FaultProxy::start(peer.addr(), FaultPlan::new(FaultRates::none(), 0))
        .await
        .map_err(|e| BenchError::Unexpected(format!("request-counting proxy: {e}")))
}

/// Requests (`METHOD target`) the proxy saw since `*seen`, which moves on to now.
fn requests_since(proxy: &FaultProxy, seen: &mut usize) -> Vec<String> {
    let all = proxy.counters().requests();
    let since = all[(*seen).min(all.len())..].to_vec();
    *seen = all.len();
    since
}

/// The methods of `requests`, counted: "3 REPORT, 1 PUT".
fn methods(requests: &[String]) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for request in requests {
        *counts.entry(request.split(' ').next().unwrap_or("?")).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(m, c)| format!("{c} {m}")).collect();
    parts.join(", ")
}

/// Measures both tools on a server of `kind` and reports them side by side.
pub async fn run(kind: PeerKind, template: &Template, report: &mut Report) -> Result<(), BenchError> {
    let n = template.contacts;
    let server = kind.name();
    let crmsync = crmsync_commands(kind, template).await?;
    // Cargo relinks `crmsync` only when its code changed, so its age says
    // nothing; its path and time are printed for the reader to judge
    // (bench/run builds both binaries first).
    let binary = crmsync_binary()?;
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .map(|t| {
            chrono::DateTime::<chrono::Utc>::from(t)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| "at an unknown time".into());
    report.note(format!(
        "{server} whole commands: timed {} (built {built})",
        binary.display()
    ));
    let vdirsyncer = vdirsyncer_commands(kind, template).await?;
    let [address_book, calendar, tasks] = SERVER_COLLECTIONS;
    report.note(format!(
        "{server} whole commands sync the same three server collections: `crmsync sync` every class of its \
         profile (contacts <-> `{address_book}`, events <-> `{calendar}`, tasks <-> `{tasks}`) with its CRM, a \
         SQLite file of {n} contacts; `vdirsyncer sync` two pairs (an address-book pair: `{address_book}` with a \
         vdir of the same {n} cards; a calendar pair: `{calendar}` and `{tasks}` with two empty vdir folders)"
    ));

    let r = ratio(crmsync.first, vdirsyncer.first);
    report.add(
        SECTION,
        format!("first sync {n} ({server}), whole commands: crmsync / vdirsyncer"),
        format!("{r:.2}x ({} vs {})", secs(crmsync.first), secs(vdirsyncer.first)),
        "<= 1x (raw-bound)",
        Standing::of(r <= 1.0),
    );
    let [floor_no_change, floor_one_percent] = crmsync.floors.unwrap_or_default();
    for (what, target, crmsync_took, vdirsyncer_took, floor) in [
        (
            "no-change sync",
            10.0,
            crmsync.no_change,
            vdirsyncer.no_change,
            floor_no_change,
        ),
        (
            "1% change both sides",
            5.0,
            crmsync.one_percent,
            vdirsyncer.one_percent,
            floor_one_percent,
        ),
    ] {
        let speedup = ratio(vdirsyncer_took, crmsync_took);
        let floor_speedup = ratio(vdirsyncer_took, floor);
        report.add(
            SECTION,
            format!("{what} {n} ({server}), whole commands: vdirsyncer / crmsync"),
            format!(
                "{speedup:.1}x faster ({} vs {})",
                secs(crmsync_took),
                secs(vdirsyncer_took)
            ),
            &format!(">= {target}x faster"),
            standing_against(speedup, floor_speedup, target),
        );
        report.add(
            SECTION,
            format!("{what} {n} ({server}): crmsync / its requests sent raw"),
            format!(
                "{:.1}x ({} vs {}; vdirsyncer / raw {floor_speedup:.1}x)",
                ratio(crmsync_took, floor),
                secs(crmsync_took),
                secs(floor)
            ),
            "(context)",
            Standing::Info,
        );
    }
    let [cf, cn, cp] = crmsync.requests.each_ref().map(Vec::len);
    let [vf, vn, vp] = vdirsyncer.requests.each_ref().map(Vec::len);
    report.add(
        SECTION,
        format!("HTTP requests per sync {n} ({server}), first / no-change / 1%: crmsync vs vdirsyncer"),
        format!("{cf} / {cn} / {cp} vs {vf} / {vn} / {vp}"),
        "(context)",
        Standing::Info,
    );
    for (tool, times) in [("crmsync", &crmsync), ("vdirsyncer", &vdirsyncer)] {
        let [first, no_change, one_pct] = times.requests.each_ref().map(|r| methods(r));
        report.note(format!(
            "{server} whole commands, {tool}'s requests: first sync {first}; no-change {no_change}; 1% change {one_pct}"
        ));
    }
    Ok(())
}

/// The `crmsync` binary built beside this one (`bench/run` builds both).
fn crmsync_binary() -> Result<PathBuf, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::io("finding the bench binary"))?;
    let crmsync = exe.with_file_name(format!("crmsync{}", std::env::consts::EXE_SUFFIX));
    if crmsync.is_file() {
        Ok(crmsync)
    } else {
        Err(BenchError::Peer {
            tool: "crmsync".into(),
            message: format!(
                "{} is missing: build it beside crmsync-bench (`cargo build --release -p crmsync -p crmsync-bench`, as bench/run does)",
                crmsync.display()
            ),
        })
    }
}

/// Runs `program args` to its end and answers how long it took; a failure is
/// an error with the program's own words.
fn timed(program: &Path, args: &[&str], stdin: &str) -> Result<Duration, BenchError> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let peer_error = |message: String| BenchError::Peer {
        tool: name.clone(),
        message,
    };
    let started = Instant::now();
    let mut command = Command::new(program);
    // `CRMSYNC_*` variables override crmsync's configuration: the timed
    // command must run on the generated crmsync.toml alone.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CRMSYNC_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| peer_error(e.to_string()))?;
    if let Some(mut input) = child.stdin.take() {
        // vdirsyncer's `discover` asks before creating the collection on the server.
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| peer_error(e.to_string()))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(peer_error(format!(
            "{args:?} exited with {}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(took)
}

/// `crmsync sync` against a fresh server of `kind`, configured as a user
/// would in `crmsync.toml` (R-CONF-1): the CRM is this world's SQLite file.
async fn crmsync_commands(kind: PeerKind, template: &Template) -> Result<CommandTimes, BenchError> {
    let n = template.contacts;
    let crmsync = crmsync_binary()?;
    let peer = Peer::start(kind)?;
    let proxy = counting_proxy(&peer).await?;
    let world = template.world().await?;
    let config = world.dir.path().join("crmsync.toml");
    // A profile of the configuration file may reach 127.0.0.1 (R-SEC-1
    // keeps only users' own profiles off internal addresses).
    let text = format!(
        "[database]\nurl = \"{db}\"\n\n[log]\nlevel = \"warn\"\n\n\
         [[profile]]\nname = \"bench\"\nuser = \"alice\"\n\
         connector = {{ kind = \"dav\", url = \"{url}\", username = \"{USER}\", password = \"{PASSWORD}\" }}\n",
        db = world.db_url(),
        url = proxy.url(),
    );
    std::fs::write(&config, text).map_err(BenchError::io("writing crmsync.toml"))?;
    let config = config.to_string_lossy().into_owned();
    let args = ["sync", "--config", config.as_str(), "--profile", "bench"];

    let mut runs = Runs::new(&crmsync, &proxy);
    let (first, first_requests) = runs.run(&args)?;
    check_server_holds_all(&peer, n, "crmsync", kind).await?;
    check_server_collections(&peer, "crmsync", kind).await?;
    proxy.counters().record_whole();
    let (no_change, no_change_requests) = runs.run(&args)?;
    let sent = proxy.counters().recorded();
    let floor_no_change = floor_of(&proxy, kind, &sent).await?;
    let replayed = proxy.counters().recorded().len();
    runs.skip_to_now();

    let k = one_percent(n);
    let edited_crm = edit_crm_contacts(&world.store, &template.user_id, k).await?;
    let edited_server = edit_on_server(&peer, k).await?;
    let (one_percent, one_percent_requests) = runs.run(&args)?;
    check_one_percent_arrived(&peer, &world.store, edited_crm, edited_server).await?;
    let sent = proxy.counters().recorded().split_off(replayed);
    let floor_one_percent = floor_of(&proxy, kind, &sent).await?;
    Ok(CommandTimes {
        first,
        no_change,
        one_percent,
        requests: [first_requests, no_change_requests, one_percent_requests],
        floors: Some([floor_no_change, floor_one_percent]),
    })
}

/// A fast run that moved nothing would be a figure of nothing: both sides'
/// edits must have crossed (the CRM's job title to the server, the server's
/// street to the CRM).
async fn check_one_percent_arrived(
    peer: &Peer,
    store: &Store,
    edited_crm: usize,
    edited_server: usize,
) -> Result<(), BenchError> {
    let (_, items) = collection_items(&peer.connector()?, CollectionKind::Contacts, "contacts").await?;
    let on_server = items
        .iter()
        .filter(|i| String::from_utf8_lossy(&i.body).contains("Chief Benchmark Officer"))
        .count();
    let mut in_crm = 0;
    let mut cursor = None;
    loop {
        let page = store
            .records()
            .list::<ContactFields>(&ListQuery {
                limit: MAX_PAGE,
                cursor: cursor.take(),
                ..ListQuery::default()
            })
            .await?;
        in_crm += page
            .items
            .iter()
            .filter(|c| {
                let f = &c.fields;
                [&f.business_address, &f.home_address, &f.other_address]
                    .iter()
                    .any(|a| a.street.as_deref().is_some_and(|s| s.contains("Market Square")))
            })
            .count();
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if on_server < edited_crm || in_crm < edited_server {
        return Err(BenchError::Unexpected(format!(
            "crmsync sync after 1% changed: {on_server} of {edited_crm} CRM edits reached the server, \
             {in_crm} of {edited_server} server edits reached the CRM"
        )));
    }
    Ok(())
}

/// vdirsyncer syncing a vdir of the same cards with a fresh server of `kind`.
async fn vdirsyncer_commands(kind: PeerKind, template: &Template) -> Result<CommandTimes, BenchError> {
    let n = template.contacts;
    let vdirsyncer = tool("vdirsyncer")?;
    // The vdir holds exactly the cards crmsync writes (made by an untimed sync).
    let world = template.world().await?;
    let local = vdir_of_the_same_cards(&world).await?;
    let peer = Peer::start(kind)?;
    let proxy = counting_proxy(&peer).await?;
    let calendars = world.folder("local-calendars")?;
    let config = world.dir.path().join("vdirsyncer.conf");
    let text = vdirsyncer_config(
        &world.dir.path().join("vdirsyncer-status"),
        &local,
        &calendars,
        &proxy.url(),
    );
    std::fs::write(&config, text).map_err(BenchError::io("writing vdirsyncer.conf"))?;
    let config = config.to_string_lossy().into_owned();
    // `discover` asks before creating each missing collection (on the server
    // and, for the calendars, in the local folder).
    timed(&vdirsyncer, &["-c", config.as_str(), "discover"], &"y\n".repeat(12))?;
    let sync = ["-c", config.as_str(), "sync"];
    let mut runs = Runs::new(&vdirsyncer, &proxy);
    let (first, first_requests) = runs.run(&sync)?;
    check_server_holds_all(&peer, n, "vdirsyncer", kind).await?;
    check_server_collections(&peer, "vdirsyncer", kind).await?;
    let (no_change, no_change_requests) = runs.run(&sync)?;

    let k = one_percent(n);
    let folder = local.join("contacts");
    for file in read_items(&folder)?.iter().take(k) {
        if let Some(body) = edit_card(&String::from_utf8_lossy(&file.body)) {
            std::fs::write(folder.join(&file.name), body).map_err(BenchError::io("editing a vCard"))?;
        }
    }
    edit_on_server(&peer, k).await?;
    let (one_percent, one_percent_requests) = runs.run(&sync)?;
    Ok(CommandTimes {
        first,
        no_change,
        one_percent,
        requests: [first_requests, no_change_requests, one_percent_requests],
        floors: None,
    })
}

/// The collections `crmsync sync` keeps in step on the server (its
/// profile's classes: contacts, calendar, tasks), which vdirsyncer's
/// configuration names too, so both commands sync the same three.
pub const SERVER_COLLECTIONS: [&str; 3] = ["contacts", "calendar", "tasks"];

/// vdirsyncer's configuration: the address book `contacts` paired with the
/// vdir `contacts` (vCards), the calendars `calendar` and `tasks` with
/// folders of the same names under `calendars` (iCalendar), as vdirsyncer's
/// documentation pairs one storage type per pair (R-BENCH-10).
fn vdirsyncer_config(status: &Path, contacts: &Path, calendars: &Path, url: &str) -> String {
    let [address_book, calendar, tasks] = SERVER_COLLECTIONS;
    format!(
        "[general]\nstatus_path = \"{status}\"\n\n\
         [pair bench_contacts]\na = \"local_contacts\"\nb = \"remote_contacts\"\n\
         collections = [\"{address_book}\"]\nconflict_resolution = \"a wins\"\n\n\
         [storage local_contacts]\ntype = \"filesystem\"\npath = \"{contacts}\"\nfileext = \".vcf\"\n\n\
         [storage remote_contacts]\ntype = \"carddav\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\n\
         [pair bench_calendars]\na = \"local_calendars\"\nb = \"remote_calendars\"\n\
         collections = [\"{calendar}\", \"{tasks}\"]\nconflict_resolution = \"a wins\"\n\n\
         [storage local_calendars]\ntype = \"filesystem\"\npath = \"{calendars}\"\nfileext = \".ics\"\n\n\
         [storage remote_calendars]\ntype = \"caldav\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        status = status.display(),
        contacts = contacts.display(),
        calendars = calendars.display(),
    )
}

/// A vdir with the cards crmsync writes for this world's contacts.
async fn vdir_of_the_same_cards(world: &World) -> Result<PathBuf, BenchError> {
    let local = world.folder("local")?;
    let vdir =
        VdirConnector::open(&VdirConfig::new(local.clone())).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let profile = world.profile(Arc::new(vdir), &[EntityClass::Contacts]);
    run_profile(&world.store, &profile, &RunOptions::default()).await?;
    Ok(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_bench_11_a_target_is_met_only_when_measured_so_and_a_miss_says_when_the_floor_misses_too() {
        assert_eq!(standing_against(12.0, 30.0, 10.0), Standing::Met);
        assert_eq!(standing_against(7.7, 30.0, 10.0), Standing::Missed);
        assert_eq!(standing_against(3.2, 4.1, 5.0), Standing::MissedBelowFloor);
        // Never met below the target, whatever the floor says.
        assert_ne!(standing_against(9.9, 9.9, 10.0), Standing::Met);
    }

    #[test]
    fn r_bench_10_vdirsyncer_pairs_the_three_collections_crmsync_syncs() {
        let config = vdirsyncer_config(Path::new("/s"), Path::new("/c"), Path::new("/k"), "http://127.0.0.1:1/");
        assert!(config.contains("collections = [\"contacts\"]"), "{config}");
        assert!(config.contains("collections = [\"calendar\", \"tasks\"]"), "{config}");
        assert!(
            config.contains("type = \"carddav\"") && config.contains("type = \"caldav\""),
            "{config}"
        );
        for name in SERVER_COLLECTIONS {
            assert!(config.contains(&format!("\"{name}\"")), "{name}: {config}");
        }
    }
}
