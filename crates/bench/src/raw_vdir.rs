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

/// Writes `files` into the (existing, empty) folder `dir`, each durably.
pub fn write_durably(dir: &Path, files: &[RawFile]) -> Result<(), BenchError> {
    let folder = File::open(dir).map_err(BenchError::io(format!("opening {}", dir.display())))?;
    for (i, file) in files.iter().enumerate() {
        let temp = dir.join(format!(".raw-tmp-{i}"));
        let mut out = File::create_new(&temp).map_err(BenchError::io("creating a temp file"))?;
        out.write_all(&file.body)
            .map_err(BenchError::io("writing a temp file"))?;
        out.sync_all().map_err(BenchError::io("fsync of a temp file"))?;
        drop(out);
        let target = dir.join(&file.name);
        // A plain rename: the cheapest atomic publish, so the baseline is a floor.
        fs::rename(&temp, &target).map_err(BenchError::io(format!("renaming to {}", file.name)))?;
        folder.sync_all().map_err(BenchError::io("fsync of the folder"))?;
    }
    Ok(())
}
