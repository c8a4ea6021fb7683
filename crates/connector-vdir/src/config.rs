//! Where a vdir profile's folders live.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A vdir "storage": `root` holds one sub-folder per collection, each holding one
/// file per item (the layout vdirsyncer writes and khard/khal read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VdirConfig {
    pub root: PathBuf,
}
