//! crmsync's connector for vdir folders: a root folder with one sub-folder per
//! collection and one file per item (`.vcf` contacts, `.ics` events and tasks),
//! the layout vdirsyncer writes and khard and khal read.
//!
//! Guarantees: writes are atomic (temp file, fsync, rename) and creates never
//! clobber; ETags are content hashes; a file is deleted only when asked with a
//! matching ETag; bytes are returned as stored, whatever they are. Change
//! detection is a full listing each time (vdir has no change log; see
//! [`VdirConnector`] and `docs/RULES.md`, R-VDIR-*).

mod atomic;
mod config;
mod connector;
mod error;
mod etag;
mod file_name;
mod kind;
mod names;
#[cfg(test)]
mod permission_tests;
mod store;

pub use config::VdirConfig;
pub use connector::VdirConnector;
pub use error::VdirError;
pub use file_name::{item_file_name, safe_base_name};
pub use kind::{DISPLAYNAME_FILE, KIND_MARKER};

/// Prefix of the temp files in-flight writes use (hidden from every vdir reader).
pub const TEMP_FILE_PREFIX: &str = atomic::TEMP_PREFIX;
