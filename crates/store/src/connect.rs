//! Opening the database: URL → backend, pool settings per backend, migrations.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::{Any, Executor, Transaction};

use crate::error::{Result, StoreError};

/// Which database the store runs on. The SQL is the same for both; only the
/// migrations, the pool settings and how a write transaction starts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The CRM store. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// For messages only; the password is already replaced by `***`.
    redacted_url: String,
    /// Set on the handle a leased run writes through (R-SCHED-4).
    fence: Option<Arc<Fence>>,
}

/// A profile's lease as a run holds it: every write of that run commits only
/// while the profile's `lease_token` is still `token` (R-SCHED-4). A worker
/// that paused past its lease, while another claimed the profile (and so
/// bumped the token), can then no longer write anything for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub profile: String,
    pub token: i64,
}

impl fmt::Debug for Store {
    // Hand-written: the pool's own Debug would print the connect options,
    // password included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.redacted_url)
            .field("fence", &self.fence)
            .finish()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens `sqlite://path` (created when missing), `sqlite::memory:` or
    /// `postgres://…` / `postgresql://…`. Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let redacted_url = redact_url(url);
        let (backend, connect_url, options) = match scheme_of(url) {
            Some("sqlite") => {
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                (
                    Backend::Sqlite,
                    sqlite_url(url, in_memory),
                    sqlite_pool_options(in_memory),
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
            pool,
            backend,
            redacted_url,
            fence: None,
        })
    }

    /// Runs this backend's versioned migrations (`migrations/<backend>`);
    /// already applied ones are skipped.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The shared pool, for the sync status store in this crate.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes fails with SQLITE_BUSY when another writer got in between, and
    /// busy_timeout cannot wait that out. PostgreSQL needs nothing special.
    ///
    /// On a fenced handle ([`Store::fenced`]) the transaction first checks
    /// the lease token and fails with [`StoreError::Fenced`] when another
    /// worker has taken the profile since. On PostgreSQL the profile row is
    /// share-locked until the commit, so a claim cannot slip in between the
    /// check and the commit; on SQLite the write lock already excludes it.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        };
        let mut tx = tx.map_err(StoreError::db("starting a transaction"))?;
        if let Some(fence) = &self.fence {
            self.check_fence(&mut tx, fence).await?;
        }
        Ok(tx)
    }

    async fn check_fence(&self, tx: &mut Transaction<'static, Any>, fence: &Fence) -> Result<()> {
        let lock = match self.backend {
            Backend::Postgres => " FOR SHARE",
            Backend::Sqlite => "",
        };
        let token: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT lease_token FROM sync_profiles WHERE name = $1{lock}"
        )))
        .bind(&fence.profile)
        .fetch_optional(&mut **tx)
        .await
        .map_err(StoreError::db("checking the profile's lease"))?;
        if token == Some(fence.token) {
            Ok(())
        } else {
            Err(StoreError::Fenced {
                profile: fence.profile.clone(),
            })
        }
    }

    /// This store, with every write committed only while `profile`'s lease
    /// token is `token` (R-SCHED-4). Reads are unaffected.
    pub fn fenced(&self, profile: &str, token: i64) -> Store {
        Store {
            fence: Some(Arc::new(Fence {
                profile: profile.to_string(),
                token,
            })),
            ..self.clone()
        }
    }

    /// One statement that writes: straight to the pool, or on a fenced
    /// handle in a transaction that checks the lease first.
    pub(crate) async fn execute_write(
        &self,
        query: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
        context: &'static str,
    ) -> Result<sqlx::any::AnyQueryResult> {
        if self.fence.is_none() {
            return query.execute(&self.pool).await.map_err(StoreError::db(context));
        }
        let mut tx = self.begin_write().await?;
        let done = query.execute(&mut *tx).await.map_err(StoreError::db(context))?;
        tx.commit().await.map_err(StoreError::db(context))?;
        Ok(done)
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

fn sqlite_pool_options(in_memory: bool) -> AnyPoolOptions {
    let options = if in_memory {
        // An in-memory database lives as long as a connection to it: keep
        // exactly one, forever, so the data does not vanish between calls.
        AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        // SQLite has one writer at a time anyway; a few readers suffice.
        AnyPoolOptions::new().max_connections(4)
    };
    options.after_connect(|conn, _meta| {
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
