//! Opening the database: URL → backend, pool settings per backend, migrations.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::db::Db;
use crate::error::{Result, StoreError};
use crate::handles::{Catalog, Records, SyncState};

/// Which database the store runs on. The SQL is the same for both; only the
/// migrations, the pool settings and how a write transaction starts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection (or a transaction on one) talks to.
    pub(crate) fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The whole database: opens and migrates it, and hands out the handle each
/// caller needs ([`Store::records`], [`Store::sync_state`],
/// [`Store::catalog`]). Cheap to clone: clones and handles share one
/// connection pool.
#[derive(Clone)]
pub struct Store {
    db: Db,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.db.fmt(f)
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How many connections a SQLite file database may hold open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connections {
    /// A long-lived process (the server, a worker): readers beside a writer.
    Shared,
    /// One command that runs and exits (R-STORE-12): one connection.
    One,
}

impl Store {
    /// Opens `sqlite://path` (created when missing), `sqlite::memory:` or
    /// `postgres://…` / `postgresql://…`. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        Store::connect_with(url, Connections::Shared).await
    }

    /// [`Store::connect`] for one command that runs and exits (`crmsync
    /// sync`): a SQLite file gets a pool of one connection (R-STORE-12).
    /// sqlx hands a connection back to its pool in a task of its own after
    /// a round trip to the connection's thread, so a statement sent right
    /// after another finds none idle and opens another connection (its own
    /// thread, file handles, PRAGMAs and a parse of the whole schema): a
    /// no-change run opened four, one after another. A command runs its
    /// statements one at a time, so one connection serves it; PostgreSQL is
    /// as with [`Store::connect`].
    pub async fn connect_one_shot(url: &str) -> Result<Store> {
        Store::connect_with(url, Connections::One).await
    }

    async fn connect_with(url: &str, connections: Connections) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let redacted_url = redact_url(url);
        let opened = Arc::new(AtomicU64::new(0));
        let (backend, connect_url, options) = match scheme_of(url) {
            Some("sqlite") => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                (
                    Backend::Sqlite,
                    sqlite_url(url, in_memory),
                    sqlite_pool_options(in_memory, connections, opened.clone()),
                )
            }
            Some("postgres" | "postgresql") => (
                Backend::Postgres,
                url.to_string(),
                AnyPoolOptions::new().max_connections(10),
            ),
            Some(other) => {
                return Err(StoreError::InvalidUrl {
                    url: redacted_url,
                    reason: format!("unknown scheme `{other}`: use sqlite://PATH, sqlite::memory: or postgres://…"),
                });
            }
            None => {
                return Err(StoreError::InvalidUrl {
                    url: redacted_url,
                    reason: "no scheme: use sqlite://PATH, sqlite::memory: or postgres://…".into(),
                });
            }
        };
        let pool = options
            .acquire_timeout(Duration::from_secs(10))
            .connect(&connect_url)
            .await
            .map_err(|e| connect_error(&redacted_url, url, e))?;
        Ok(Store {
            db: Db::new(pool, backend, redacted_url, &connect_url, opened),
        })
    }

    /// How many SQLite connections this store's pool has opened so far
    /// (R-STORE-12); 0 on PostgreSQL, whose connections are not counted.
    pub fn connections_opened(&self) -> u64 {
        self.db.connections_opened()
    }

    /// Runs this backend's versioned migrations (`migrations/<backend>`);
    /// already applied ones are skipped. A schema that is current already
    /// is recognised with one read and the migrator is not run (R-STORE-14).
    pub async fn migrate(&self) -> Result<()> {
        if self.schema_is_current().await {
            return Ok(());
        }
        self.migrator().run(self.db.pool()).await?;
        Ok(())
    }

    /// Whether every migration this binary embeds is applied, successfully
    /// and with the same checksum, and no other (R-STORE-14): what sqlx's
    /// migrator would find before concluding it has nothing to do. It costs
    /// one read where the migrator runs three statements (creating its table
    /// if missing, the dirty check, the list) and, on PostgreSQL, takes an
    /// advisory lock. Anything else (no table yet, a migration missing,
    /// failed, edited or unknown to this binary, a read that fails) answers
    /// false, and [`Store::migrate`] runs the migrator, which applies what is
    /// missing or reports what is wrong as before.
    pub async fn schema_is_current(&self) -> bool {
        let applied =
            sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success = true ORDER BY version")
                .fetch_all(self.db.pool())
                .await;
        let Ok(applied) = applied else {
            return false;
        };
        let embedded: Vec<_> = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .collect();
        applied.len() == embedded.len()
            && applied.iter().zip(&embedded).all(|(row, m)| {
                use sqlx::Row;
                row.try_get::<i64, _>(0).is_ok_and(|v| v == m.version)
                    && row.try_get::<Vec<u8>, _>(1).is_ok_and(|c| c == *m.checksum)
            })
    }

    fn migrator(&self) -> &'static sqlx::migrate::Migrator {
        match self.db.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// The shared pool, for tests and diagnostics that look at the tables
    /// directly. Store code goes through a handle, whose writes are fenced.
    pub fn pool(&self) -> &AnyPool {
        self.db.pool()
    }

    /// Wakes when a CRM change may have been committed (R-PUSH-1): at once
    /// for this process's writes; on PostgreSQL also for other processes'
    /// (LISTEN on [`crate::CHANGE_CHANNEL`], one connection per
    /// subscription, held until it is dropped). Needs a tokio runtime.
    /// Only a hint: read the change log to learn what changed.
    pub fn change_events(&self) -> crate::ChangeEvents {
        self.db.change_events()
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.db.pool().close().await;
    }

    /// The CRM records: users, accounts, contacts, leads, activities,
    /// e-mail, journal entries, sync flags, the change log and tombstones.
    pub fn records(&self) -> Records {
        Records::new(self.db.clone())
    }

    /// What sync knows between runs: pairs, cursors, runs and their plan
    /// journal, history, conflicts, quarantine, duplicates, mail state.
    pub fn sync_state(&self) -> SyncState {
        SyncState::new(self.db.clone())
    }

    /// The stored sync profiles and their leases (R-SCHED-3). Never fenced:
    /// lease writes carry their own owner and token conditions.
    pub fn catalog(&self) -> Catalog {
        Catalog::new(self.db.unfenced())
    }

    /// This store, with every write of its records and sync-state handles
    /// committed only while `profile`'s lease token is `token` (R-SCHED-4).
    /// Reads are unaffected.
    pub fn fenced(&self, profile: &str, token: i64) -> Store {
        Store {
            db: self.db.fenced(profile, token),
        }
    }
}

fn scheme_of(url: &str) -> Option<&str> {
    url.split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty() && !s.contains('/'))
}

/// File databases get `mode=rwc` so a missing file is created.
fn sqlite_url(url: &str, in_memory: bool) -> String {
    if in_memory || url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn sqlite_pool_options(in_memory: bool, connections: Connections, opened: Arc<AtomicU64>) -> AnyPoolOptions {
    let options = if in_memory {
        // An in-memory database lives as long as a connection to it: keep
        // exactly one, forever, so the data does not vanish between calls.
        AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else if connections == Connections::One {
        AnyPoolOptions::new().max_connections(1)
    } else {
        // SQLite has one writer at a time anyway; a few readers suffice.
        AnyPoolOptions::new().max_connections(4)
    };
    options.after_connect(move |conn, _meta| {
        opened.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move {
            // WAL lets readers go on while one transaction writes; busy_timeout
            // makes a second writer wait instead of failing; foreign keys are
            // off by default in SQLite and the schema relies on them.
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA busy_timeout = 5000").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            Ok(())
        })
    })
}

fn connect_error(redacted_url: &str, url: &str, e: sqlx::Error) -> StoreError {
    // Driver messages could echo parts of the URL; never let a password through.
    match password_of(url) {
        Some(pw) if e.to_string().contains(pw) => StoreError::InvalidUrl {
            url: redacted_url.to_string(),
            reason: "the database refused the connection settings".into(),
        },
        _ => match e {
            sqlx::Error::Configuration(reason) => StoreError::InvalidUrl {
                url: redacted_url.to_string(),
                reason: reason.to_string(),
            },
            other => StoreError::Database {
                context: "connecting to the database",
                error: other,
            },
        },
    }
}

fn password_of(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, pw) = userinfo.split_once(':')?;
    (!pw.is_empty()).then_some(pw)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    match password_of(url) {
        Some(pw) => {
            let (scheme, rest) = url.split_once("://").unwrap_or_default();
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            // The last `@` of the authority ends the user info (passwords may hold `@`).
            let (userinfo, host) = rest.split_at(authority.rfind('@').unwrap_or_default());
            let user = userinfo
                .strip_suffix(pw)
                .and_then(|u| u.strip_suffix(':'))
                .unwrap_or("");
            format!("{scheme}://{user}:***{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgres://bob:s3cr@t@db:5432/crm"),
            "postgres://bob:***@db:5432/crm"
        );
        assert_eq!(redact_url("postgres://bob@db/crm"), "postgres://bob@db/crm");
        assert_eq!(redact_url("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn sqlite_files_are_created() {
        assert_eq!(sqlite_url("sqlite:///tmp/a.db", false), "sqlite:///tmp/a.db?mode=rwc");
        assert_eq!(sqlite_url("sqlite::memory:", true), "sqlite::memory:");
        assert_eq!(
            sqlite_url("sqlite:///tmp/a.db?mode=ro", false),
            "sqlite:///tmp/a.db?mode=ro"
        );
    }
}
