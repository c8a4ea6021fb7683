//! The same contacts from a vdir to a fresh Radicale with vdirsyncer, timed
//! the same way as crmsync's CRM → Radicale runs in the same process: first
//! sync, no-change re-sync, 1 %-change re-sync.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::edits::{edit_card, one_percent};
use crate::error::BenchError;
use crate::peers::{PASSWORD, Peer, PeerKind, USER, tool};
use crate::raw_vdir::read_items;
use crate::report::{Report, Standing, ratio, secs};
use crate::scenarios::dav::{DavTimes, edit_on_server};
use crate::world::Template;

const SECTION: &str = "vdirsyncer";

fn vdirsyncer(config: &Path, args: &[&str], answers: &str) -> Result<Duration, BenchError> {
    let peer_error = |message: String| BenchError::Peer {
        tool: "vdirsyncer".into(),
        message,
    };
    let started = Instant::now();
    let mut child = Command::new(tool("vdirsyncer")?)
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| peer_error(e.to_string()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // `discover` asks before creating the collection on the server.
        let _ = stdin.write_all(answers.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| peer_error(e.to_string()))?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(peer_error(format!(
            "{args:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(took)
}

/// Runs vdirsyncer against a fresh Radicale and reports it beside `crmsync`'s
/// times on the same kind of server.
pub async fn run(template: &Template, crmsync: &DavTimes, report: &mut Report) -> Result<(), BenchError> {
    let n = template.contacts;
    // The vdir holds exactly the cards crmsync writes (made by an untimed sync).
    let world = template.world().await?;
    let local = world.folder("local")?;
    let vdir =
        VdirConnector::open(&VdirConfig::new(local.clone())).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let profile = world.profile(Arc::new(vdir), &[EntityClass::Contacts]);
    run_profile(&world.store, &profile, &RunOptions::default()).await?;

    let peer = Peer::start(PeerKind::Radicale)?;
    let config = world.dir.path().join("vdirsyncer.conf");
    let text = format!(
        "[general]\nstatus_path = \"{status}\"\n\n[pair bench]\na = \"local\"\nb = \"remote\"\n\
         collections = [\"from a\"]\nconflict_resolution = \"a wins\"\n\n\
         [storage local]\ntype = \"filesystem\"\npath = \"{local}\"\nfileext = \".vcf\"\n\n\
         [storage remote]\ntype = \"carddav\"\nurl = \"{url}\"\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n",
        status = world.dir.path().join("vdirsyncer-status").display(),
        local = local.display(),
        url = peer.url(),
    );
    std::fs::write(&config, text).map_err(BenchError::io("writing vdirsyncer.conf"))?;
    vdirsyncer(&config, &["discover"], "y\ny\ny\n")?;
    let first = vdirsyncer(&config, &["sync"], "")?;
    let no_change = vdirsyncer(&config, &["sync"], "")?;

    let k = one_percent(n);
    let folder = local.join("contacts");
    for file in read_items(&folder)?.iter().take(k) {
        if let Some(body) = edit_card(&String::from_utf8_lossy(&file.body)) {
            std::fs::write(folder.join(&file.name), body).map_err(BenchError::io("editing a vCard"))?;
        }
    }
    edit_on_server(&peer, k).await?;
    let one_pct = vdirsyncer(&config, &["sync"], "")?;

    let r = ratio(crmsync.first, first);
    report.add(
        SECTION,
        format!("first sync {n}: crmsync / vdirsyncer (radicale)"),
        format!("{r:.2}x ({} vs {})", secs(crmsync.first), secs(first)),
        "<= 1x (raw-bound)",
        Standing::of(r <= 1.0),
    );
    let speedup = ratio(no_change, crmsync.no_change);
    report.add(
        SECTION,
        format!("no-change sync {n}: vdirsyncer / crmsync"),
        format!(
            "{speedup:.1}x faster ({} vs {})",
            secs(crmsync.no_change),
            secs(no_change)
        ),
        ">= 7x faster",
        Standing::of(speedup >= 7.0),
    );
    let speedup = ratio(one_pct, crmsync.one_percent);
    report.add(
        SECTION,
        format!("1% change sync {n}: vdirsyncer / crmsync"),
        format!(
            "{speedup:.1}x faster ({} vs {})",
            secs(crmsync.one_percent),
            secs(one_pct)
        ),
        ">= 7x faster",
        Standing::of(speedup >= 7.0),
    );
    Ok(())
}
