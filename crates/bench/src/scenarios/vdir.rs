//! CRM → fresh vdir: first sync against raw durable writes of the same files,
//! then a no-change sync and a sync after 1 % changed on each side.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::counting::CountingConnector;
use crate::edits::{applied, edit_card, edit_crm_contacts, one_percent};
use crate::error::BenchError;
use crate::raw_vdir::{RAW_WRITERS, read_items, write_durably};
use crate::report::{Report, Standing, ratio, secs};
use crate::vdir_fs::VdirFs;
use crate::world::{Template, World};

const SECTION: &str = "vdir";

struct Synced {
    world: World,
    /// The repetition's folder on the section's file system (R-BENCH-12).
    rep_dir: PathBuf,
    /// The vdir root crmsync synced to, inside `rep_dir`.
    root: PathBuf,
    counting: CountingConnector,
    profile: crmsync_sync::SyncProfile,
    took: Duration,
}

async fn first_sync(template: &Template, fs: &VdirFs, rep: usize) -> Result<Synced, BenchError> {
    let world = template.world().await?;
    let rep_dir = fs.folder(&format!("rep-{rep}"))?;
    let root = fs.folder(&format!("rep-{rep}/mailbox"))?;
    let vdir =
        VdirConnector::open(&VdirConfig::new(root.clone())).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let counting = CountingConnector::new(Arc::new(vdir));
    let profile = world.profile(Arc::new(counting.clone()), &[EntityClass::Contacts]);
    // The copy of the CRM and anything deleted before are written back
    // before the timer starts, not inside it.
    fs.settle()?;
    let started = Instant::now();
    let run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let created = applied(&run, "groupware create");
    if created != template.contacts {
        return Err(BenchError::Unexpected(format!(
            "first sync created {created} of {} contacts",
            template.contacts
        )));
    }
    Ok(Synced {
        world,
        rep_dir,
        root,
        counting,
        profile,
        took,
    })
}

/// The first-sync figure alone (crmsync against the same files written by
/// the durable writers), at a second size to show how it scales (issue 17
/// lists 3,000 and 30,000 contacts).
pub async fn first_sync_only(
    template: &Template,
    fs: &VdirFs,
    reps: usize,
    report: &mut Report,
) -> Result<(), BenchError> {
    first_sync_figure(template, fs, reps, report).await.map(|_| ())
}

/// `reps` side-by-side first syncs; reports the median ratio and answers
/// the last sync with crmsync's median time. Each repetition writes in
/// folders of its own, and the earlier ones are removed between the timed
/// parts, with the file system settled before each (R-BENCH-12).
async fn first_sync_figure(
    template: &Template,
    fs: &VdirFs,
    reps: usize,
    report: &mut Report,
) -> Result<(Synced, std::time::Duration), BenchError> {
    let n = template.contacts;
    let mut ratios = Vec::new();
    let mut crm_times = Vec::new();
    let mut raw_times = Vec::new();
    let mut last: Option<Synced> = None;
    for rep in 0..reps.max(1) {
        let synced = first_sync(template, fs, rep).await?;
        let files = read_items(&synced.root.join("contacts"))?;
        let raw_dir = fs.folder(&format!("rep-{rep}/raw"))?;
        fs.settle()?;
        let started = Instant::now();
        write_durably(&raw_dir, &files)?;
        let raw = started.elapsed();
        ratios.push(ratio(synced.took, raw));
        crm_times.push(synced.took);
        raw_times.push(raw);
        // Untimed: the raw copy and the previous repetition go now; the
        // next repetition settles the file system before its timer starts.
        remove(&raw_dir)?;
        if let Some(previous) = last.replace(synced) {
            remove(&previous.rep_dir)?;
        }
    }
    let crm = median(&mut crm_times);
    let raw = median(&mut raw_times);
    let r = median_f(&mut ratios);
    report.add(
        SECTION,
        format!(
            "first sync {n} contacts {}: crmsync / {RAW_WRITERS}-writer durable writes",
            fs.label()
        ),
        format!("{r:.2}x ({} vs {})", secs(crm), secs(raw)),
        "<= 1.2x",
        Standing::of(r <= 1.2),
    );
    let synced = last.expect("at least one repetition");
    Ok((synced, crm))
}

/// Runs the vdir benchmarks `reps` times side by side and reports medians.
pub async fn run(template: &Template, fs: &VdirFs, reps: usize, report: &mut Report) -> Result<(), BenchError> {
    let n = template.contacts;
    let (synced, crm) = first_sync_figure(template, fs, reps, report).await?;
    let per_3000 = crm.as_secs_f64() * 3000.0 / n as f64;
    report.add(
        SECTION,
        format!("first sync {n} contacts, scaled to 3,000"),
        format!("{per_3000:.3} s"),
        "<= 1 s",
        Standing::of(per_3000 <= 1.0),
    );

    incremental(template, synced, report).await
}

async fn incremental(template: &Template, synced: Synced, report: &mut Report) -> Result<(), BenchError> {
    let n = template.contacts;
    let Synced {
        world,
        root,
        counting,
        profile,
        ..
    } = synced;
    counting.reset();
    let started = Instant::now();
    let run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let calls = counting.counts();
    report.add(
        SECTION,
        format!("no-change sync of {n}: connector calls"),
        calls.total().to_string(),
        "1 per collection",
        Standing::of(calls.total() <= 1),
    );
    report.note(format!("vdir no-change calls: {calls}"));
    report.add(
        SECTION,
        format!("no-change sync of {n}: time"),
        secs(took),
        "(context)",
        Standing::Info,
    );
    if crate::edits::writes(&run) != 0 {
        return Err(BenchError::Unexpected(format!("a no-change sync wrote: {run:?}")));
    }

    let k = one_percent(n);
    let edited_crm = edit_crm_contacts(&world.store, &template.user_id, k).await?;
    let folder = root.join("contacts");
    let mut edited_files = 0;
    for file in read_items(&folder)?.iter().rev().take(k) {
        if let Some(body) = edit_card(&String::from_utf8_lossy(&file.body)) {
            std::fs::write(folder.join(&file.name), body).map_err(BenchError::io("editing a vCard"))?;
            edited_files += 1;
        }
    }
    counting.reset();
    let started = Instant::now();
    let run = run_profile(&world.store, &profile, &RunOptions::default()).await?;
    let took = started.elapsed();
    let calls = counting.counts();
    let (to_gw, to_crm) = (applied(&run, "groupware update"), applied(&run, "crm update"));
    report.add(
        SECTION,
        format!("1% change sync ({edited_crm} CRM + {edited_files} vdir edits)"),
        format!("{} ({} calls)", secs(took), calls.total()),
        "(context)",
        Standing::Info,
    );
    if to_gw < edited_crm || to_crm < edited_files {
        return Err(BenchError::Unexpected(format!(
            "1% sync applied {to_gw} groupware and {to_crm} CRM updates for {edited_crm} + {edited_files} edits"
        )));
    }
    Ok(())
}

fn remove(dir: &std::path::Path) -> Result<(), BenchError> {
    std::fs::remove_dir_all(dir).map_err(BenchError::io(format!("removing {}", dir.display())))
}

pub(crate) fn median(values: &mut [Duration]) -> Duration {
    values.sort();
    values[values.len() / 2]
}

pub(crate) fn median_f(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
