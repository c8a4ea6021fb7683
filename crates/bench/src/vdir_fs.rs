//! R-BENCH-12: the file system the vdir figures write on. This machine's
//! root file system is ext4 without a journal, where allocating an inode
//! checks every inode freed in the last few seconds: files deleted just
//! before a timed write (the previous repetition's, another process's)
//! swung the raw writer's time for the same 3,000 files by 10x. A freshly
//! made ext4 image with the default journal, loop-mounted for the section,
//! gives crmsync and the raw writer the same quiet file system. Without
//! root or the tools the section falls back to the temp folder and says so.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::error::BenchError;

/// The programs the loop mount needs.
const TOOLS: [&str; 3] = ["mkfs.ext4", "mount", "umount"];

/// Room per contact and folder: every run of a figure writes into a folder of
/// its own, all kept until the figure ends (R-BENCH-15), and mkfs.ext4 gives
/// one inode per 16 KiB, so 32 KiB leaves inodes and blocks for cards of a
/// few KiB with room to spare.
const BYTES_PER_CONTACT_FOLDER: u64 = 32 * 1024;

/// The smallest image: below 1 GiB mkfs.ext4 makes a smaller journal, and
/// the journal is what this file system is for.
const MIN_IMAGE: u64 = 1 << 30;

/// Where the section's folders go, decided before anything is made.
#[derive(Debug, PartialEq, Eq)]
pub enum Choice {
    /// A loop-mounted ext4 image with a journal, of this many bytes.
    Journalled { image_bytes: u64 },
    /// The temp folder, and why the image could not be used.
    TempDir { why: String },
}

/// What the machine offers, read once (kept apart so the decision is pure).
pub struct Machine {
    pub root: bool,
    pub missing_tools: Vec<String>,
    /// Free bytes where the image would be made, if known.
    pub free_bytes: Option<u64>,
}

impl Machine {
    pub fn probe(temp: &Path) -> Machine {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        let missing_tools = TOOLS
            .iter()
            .filter(|tool| !on_path(tool))
            .map(|t| t.to_string())
            .collect();
        Machine {
            root,
            missing_tools,
            free_bytes: free_bytes(temp),
        }
    }
}

/// The image's size for `folders` folders of `contacts` each alive at once:
/// sparse, so only what is written takes disk space.
pub fn image_bytes(contacts: usize, folders: usize) -> u64 {
    let wanted = (contacts as u64)
        .saturating_mul(folders.max(1) as u64)
        .saturating_mul(BYTES_PER_CONTACT_FOLDER);
    wanted.max(MIN_IMAGE).next_multiple_of(1 << 20)
}

/// Whether the section runs on a journalled image, and if not why.
pub fn choose(machine: &Machine, contacts: usize, folders: usize) -> Choice {
    let image_bytes = image_bytes(contacts, folders);
    if !machine.root {
        return Choice::TempDir {
            why: "not root, so no loop mount".into(),
        };
    }
    if !machine.missing_tools.is_empty() {
        return Choice::TempDir {
            why: format!("{} not found", machine.missing_tools.join(", ")),
        };
    }
    if let Some(free) = machine.free_bytes
        && free < image_bytes
    {
        return Choice::TempDir {
            why: format!("{} MiB free, the image needs {} MiB", free >> 20, image_bytes >> 20),
        };
    }
    Choice::Journalled { image_bytes }
}

/// The folder the vdir section writes in, with what it is (for the report).
/// Dropping it unmounts and deletes the image, also when the section failed.
pub struct VdirFs {
    /// Declared before `_temp`: unmounted before the folder holding it goes.
    mount: Option<LoopMount>,
    root: PathBuf,
    description: String,
    label: String,
    _temp: TempDir,
}

impl VdirFs {
    /// Makes and mounts the image when the machine allows, else a temp
    /// folder; room for `folders` folders of `contacts` cards.
    pub fn prepare(contacts: usize, folders: usize) -> Result<VdirFs, BenchError> {
        let temp = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
        let machine = Machine::probe(temp.path());
        match choose(&machine, contacts, folders) {
            Choice::Journalled { image_bytes } => match LoopMount::make(temp.path(), image_bytes) {
                Ok(mount) => Ok(VdirFs {
                    root: mount.mount_point.clone(),
                    description: format!(
                        "a fresh loop-mounted ext4 image with the default journal ({} MiB)",
                        image_bytes >> 20
                    ),
                    label: "on a journalled ext4 image".into(),
                    mount: Some(mount),
                    _temp: temp,
                }),
                Err(why) => Ok(Self::temp_dir(temp, &why)),
            },
            Choice::TempDir { why } => Ok(Self::temp_dir(temp, &why)),
        }
    }

    fn temp_dir(temp: TempDir, why: &str) -> VdirFs {
        let fs = fs_type(temp.path()).unwrap_or_else(|| "unknown".into());
        VdirFs {
            mount: None,
            root: temp.path().to_path_buf(),
            description: format!("the temp folder ({fs}; no journalled image: {why})"),
            label: format!("in the temp folder ({fs})"),
            _temp: temp,
        }
    }

    /// The temp folder whatever the machine offers: the file system the
    /// figures ran on before R-BENCH-12, measured beside the image so a
    /// reader sees both and the history of the rows goes on.
    pub fn temp_folder() -> Result<VdirFs, BenchError> {
        let temp = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
        Ok(Self::temp_dir(temp, "measured beside the image for comparison"))
    }

    /// Whether the folders are on a journalled image made for the run.
    pub fn is_journalled_image(&self) -> bool {
        self.mount.is_some()
    }

    /// What the figures ran on, for the report.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A few words naming the file system, for a figure's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A new, empty folder for one repetition's files.
    pub fn folder(&self, name: &str) -> Result<PathBuf, BenchError> {
        let path = self.root.join(name);
        std::fs::create_dir_all(&path).map_err(BenchError::io(format!("creating {}", path.display())))?;
        Ok(path)
    }

    /// Writes back everything pending on the section's file system and on
    /// the file systems holding `also` (the CRM database's folder), so a
    /// timed part starts settled and pays for nothing that came before it:
    /// not the copy of the CRM, not the previous run's files (R-BENCH-15).
    pub fn settle(&self, also: &[&Path]) -> Result<(), BenchError> {
        sync_file_system(&self.root)?;
        also.iter().try_for_each(|path| sync_file_system(path))
    }
}

/// `syncfs` of the file system holding `path`.
fn sync_file_system(path: &Path) -> Result<(), BenchError> {
    let dir = std::fs::File::open(path).map_err(BenchError::io(format!("opening {}", path.display())))?;
    // SAFETY: syncfs takes an open descriptor, which `dir` holds for the call.
    if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
        return Err(BenchError::Io {
            doing: format!("syncfs of the file system of {}", path.display()),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// A mounted image; unmounted and deleted when dropped.
struct LoopMount {
    image: PathBuf,
    mount_point: PathBuf,
}

impl LoopMount {
    fn make(dir: &Path, bytes: u64) -> Result<LoopMount, String> {
        let image = dir.join("vdir.ext4");
        let mount_point = dir.join("mnt");
        std::fs::create_dir(&mount_point).map_err(|e| format!("creating the mount point: {e}"))?;
        let file = std::fs::File::create(&image).map_err(|e| format!("creating the image: {e}"))?;
        file.set_len(bytes).map_err(|e| format!("sizing the image: {e}"))?;
        drop(file);
        run(Command::new("mkfs.ext4").arg("-q").arg("-F").arg(&image))?;
        run(Command::new("mount").args(["-o", "loop"]).arg(&image).arg(&mount_point))?;
        Ok(LoopMount { image, mount_point })
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        // A folder still open somewhere keeps the mount busy: then detach it
        // lazily, so the image is freed once the last user lets go.
        let unmounted = run(Command::new("umount").arg(&self.mount_point))
            .or_else(|_| run(Command::new("umount").arg("-l").arg(&self.mount_point)));
        if let Err(e) = unmounted {
            eprintln!("crmsync-bench: could not unmount {}: {e}", self.mount_point.display());
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.image) {
            eprintln!("crmsync-bench: could not delete {}: {e}", self.image.display());
        }
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("{command:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn on_path(tool: &str) -> bool {
    let dirs = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&dirs)
        .chain(["/sbin", "/usr/sbin"].map(PathBuf::from))
        .any(|d| d.join(tool).is_file())
}

fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data, all zeroes a valid value; `c` is a
    // NUL-terminated path and `stat` a writable statvfs for the call.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    Some(stat.f_bavail as u64 * stat.f_frsize as u64)
}

/// The file system type of `path` from /proc/self/mounts (longest mount
/// point that holds it), e.g. "ext4".
fn fs_type(path: &Path) -> Option<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let path = path.canonicalize().ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, point, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(point).then(|| (point.len(), kind.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            root: true,
            missing_tools: Vec::new(),
            free_bytes: Some(100 << 30),
        }
    }

    #[test]
    fn r_bench_12_the_image_is_sized_for_the_run_and_at_least_1_gib() {
        assert_eq!(image_bytes(0, 8), MIN_IMAGE);
        assert_eq!(
            image_bytes(3_000, 3),
            MIN_IMAGE,
            "3,000 contacts fit the smallest image"
        );
        let large = image_bytes(30_000, 4);
        assert!(
            large >= 30_000 * 4 * 2 * 16 * 1024,
            "two inodes per card (16 KiB each) in each of four folders: {large}"
        );
        assert!(large < 5 << 30, "a few GB at 30,000: {large}");
        assert_eq!(large % (1 << 20), 0);
    }

    #[test]
    fn r_bench_12_journalled_only_as_root_with_the_tools_and_the_room() {
        assert_eq!(
            choose(&machine(), 3_000, 3),
            Choice::Journalled { image_bytes: MIN_IMAGE }
        );
        let not_root = Machine {
            root: false,
            ..machine()
        };
        assert!(matches!(choose(&not_root, 3_000, 3), Choice::TempDir { why } if why.contains("root")));
        let no_mkfs = Machine {
            missing_tools: vec!["mkfs.ext4".into()],
            ..machine()
        };
        assert!(matches!(choose(&no_mkfs, 3_000, 3), Choice::TempDir { why } if why.contains("mkfs.ext4")));
        let full = Machine {
            free_bytes: Some(512 << 20),
            ..machine()
        };
        assert!(matches!(choose(&full, 3_000, 3), Choice::TempDir { why } if why.contains("MiB free")));
        let unknown_room = Machine {
            free_bytes: None,
            ..machine()
        };
        assert!(matches!(choose(&unknown_room, 3_000, 3), Choice::Journalled { .. }));
    }
}
