//! crmsync and vdirsyncer as whole commands (issue #17 item 7): each sync is
//! a process started as a user starts it, so its own start-up, configuration
//! and status-store open are inside the time, as they are inside
//! vdirsyncer's. Both sync the same contacts with a fresh server of the same
//! kind (Radicale, then Xandikos): a first sync, a no-change sync, and a sync
//! after 1 % changed on each side.
//!
//! The two commands do not move the same data the same way, and the figures
//! say so rather than hide it: crmsync syncs the CRM (its SQLite file) with
//! the server, vdirsyncer a vdir holding the same cards (written by an
//! untimed crmsync run) with the server; and `crmsync sync` syncs every class
//! of the profile (contacts, calendar and tasks: three collections, two of
//! them empty) where vdirsyncer's pair names one address book.
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

use crmsync_connector::CollectionKind;
use crmsync_engine::EntityClass;
use crmsync_model::ContactFields;
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::{RunOptions, run_profile};
use crmsync_testkit::{FaultPlan, FaultProxy, FaultRates};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::edits::{edit_card, edit_crm_contacts, one_percent};
use crate::error::BenchError;
use crate::peers::{PASSWORD, Peer, PeerKind, USER, tool};
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

    let r = ratio(crmsync.first, vdirsyncer.first);
    report.add(
        SECTION,
        format!("first sync {n} ({server}), whole commands: crmsync / vdirsyncer"),
        format!("{r:.2}x ({} vs {})", secs(crmsync.first), secs(vdirsyncer.first)),
        "<= 1x (raw-bound)",
        Standing::of(r <= 1.0),
    );
    let speedup = ratio(vdirsyncer.no_change, crmsync.no_change);
    report.add(
        SECTION,
        format!("no-change sync {n} ({server}), whole commands: vdirsyncer / crmsync"),
        format!(
            "{speedup:.1}x faster ({} vs {})",
            secs(crmsync.no_change),
            secs(vdirsyncer.no_change)
        ),
        ">= 10x faster",
        Standing::of(speedup >= 10.0),
    );
    let speedup = ratio(vdirsyncer.one_percent, crmsync.one_percent);
    report.add(
        SECTION,
        format!("1% change both sides {n} ({server}), whole commands: vdirsyncer / crmsync"),
        format!(
            "{speedup:.1}x faster ({} vs {})",
            secs(crmsync.one_percent),
            secs(vdirsyncer.one_percent)
        ),
        ">= 5x faster",
        Standing::of(speedup >= 5.0),
    );
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
    let (no_change, no_change_requests) = runs.run(&args)?;

    let k = one_percent(n);
    let edited_crm = edit_crm_contacts(&world.store, &template.user_id, k).await?;
    let edited_server = edit_on_server(&peer, k).await?;
    let (one_percent, one_percent_requests) = runs.run(&args)?;
    check_one_percent_arrived(&peer, &world.store, edited_crm, edited_server).await?;
    Ok(CommandTimes {
        first,
        no_change,
        one_percent,
        requests: [first_requests, no_change_requests, one_percent_requests],
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
    let config = world.dir.path().join("vdirsyncer.conf");
    let text = format!(
        "[general]\nstatus_path = \"{status}\"\n\n[pair bench]\na = \"local\"\nb = \"remote\"\n\
         collections = [\"from a\"]\nconflict_resolution = \"a wins\"\n\n\
         [storage local]\ntype = \"filesystem\"\npath = \"{local}\"\nfileext = \".vcf\"\n\n\
         [storage remote]\ntype = \"carddav\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        status = world.dir.path().join("vdirsyncer-status").display(),
        local = local.display(),
        url = proxy.url(),
    );
    std::fs::write(&config, text).map_err(BenchError::io("writing vdirsyncer.conf"))?;
    let config = config.to_string_lossy().into_owned();
    timed(&vdirsyncer, &["-c", config.as_str(), "discover"], "y\ny\ny\n")?;
    let sync = ["-c", config.as_str(), "sync"];
    let mut runs = Runs::new(&vdirsyncer, &proxy);
    let (first, first_requests) = runs.run(&sync)?;
    check_server_holds_all(&peer, n, "vdirsyncer", kind).await?;
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
    })
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
