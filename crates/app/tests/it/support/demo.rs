//! A `crmsync demo` folder (real SQLite, real vdir mailboxes) and the real
//! binary run on it, for the tests of what an operator sees.

use std::path::{Path, PathBuf};
use std::process::Output;

use crmsync_store::{ListQuery, MAX_PAGE, Store};
use serde_json::Value;

pub struct Demo {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Demo {
    pub fn new() -> Demo {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("demo");
        let out = crmsync_raw(&["demo", "--dir", dir.to_str().unwrap()]);
        assert!(out.status.success(), "demo: {}", String::from_utf8_lossy(&out.stderr));
        Demo { _tmp: tmp, dir }
    }

    pub fn config(&self) -> String {
        self.dir.join("crmsync.toml").display().to_string()
    }

    /// Runs `crmsync --config <demo> args…`.
    pub fn run(&self, args: &[&str]) -> Output {
        let config = self.config();
        let mut all = vec!["--config", config.as_str()];
        all.extend_from_slice(args);
        crmsync_raw(&all)
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// Runs and expects the error exit; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }

    pub async fn store(&self) -> Store {
        Store::connect(&format!("sqlite://{}", self.dir.join("crm.db").display()))
            .await
            .unwrap()
    }

    pub fn mailbox(&self, profile: &str, collection: &str) -> PathBuf {
        self.dir.join("mailboxes").join(profile).join(collection)
    }
}

pub fn crmsync_raw(args: &[&str]) -> Output {
    super::crmsync_command().args(args).output().expect("crmsync runs")
}

pub fn items(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

pub async fn user_id(store: &Store, name: &str) -> String {
    let users = every::<crmsync_model::UserFields>(store).await;
    users.into_iter().find(|u| u.fields.name == name).unwrap().meta.id
}

/// Every record of one kind in the demo CRM (it holds fewer than a page).
pub async fn every<F: crmsync_store::Entity>(store: &Store) -> Vec<crmsync_model::Record<F>> {
    let query = ListQuery {
        visible_to: None,
        owner_id: None,
        modified_since: None,
        cursor: None,
        limit: MAX_PAGE,
    };
    store.records().list::<F>(&query).await.unwrap().items
}
