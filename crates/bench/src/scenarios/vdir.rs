//! CRM → fresh vdir: first sync against raw durable writes of the same files,
//! then a no-change sync and a sync after 1 % changed on each side.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crmsync_engine::EntityClass;
use crmsync_sync::{RunOptions, run_profile};
use crmsync_vdir::{VdirConfig, VdirConnector};

use crate::abba::crm_raw_raw_crm;
use crate::counting::CountingConnector;
use crate::edits::{applied, edit_card, edit_crm_contacts, one_percent};
use crate::error::BenchError;
use crate::raw_vdir::{RAW_WRITERS, RawFile, read_items, write_durably};
use crate::report::{Report, Standing, secs};
use crate::vdir_fs::VdirFs;
use crate::world::{Template, World};

const SECTION: &str = "vdir";

struct Synced {
    world: World,
    /// The vdir root crmsync synced to, a folder of its own (R-BENCH-15).
    root: PathBuf,
    counting: CountingConnector,
    profile: crmsync_sync::SyncProfile,
    took: Duration,
}

/// Folders of a figure's runs on the section's file system, one each, kept
/// until the figure ends: a deletion just before a timed part would cost
/// the next run's file creations on an ext4 without a journal (R-BENCH-12).
struct RunFolders<'f> {
    fs: &'f VdirFs,
    made: RefCell<Vec<PathBuf>>,
}

impl<'f> RunFolders<'f> {
    fn new(fs: &'f VdirFs) -> Self {
        RunFolders {
            fs,
            made: RefCell::new(Vec::new()),
        }
    }

    /// A fresh folder for the next run of `side`.
    fn next(&self, side: &str) -> Result<PathBuf, BenchError> {
        let mut made = self.made.borrow_mut();
        let folder = self.fs.folder(&format!("{side}-{}", made.len()))?;
        made.push(folder.clone());
        Ok(folder)
    }

    /// Removes every run's folder but `keep` (untimed, after the figure)
    /// and answers the runs' folder names in the order they ran.
    fn remove_all_but(self, keep: &Path) -> Result<Vec<String>, BenchError> {
        let mut names = Vec::new();
        for folder in self.made.into_inner() {
            if !keep.starts_with(&folder) {
                remove(&folder)?;
            }
            names.push(folder.file_name().unwrap_or_default().to_string_lossy().into_owned());
        }
        Ok(names)
    }
}

/// One timed first sync of a fresh copy of the CRM into the empty `root`.
async fn first_sync(template: &Template, fs: &VdirFs, root: PathBuf) -> Result<Synced, BenchError> {
    let world = template.world().await?;
    let vdir =
        VdirConnector::open(&VdirConfig::new(root.clone())).map_err(|e| BenchError::Unexpected(e.to_string()))?;
    let counting = CountingConnector::new(Arc::new(vdir));
    let profile = world.profile(Arc::new(counting.clone()), &[EntityClass::Contacts]);
    // The copy of the CRM and the runs before are written back before the
    // timer starts, not inside it: the vdir's file system and the CRM's.
    fs.settle(&[world.dir.path()])?;
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
        root,
        counting,
        profile,
        took,
    })
}

/// One timed run of the raw writer: `files` into the empty folder `dir`,
/// the file systems settled first (R-BENCH-15).
fn raw_write(fs: &VdirFs, dir: &Path, files: &[RawFile], crm_dir: &Path) -> Result<Duration, BenchError> {
    fs.settle(&[crm_dir])?;
    let started = Instant::now();
    write_durably(dir, files)?;
    Ok(started.elapsed())
}

/// The first-sync figure alone (crmsync against the same files written by
/// the durable writers), at a second size to show how it scales (issue 17
/// lists 3,000 and 30,000 contacts).
pub async fn first_sync_only(
    template: &Template,
    fs: &VdirFs,
    rounds: usize,
    report: &mut Report,
) -> Result<(), BenchError> {
    first_sync_figure(template, fs, rounds, report).await.map(|_| ())
}

/// What a first-sync figure leaves for the figures after it.
struct FirstSyncFigure {
    /// crmsync's first run, which the incremental figures go on from.
    synced: Synced,
    /// crmsync's median run.
    crm_median: Duration,
    /// The runs' folders in the order they ran (`crmsync-0`, `raw-1`, ...).
    #[cfg_attr(not(test), allow(dead_code, reason = "the order is checked by the tests"))]
    runs: Vec<String>,
}

/// Folders a figure of `rounds` rounds writes (each kept until it ends).
pub fn folders_of(rounds: usize) -> usize {
    4 * rounds.max(1)
}

/// `rounds` rounds of crmsync, raw, raw, crmsync (R-BENCH-13/15, `abba`),
/// every run into a fresh folder of its own with the vdir's and the CRM's
/// file systems written back before its timer; reports the pooled ratio
/// with each round's and the spread, and answers crmsync's first run (the
/// incremental figures go on from it) with crmsync's median time.
async fn first_sync_figure(
    template: &Template,
    fs: &VdirFs,
    rounds: usize,
    report: &mut Report,
) -> Result<FirstSyncFigure, BenchError> {
    let n = template.contacts;
    let folders = RunFolders::new(fs);
    let (times, synced) = crm_raw_raw_crm(
        rounds,
        || {
            let root = folders.next("crmsync");
            async move {
                let synced = first_sync(template, fs, root?).await?;
                Ok::<_, BenchError>((synced.took, synced))
            }
        },
        |first: &Synced| {
            let dir = folders.next("raw");
            // The bytes crmsync's first run wrote (read untimed).
            let files = read_items(&first.root.join("contacts"));
            let crm_dir = first.world.dir.path().to_path_buf();
            async move { raw_write(fs, &dir?, &files?, &crm_dir) }
        },
    )
    .await?;
    let runs = folders.remove_all_but(&synced.root)?;
    let r = times.ratio();
    report.add(
        SECTION,
        format!(
            "first sync {n} contacts {}: crmsync / {RAW_WRITERS}-writer durable writes",
            fs.label()
        ),
        times.describe(),
        "<= 1.2x",
        Standing::of(r <= 1.2),
    );
    Ok(FirstSyncFigure {
        synced,
        crm_median: times.median_crmsync(),
        runs,
    })
}

/// Runs the vdir benchmarks (`rounds` rounds of the first sync) and the
/// incremental figures on crmsync's first run.
pub async fn run(template: &Template, fs: &VdirFs, rounds: usize, report: &mut Report) -> Result<(), BenchError> {
    let n = template.contacts;
    let FirstSyncFigure { synced, crm_median, .. } = first_sync_figure(template, fs, rounds, report).await?;
    let per_3000 = crm_median.as_secs_f64() * 3000.0 / n as f64;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// R-BENCH-15: two rounds of crmsync, raw, raw, crmsync, each run into
    /// a folder of its own, the pooled ratio with each round's beside it;
    /// the incremental figures go on from crmsync's first run, whose folder
    /// alone is kept, holding every card.
    #[tokio::test]
    async fn r_bench_15_vdir_rounds_run_crm_raw_raw_crm_each_into_its_own_folder() {
        let template = Template::seed(12, 0, chrono::Utc::now()).await.unwrap();
        let fs = VdirFs::temp_folder().unwrap();
        let mut report = Report::default();
        let figure = first_sync_figure(&template, &fs, 2, &mut report).await.unwrap();
        let one_round = ["crmsync", "raw", "raw", "crmsync"];
        let sides: Vec<&str> = figure.runs.iter().map(|r| r.split('-').next().unwrap()).collect();
        assert_eq!(sides, one_round.repeat(2));
        let unique: std::collections::BTreeSet<&String> = figure.runs.iter().collect();
        assert_eq!(
            unique.len(),
            8,
            "every run wrote into a fresh folder: {:?}",
            figure.runs
        );
        assert!(figure.synced.root.ends_with("crmsync-0"), "{:?}", figure.synced.root);
        assert_eq!(read_items(&figure.synced.root.join("contacts")).unwrap().len(), 12);
        let left: Vec<_> = std::fs::read_dir(fs.folder(".").unwrap()).unwrap().collect();
        assert_eq!(left.len(), 1, "the other runs' folders are gone after the figure");
        let row = &report.figures[0];
        assert!(row.measured.contains("over 2 rounds (rounds "), "{}", row.measured);
        assert!(row.measured.contains("spread"), "{}", row.measured);
    }
}
