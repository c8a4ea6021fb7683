//! A throw-away database per test (or per benchmark measurement): a SQLite
//! file in a temp folder, or a fresh PostgreSQL database on the server that
//! `CRMSYNC_TEST_POSTGRES_URL` names (`scripts/test-env.sh` sets it). The
//! database is dropped with the value, also when the test panics.
//!
//! Only URLs come out of here: each crate opens its own store on them, so this
//! crate needs none of crmsync's crates.

use sqlx::Any;
use sqlx::migrate::MigrateDatabase;
use tempfile::TempDir;

/// The variable naming the PostgreSQL server (a URL with an admin database).
pub const POSTGRES_URL_VAR: &str = "CRMSYNC_TEST_POSTGRES_URL";
/// The server this machine kind runs (PEERS.md), when the variable is unset.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("the PostgreSQL URL must name a database (`…/postgres`): {0}")]
    AdminUrl(String),
    #[error(
        "PostgreSQL is not reachable ({0}); `source scripts/test-env.sh` starts it, or set \
         CRMSYNC_TEST_POSTGRES_URL (default {DEFAULT_POSTGRES_URL})"
    )]
    Create(sqlx::Error),
    #[error("dropping the test database {url}: {source}")]
    Drop { url: String, source: sqlx::Error },
    #[error("creating a temp folder: {0}")]
    TempDir(std::io::Error),
}

/// The PostgreSQL admin URL the tests use.
pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned())
}

/// `admin_url` with its database name replaced by `name` (query kept).
pub fn postgres_url_for(admin_url: &str, name: &str) -> Result<String, DatabaseError> {
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let Some(slash) = base[after_scheme..].find('/') else {
        return Err(DatabaseError::AdminUrl(admin_url.to_owned()));
    };
    let server = &base[..after_scheme + slash];
    Ok(if query.is_empty() {
        format!("{server}/{name}")
    } else {
        format!("{server}/{name}?{query}")
    })
}

/// One empty database, dropped with the value.
pub struct TestDatabase {
    url: String,
    backend: Backend,
    /// The SQLite file's folder; for PostgreSQL an empty folder the caller
    /// may use for whatever else the test writes.
    dir: TempDir,
    /// Whether the PostgreSQL database still has to be dropped.
    pending_drop: bool,
}

impl TestDatabase {
    /// A database of `backend`; `prefix` names PostgreSQL databases by crate
    /// (`crmsync_store_<random>`), so a leftover says where it came from.
    /// Panics (fails the test, never skips it) when PostgreSQL is unreachable.
    pub async fn create(backend: Backend, prefix: &str) -> TestDatabase {
        match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres(prefix).await,
        }
    }

    /// A SQLite file in a fresh temp folder.
    pub fn sqlite() -> TestDatabase {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDatabase {
            url: format!("sqlite://{}", dir.path().join("crm.db").display()),
            backend: Backend::Sqlite,
            dir,
            pending_drop: false,
        }
    }

    /// A fresh PostgreSQL database on the test server; panics when it is unreachable.
    pub async fn postgres(prefix: &str) -> TestDatabase {
        TestDatabase::try_postgres(&postgres_admin_url(), prefix)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A fresh PostgreSQL database beside the database of `admin_url`.
    pub async fn try_postgres(admin_url: &str, prefix: &str) -> Result<TestDatabase, DatabaseError> {
        sqlx::any::install_default_drivers();
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let url = postgres_url_for(admin_url, &name)?;
        let dir = tempfile::tempdir().map_err(DatabaseError::TempDir)?;
        Any::create_database(&url).await.map_err(DatabaseError::Create)?;
        Ok(TestDatabase {
            url,
            backend: Backend::Postgres,
            dir,
            pending_drop: true,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A temp folder that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Drops the database now, ending the connections still open to it
    /// (workers that were killed); for callers that want the error.
    pub async fn drop_database(mut self) -> Result<(), DatabaseError> {
        self.pending_drop = false;
        drop_postgres(&self.url).await
    }
}

async fn drop_postgres(url: &str) -> Result<(), DatabaseError> {
    // `DROP DATABASE … WITH (FORCE)` ends the connections open at that
    // moment, but a pool still alive elsewhere in the test (a scheduler's
    // task that has not stopped yet) may open a new one before the drop
    // commits: "is being accessed by other users". That race is the test's
    // teardown, not what it tests, so the drop is tried again a few times.
    let mut attempt = 0;
    loop {
        match Any::force_drop_database(url).await {
            Ok(()) => return Ok(()),
            Err(_) if attempt < DROP_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(source) => {
                return Err(DatabaseError::Drop {
                    url: url.to_owned(),
                    source,
                });
            }
        }
    }
}

/// How often a drop is tried again while the database is still in use.
const DROP_ATTEMPTS: u32 = 25;

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.pending_drop {
            return;
        }
        // Drop may run inside the test's runtime, which must not block on
        // itself: drop the database from a thread with a runtime of its own.
        let url = self.url.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(drop_postgres(&url))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            // A test that already failed says why; a leftover database is the lesser news.
            _ if std::thread::panicking() => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("could not drop the test database {}", self.url),
        }
    }
}

/// `on_both_backends!(name, run, |arg: Type| { … })` defines the tests
/// `name::sqlite` and `name::postgres`, each calling
/// `run(Backend::…, body).await` with `body` the block as an `async fn` of
/// `arg`: `run` makes the fresh database and what the crate's tests start
/// from (a store, a world). The calling crate needs tokio.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $run:path, |$arg:ident: $ty:ty| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body(#[allow(unused_mut)] mut $arg: $ty) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $run($crate::Backend::Sqlite, body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $run($crate::Backend::Postgres, body).await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-PROOF-5
    #[test]
    fn r_proof_5_the_database_name_is_swapped_and_the_query_kept() {
        assert_eq!(
            postgres_url_for("postgres://u@h:5432/postgres?sslmode=disable", "x").unwrap(),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            postgres_url_for("postgres://u@h/postgres", "x").unwrap(),
            "postgres://u@h/x"
        );
        assert!(postgres_url_for("postgres://u@h", "x").is_err());
    }

    // R-PROOF-5: the database exists while the value lives and is gone after,
    // also when the test that held it panicked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r_proof_5_a_postgres_test_database_is_dropped_with_the_value_also_after_a_panic() {
        let db = TestDatabase::postgres("crmsync_testkit").await;
        let url = db.url().to_owned();
        assert!(Any::database_exists(&url).await.unwrap(), "created");
        drop(db);
        assert!(!Any::database_exists(&url).await.unwrap(), "dropped with the value");

        let db = TestDatabase::postgres("crmsync_testkit").await;
        let url = db.url().to_owned();
        let panicked = tokio::spawn(async move {
            let _held = db;
            panic!("a failing test");
        })
        .await;
        assert!(panicked.is_err());
        assert!(!Any::database_exists(&url).await.unwrap(), "dropped after the panic");
    }

    #[test]
    fn r_proof_5_a_sqlite_test_database_lives_in_its_own_folder() {
        let db = TestDatabase::sqlite();
        assert_eq!(db.backend(), Backend::Sqlite);
        assert_eq!(db.url(), format!("sqlite://{}", db.dir().join("crm.db").display()));
        let dir = db.dir().to_path_buf();
        drop(db);
        assert!(!dir.exists(), "the folder goes with the value");
    }
}
