//! Crash-safe file writes. A reader (khard, khal, vdirsyncer, us) must only ever
//! see the old or the new complete file, and a crash must leave no half file
//! under an item's name: bodies go to a hidden temp file in the same folder,
//! are fsynced, then renamed into place (atomic within one file system).
//!
//! The folder is fsynced once per batch of writes, not per file (R-VDIR-11):
//! the functions here leave that to the caller ([`sync_dir`]), which
//! [`crate::VdirConnector`] does in `flush_writes`. Why that is safe:
//! - A body never becomes visible half written: it is fsynced before the
//!   rename, so whatever name survives a power cut points at a complete file.
//! - Until the folder is fsynced, a power cut may undo a rename (the item
//!   is missing, or its old version is back), never produce a mix.
//! - The runner fsyncs (`flush_writes`) after each batch and only then
//!   commits the batch's results (pairs, ETags, steps `done`) to the status
//!   store. Before that commit the batch's steps are journaled `started`,
//!   so after a power cut the next run checks each against the folder
//!   (R-SAFE-2): an undone create is written again, one that survived is
//!   found and paired (no duplicate), an undone update is re-planned. That
//!   is the same state a crash between a rename and the commit always left.
//! - The runner flushes a batch while the next batch's writes are in flight
//!   (R-VDIR-14). A rename landing during a folder's fsync may or may not
//!   be covered by it; the store marks the folder unsynced after each
//!   rename or unlink, so the next flush fsyncs it again, and the runner
//!   records that rename only after that next flush.
//! - A process crash (SIGKILL, panic) loses nothing here: renames are in the
//!   kernel's cache, which survives the process; only a power cut or kernel
//!   crash can undo an unsynced rename.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use tempfile::NamedTempFile;

/// Prefix of our temp files. Hidden, so every vdir reader ignores them.
pub const TEMP_PREFIX: &str = ".crmsync-tmp-";

/// Temp files older than this are leftovers of a crash. Younger ones may belong
/// to a concurrent crmsync process still writing, so they are left alone.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

fn write_temp(dir: &Path, body: &[u8], permissions: Option<Permissions>) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(TEMP_PREFIX).suffix(".part");
    // tempfile defaults to 0600; a new item gets the same mode as any file the
    // service writes (0666 less the umask), so a desktop user's khard can read
    // what a crmsync service account wrote, as the administrator's umask allows.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(body)?;
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p)?;
    }
    tmp.as_file().sync_all()?;
    Ok(tmp)
}

/// Writes a new file, failing with `AlreadyExists` if `name` exists: the rename
/// uses RENAME_NOREPLACE (or link-then-unlink where that is unsupported), so a
/// file another program created meanwhile is never overwritten.
pub fn create_new(dir: &Path, name: &str, body: &[u8]) -> io::Result<()> {
    let tmp = write_temp(dir, body, None)?;
    // On failure the temp file is dropped, which deletes it.
    tmp.persist_noclobber(dir.join(name)).map_err(|e| e.error)?;
    Ok(())
}

/// Atomically replaces `name`, keeping the permissions the file had.
/// `check` runs after the new body is safely on disk, right before the rename,
/// to re-verify the precondition as late as possible.
pub fn replace(
    dir: &Path,
    name: &str,
    body: &[u8],
    permissions: Permissions,
    check: impl FnOnce() -> io::Result<bool>,
) -> io::Result<bool> {
    let tmp = write_temp(dir, body, Some(permissions))?;
    if !check()? {
        return Ok(false);
    }
    tmp.persist(dir.join(name)).map_err(|e| e.error)?;
    Ok(true)
}

pub fn remove(dir: &Path, name: &str) -> io::Result<()> {
    fs::remove_file(dir.join(name))
}

/// Makes a rename or unlink in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes our temp files older than `max_age` (crash leftovers). Only files
/// with our prefix are touched: never an item, never another program's file.
pub fn clean_stale_temps(dir: &Path, max_age: Duration, now: SystemTime) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_ours = entry.file_name().to_str().is_some_and(|n| n.starts_with(TEMP_PREFIX));
        if !is_ours {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if meta.is_file() && age > max_age {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                // Another process cleaned it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}
