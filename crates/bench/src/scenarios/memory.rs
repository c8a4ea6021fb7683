//! Peak RSS of a first sync of contacts + events to a fresh vdir. The sync runs
//! in a child process (this binary's `memory-child` command) so the peak is
//! the sync's alone, not the seeding's or an earlier scenario's.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crmsync_engine::EntityClass;
use crmsync_store::Store;
use crmsync_sync::{RunOptions, SyncProfile, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::edits::applied;
use crate::error::BenchError;
use crate::report::{Report, Standing};
use crate::rss::peak_rss_bytes;
use crate::world::Template;

const LIMIT_MB: f64 = 150.0;

/// How much more memory the larger first sync may take than the one a
/// fifth its size and still count as flat in N (R-SYNC-STREAM-1): room for
/// the per-item keys a pass keeps, not for records or bodies.
const FLAT_RATIO: f64 = 1.25; // the target column below says the same

/// Runs the child on a copy of `small` and of `large` and reports both peaks
/// and how the peak grew with the mailbox.
pub async fn run(small: &Template, large: &Template, report: &mut Report) -> Result<(), BenchError> {
    let small_mb = peak_mb(small).await?;
    let large_mb = peak_mb(large).await?;
    for (template, mb) in [(small, small_mb), (large, large_mb)] {
        let items = template.contacts + template.meetings;
        let full = items >= 200_000;
        report.add(
            "memory",
            format!(
                "peak RSS, first sync {} contacts + {} events to vdir",
                template.contacts, template.meetings
            ),
            format!("{mb:.1} MB"),
            "< 150 MB at 200k items",
            if full {
                Standing::of(mb < LIMIT_MB)
            } else {
                Standing::Info
            },
        );
    }
    let ratio = large_mb / small_mb;
    report.add(
        "memory",
        format!(
            "peak RSS growth, {} items / {} items",
            large.contacts + large.meetings,
            small.contacts + small.meetings
        ),
        format!("{ratio:.2}x"),
        "<= 1.25x (flat in N)",
        Standing::of(ratio <= FLAT_RATIO),
    );
    if large.contacts + large.meetings < 200_000 {
        report.note("memory: the 150 MB target is for 200k items; run `bench/run --full` to check it");
    }
    Ok(())
}

/// The peak RSS in MB of the child's first sync of a copy of `template`.
async fn peak_mb(template: &Template) -> Result<f64, BenchError> {
    let world = template.world().await?;
    let db = world.dir.path().join("crm.db");
    world.store.close().await;
    let root = world.folder("mailbox")?;
    let exe = std::env::current_exe().map_err(BenchError::io("finding the bench binary"))?;
    let out = Command::new(exe)
        .arg("memory-child")
        .arg("--db")
        .arg(&db)
        .arg("--root")
        .arg(&root)
        .arg("--user")
        .arg(&template.user_id)
        .output()
        .map_err(BenchError::io("running the memory child"))?;
    if !out.status.success() {
        return Err(BenchError::Unexpected(format!(
            "memory child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("peak_rss_bytes="))
        .unwrap_or("");
    let bytes: u64 = line
        .trim()
        .parse()
        .map_err(|_| BenchError::Unexpected(format!("memory child said: {stdout}")))?;
    Ok(bytes as f64 / 1_048_576.0)
}

/// The child: one first sync, then its own peak RSS on stdout.
pub async fn child(db: &Path, root: &Path, user_id: &str) -> Result<(), BenchError> {
    let store = Store::connect(&format!("sqlite://{}", db.display())).await?;
    let actor = crmsync_model::Actor {
        user_id: user_id.to_owned(),
        role: crmsync_model::Role::User,
    };
    let vdir =
        VdirConnector::open(&VdirConfig::new(root.to_owned())).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let mut profile = SyncProfile::new(
        "bench",
        actor.clone(),
        crmsync_engine::Profile::new(user_id),
        Arc::new(vdir),
    );
    profile.classes = vec![EntityClass::Contacts, EntityClass::Events];
    let run = run_profile(&store, &profile, &RunOptions::default()).await?;
    let created = applied(&run, "groupware create");
    println!("created={created}");
    println!("peak_rss_bytes={}", peak_rss_bytes().unwrap_or(0));
    Ok(())
}
