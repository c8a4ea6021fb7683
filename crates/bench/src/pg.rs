//! A fresh PostgreSQL database per measurement, on the server that
//! `scripts/test-env.sh` starts (`CRMSYNC_TEST_POSTGRES_URL`), dropped after.

use sqlx::Any;
use sqlx::migrate::MigrateDatabase;

use crate::error::BenchError;

/// The variable naming the PostgreSQL server (a URL with an admin database).
pub const URL_VAR: &str = "CRMSYNC_TEST_POSTGRES_URL";

pub struct PgDatabase {
    pub url: String,
}

impl PgDatabase {
    /// A new, empty database on the server of `admin_url` (`…/postgres`).
    pub async fn create(admin_url: &str) -> Result<PgDatabase, BenchError> {
        sqlx::any::install_default_drivers();
        let name = format!("crmsync_bench_{}", uuid::Uuid::new_v4().simple());
        let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
        let (server, _) = base
            .rsplit_once('/')
            .ok_or_else(|| BenchError::Postgres(format!("{URL_VAR} must name a database: {admin_url}")))?;
        let url = if query.is_empty() {
            format!("{server}/{name}")
        } else {
            format!("{server}/{name}?{query}")
        };
        Any::create_database(&url)
            .await
            .map_err(|e| BenchError::Postgres(format!("creating a database: {e}")))?;
        Ok(PgDatabase { url })
    }

    /// Drops the database, closing whatever connections are left.
    pub async fn drop_database(self) -> Result<(), BenchError> {
        Any::force_drop_database(&self.url)
            .await
            .map_err(|e| BenchError::Postgres(format!("dropping a database: {e}")))
    }
}
