//! A CRM on SQLite seeded once and copied for every scenario, so each
//! measured sync starts from the same records with an empty status store
//! (seeding 100k records takes longer than syncing them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use crmsync_connector::Connector;
use crmsync_engine::EntityClass;
use crmsync_model::{Actor, Role, UserFields};
use crmsync_store::Store;
use crmsync_sync::SyncProfile;
use tempfile::TempDir;

use crate::data;
use crate::error::BenchError;

const DB_FILE: &str = "crm.db";

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// A seeded CRM database file, closed, ready to be copied.
pub struct Template {
    dir: TempDir,
    pub user_id: String,
    pub contacts: usize,
    pub meetings: usize,
    pub now: DateTime<Utc>,
}

impl Template {
    /// A CRM with one user owning `contacts` contacts and `meetings` meetings.
    pub async fn seed(contacts: usize, meetings: usize, now: DateTime<Utc>) -> Result<Template, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
        let store = Store::connect(&sqlite_url(&dir.path().join(DB_FILE))).await?;
        store.migrate().await?;
        let (user, _token) = store
            .records()
            .create_user(UserFields::active_user("alice", "alice@example.com"))
            .await?;
        let user_id = user.meta.id.clone();
        data::seed_contacts(&store, &user_id, contacts).await?;
        data::seed_meetings(&store, &user_id, meetings, now).await?;
        // Closing checkpoints the WAL into the main file, so one copy is whole.
        store.close().await;
        Ok(Template {
            dir,
            user_id,
            contacts,
            meetings,
            now,
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join(DB_FILE)
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.user_id.clone(),
            role: Role::User,
        }
    }

    /// A fresh copy of the CRM in its own folder.
    pub async fn world(&self) -> Result<World, BenchError> {
        let dir = tempfile::tempdir().map_err(BenchError::io("creating a temp folder"))?;
        let db = dir.path().join(DB_FILE);
        std::fs::copy(self.db_path(), &db).map_err(BenchError::io("copying the seeded CRM"))?;
        let store = Store::connect(&sqlite_url(&db)).await?;
        Ok(World {
            dir,
            store,
            actor: self.actor(),
        })
    }
}

/// One scenario's CRM: a copy of the template and a folder for its targets.
pub struct World {
    pub dir: TempDir,
    pub store: Store,
    pub actor: Actor,
}

impl World {
    /// A profile syncing `classes` of this CRM's user to `connector`.
    pub fn profile(&self, connector: Arc<dyn Connector>, classes: &[EntityClass]) -> SyncProfile {
        let mut profile = SyncProfile::new(
            "bench",
            self.actor.clone(),
            crmsync_engine::Profile::new(&self.actor.user_id),
            connector,
        );
        profile.classes = classes.to_vec();
        profile
    }

    /// The URL of this world's CRM database, for a `crmsync.toml` that
    /// opens the same file from another process.
    pub fn db_url(&self) -> String {
        sqlite_url(&self.dir.path().join(DB_FILE))
    }

    /// A folder inside this world's temp folder, created.
    pub fn folder(&self, name: &str) -> Result<PathBuf, BenchError> {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).map_err(BenchError::io(format!("creating {}", path.display())))?;
        Ok(path)
    }
}
