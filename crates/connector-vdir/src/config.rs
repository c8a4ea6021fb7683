//! Where a vdir profile's folders live.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crmsync_connector::{
    CollectionChoice, Connector, ConnectorConfig, FieldLimits, InvalidSetting, OpenError, OpenOptions,
};
use serde::{Deserialize, Serialize};

use crate::VdirConnector;

/// A vdir "storage": `root` holds one sub-folder per collection, each holding one
/// file per item (the layout vdirsyncer writes and khard/khal read).
///
/// ```toml
/// connector = { kind = "vdir", root = "mailboxes/alice" }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VdirConfig {
    /// Relative to the configuration file's folder.
    pub root: PathBuf,
    /// Existing folders to use instead of `contacts`/`calendar`/`tasks` (R-COL-1).
    #[serde(default, skip_serializing_if = "CollectionChoice::is_empty")]
    pub collections: CollectionChoice,
    /// Length limits of the programs reading the folders (R-FIELD-6).
    #[serde(default, skip_serializing_if = "FieldLimits::is_empty")]
    pub field_limits: FieldLimits,
}

impl VdirConfig {
    /// The folders under `root`, with crmsync's own collections and no limits.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        VdirConfig {
            root: root.into(),
            ..Default::default()
        }
    }
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

    fn mailbox_tables(&self) -> Option<(&CollectionChoice, &FieldLimits)> {
        Some((&self.collections, &self.field_limits))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_cfg_dav_2_an_empty_vdir_root_is_refused_by_name() {
        let empty = VdirConfig::new(PathBuf::new());
        assert_eq!(ConnectorConfig::validate(&empty).unwrap_err().key, "root");
        assert!(VdirConfig::new("/srv/anna").validate().is_ok());
    }
}
