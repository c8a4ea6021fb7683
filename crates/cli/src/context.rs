//! What every command starts from: the validated configuration with paths
//! made absolute, and the store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use crmsync_config::{Config, LogConfig, LogFormat};
use crmsync_store::Store;

#[derive(Clone)]
pub struct Context {
    pub config: Config,
    /// Relative paths in the configuration are relative to this folder (the
    /// configuration file's), so a config works from any working directory.
    pub base_dir: PathBuf,
    /// Every store this command opened (handles on the same pools), closed
    /// by [`Context::close_stores`] once the command returned.
    opened: Arc<Mutex<Vec<Store>>>,
}

impl Context {
    pub fn load(path: Option<&Path>) -> anyhow::Result<Context> {
        let config = Config::load(path)?;
        let base_dir = match path.and_then(Path::parent) {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::env::current_dir().context("reading the current directory")?,
        };
        Ok(Context {
            config,
            base_dir,
            opened: Arc::default(),
        })
    }

    /// The database URL with a relative SQLite path resolved against `base_dir`.
    pub fn database_url(&self) -> String {
        resolve_sqlite_url(&self.config.database.url, &self.base_dir)
    }

    /// Opens the store and brings its schema up to date: every command that
    /// touches data needs both, and migrations are idempotent.
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::connect(&self.database_url()).await?;
        self.keep(&store);
        store.migrate().await?;
        Ok(store)
    }

    /// [`Context::open_store`] for a command that runs and exits: a SQLite
    /// database is opened with one connection (R-STORE-12).
    pub async fn open_store_one_shot(&self) -> anyhow::Result<Store> {
        let store = Store::connect_one_shot(&self.database_url()).await?;
        self.keep(&store);
        store.migrate().await?;
        Ok(store)
    }

    /// Noted before the migration, so a store whose migration failed is
    /// closed too.
    fn keep(&self, store: &Store) {
        self.opened.lock().expect("opened stores").push(store.clone());
    }

    /// Closes every store the command opened (R-SYNC-PERF-10); the command
    /// has returned, so nothing of it uses them any more (not so after
    /// `serve` or `worker`, which leave abandoned runs behind: the close
    /// would wait for their connections, so theirs stay open). Dropped
    /// instead, a SQLite connection is closed on its own thread while `main`
    /// returns, and the process's exit cuts that close short: as the last
    /// connection SQLite checkpoints the WAL into the database and deletes
    /// it there, so a cut close left the whole WAL (megabytes after a first
    /// sync or the demo's) for the next command to read back at its open.
    /// The close waits for that checkpoint; with another process holding the
    /// database SQLite checkpoints nothing, as before.
    pub async fn close_stores(&self) {
        let opened = std::mem::take(&mut *self.opened.lock().expect("opened stores"));
        for store in opened {
            store.close().await;
        }
    }
}

pub fn resolve_sqlite_url(url: &str, base: &Path) -> String {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return url.to_string();
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path.is_empty() || path.starts_with('/') || path.contains(":memory:") {
        return url.to_string();
    }
    let full = base.join(path);
    match query {
        Some(q) => format!("sqlite://{}?{q}", full.display()),
        None => format!("sqlite://{}", full.display()),
    }
}

pub fn init_logging(log: &LogConfig) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CRMSYNC_LOG")
        // PostgreSQL's notices ("relation _sqlx_migrations already exists,
        // skipping" at every start) are chatter at info level: warnings only.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{},sqlx::postgres::notice=warn", log.level)));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A second init (tests, demo) is harmless: keep the first subscriber.
    let _ = match log.format {
        LogFormat::Json => builder.with_writer(std::io::stderr).json().try_init(),
        // One event, one line: values cannot forge lines (R-API-14).
        LogFormat::Text => builder
            .with_writer(|| crate::log_escape::EscapingWriter(std::io::stderr()))
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_sqlite_paths_follow_the_config_file() {
        let base = Path::new("/srv/crm");
        assert_eq!(resolve_sqlite_url("sqlite://crm.db", base), "sqlite:///srv/crm/crm.db");
        assert_eq!(resolve_sqlite_url("sqlite:///var/crm.db", base), "sqlite:///var/crm.db");
        assert_eq!(resolve_sqlite_url("sqlite::memory:", base), "sqlite::memory:");
        assert_eq!(resolve_sqlite_url("postgres://h/db", base), "postgres://h/db");
    }
}
