//! Where a vdir profile's folders live.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crmsync_connector::{Connector, ConnectorConfig, InvalidSetting, OpenError, OpenOptions};
use serde::{Deserialize, Serialize};

use crate::VdirConnector;

/// A vdir "storage": `root` holds one sub-folder per collection, each holding one
/// file per item (the layout vdirsyncer writes and khard/khal read).
///
/// ```toml
/// connector = { kind = "vdir", root = "mailboxes/alice" }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VdirConfig {
    /// Relative to the configuration file's folder.
    pub root: PathBuf,
}

impl ConnectorConfig for VdirConfig {
    fn secret_keys() -> &'static [&'static str] {
        &[]
    }

    fn validate(&self) -> Result<(), InvalidSetting> {
        if self.root.as_os_str().is_empty() {
            return Err(InvalidSetting::new("root", "must name a folder"));
        }
        Ok(())
    }

    fn resolve_paths(&mut self, base_dir: &Path) {
        if self.root.is_relative() {
            self.root = base_dir.join(&self.root);
        }
    }

    fn uses_local_files(&self) -> bool {
        true
    }

    fn open(&self, options: OpenOptions) -> Result<Arc<dyn Connector>, OpenError> {
        if options.create_local_root {
            std::fs::create_dir_all(&self.root).map_err(|e| OpenError {
                message: format!("cannot create the vdir folder {}: {e}", self.root.display()),
                hint: "give the crmsync user write access to the folder's parent".into(),
                transient: false,
            })?;
        }
        let connector = VdirConnector::open(self).map_err(|e| OpenError {
            message: e.to_string(),
            hint: e.hint().to_string(),
            transient: e.is_transient(),
        })?;
        Ok(Arc::new(connector))
    }
}
