//! The physical limit for a vdir target: writing the same files with the same
//! durability crmsync promises (temp file in the folder, fsync, rename without
//! clobbering, fsync of the folder), and nothing else. crmsync's first sync
//! to a fresh vdir is held against this.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use crate::error::BenchError;

/// One file to write: its name in the folder and its bytes.
pub struct RawFile {
    pub name: String,
    pub body: Vec<u8>,
}

/// Reads every item file (`.vcf` / `.ics`) of `dir`, sorted by name, so the
/// baseline writes exactly the bytes crmsync wrote.
pub fn read_items(dir: &Path) -> Result<Vec<RawFile>, BenchError> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(BenchError::io(format!("listing {}", dir.display())))? {
        let entry = entry.map_err(BenchError::io("listing a folder"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".vcf") || name.ends_with(".ics") {
            let body = fs::read(entry.path()).map_err(BenchError::io(format!("reading {name}")))?;
            files.push(RawFile { name, body });
        }
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

/// Writers of the baseline: crmsync's own write concurrency for vdir
/// (`DEFAULT_WRITE_CONCURRENCY`), so like is compared with like.
pub const RAW_WRITERS: usize = crmsync_sync::DEFAULT_WRITE_CONCURRENCY;

/// Writes `files` into the (existing, empty) folder `dir` with
/// [`RAW_WRITERS`] threads: each file to a temp file, fsynced, renamed into
/// place; the folder fsynced once at the end (the durability crmsync gives a
/// batch, R-VDIR-11, with nothing else around it).
pub fn write_durably(dir: &Path, files: &[RawFile]) -> Result<(), BenchError> {
    let folder = File::open(dir).map_err(BenchError::io(format!("opening {}", dir.display())))?;
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..RAW_WRITERS)
            .map(|w| {
                scope.spawn(move || -> Result<(), BenchError> {
                    for (i, file) in files.iter().enumerate().skip(w).step_by(RAW_WRITERS) {
                        let temp = dir.join(format!(".raw-tmp-{i}"));
                        let mut out = File::create_new(&temp).map_err(BenchError::io("creating a temp file"))?;
                        out.write_all(&file.body)
                            .map_err(BenchError::io("writing a temp file"))?;
                        out.sync_all().map_err(BenchError::io("fsync of a temp file"))?;
                        drop(out);
                        // A plain rename: the cheapest atomic publish, so the baseline is a floor.
                        fs::rename(&temp, dir.join(&file.name))
                            .map_err(BenchError::io(format!("renaming to {}", file.name)))?;
                    }
                    Ok(())
                })
            })
            .collect();
        writers
            .into_iter()
            .map(|w| w.join().expect("a writer thread panicked"))
            .collect::<Result<Vec<()>, BenchError>>()
    })?;
    folder.sync_all().map_err(BenchError::io("fsync of the folder"))?;
    Ok(())
}
