//! Where a vdir profile's folders live.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A vdir "storage": `root` holds one sub-folder per collection, each holding one
/// file per item (the layout vdirsyncer writes and khard/khal read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VdirConfig {
    pub root: PathBuf,
}

impl VdirConfig {
    /// A vdir has no numeric settings; the one it has must name a folder
    /// (R-CFG-DAV-2 asks each connector's config to check itself on save).
    pub fn validate(&self) -> Result<(), crate::VdirError> {
        if self.root.as_os_str().is_empty() {
            return Err(crate::VdirError::InvalidSetting {
                key: "root",
                reason: "must name a folder".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_cfg_dav_2_an_empty_vdir_root_is_refused_by_name() {
        let empty = VdirConfig { root: PathBuf::new() };
        assert!(matches!(
            empty.validate(),
            Err(crate::VdirError::InvalidSetting { key: "root", .. })
        ));
        assert!(
            VdirConfig {
                root: "/srv/anna".into()
            }
            .validate()
            .is_ok()
        );
    }
}
