//! Opening databases: schemes, file creation, SQLite settings, secrets.

use crmsync_store::{Backend, Store, StoreError};
use sqlx::Row;

use crate::harness::postgres_url_for;
use crate::statement_log::StatementLog;

#[tokio::test]
async fn unknown_scheme_is_named_in_the_error() {
    let err = Store::connect("mysql://root:hunter2@localhost/crm").await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("`mysql`"), "{text}");
    assert!(
        !text.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
        "{text}"
    );
    assert!(!err.is_transient());
}

#[tokio::test]
async fn connect_failure_never_shows_the_password() {
    // Nothing listens on port 1: the connection fails, and may be retried.
    let err = Store::connect("postgres://crm:topsecret@127.0.0.1:1/crm")
        .await
        .unwrap_err();
    let (shown, debug) = (err.to_string(), format!("{err:?}"));
    assert!(
        !shown.contains("topsecret") && !debug.contains("topsecret"),
        "{shown} / {debug}"
    );
    assert!(err.is_transient(), "a refused connection may work later: {shown}");
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode_with_foreign_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    assert!(!path.exists());
    let store = Store::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate().await.unwrap();
    assert!(path.exists());
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap().to_lowercase(), "wal");
    let row = sqlx::query("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.try_get::<i64, _>(0).unwrap(), 1);
    // Debug of the store shows the backend, never the pool's connect options.
    assert!(format!("{store:?}").contains("Sqlite"));
    store.close().await;
}

#[tokio::test]
async fn in_memory_sqlite_keeps_data_between_calls() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let (user, _) = store
        .records()
        .create_user(crmsync_model::UserFields {
            name: "Mem".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let again: crmsync_model::User = store.records().get(user.id()).await.unwrap();
    assert_eq!(again, user);
}

#[tokio::test]
async fn postgres_store_debug_hides_password() {
    let url = postgres_url_for("postgres").replacen("postgres@", "postgres:pw-not-shown@", 1);
    let store = Store::connect(&url)
        .await
        .expect("PostgreSQL must run (see harness.rs)");
    assert_eq!(store.backend(), Backend::Postgres);
    let debug = format!("{store:?}");
    assert!(!debug.contains("pw-not-shown") && debug.contains("***"), "{debug}");
    store.close().await;
}

store_test!(migrating_twice_is_harmless, |store| {
    store.migrate().await.expect("second migrate is a no-op");
    assert_eq!(store.records().latest_seq().await.unwrap(), 0);
});

// R-STORE-12: a command that runs and exits opens one SQLite connection
// however many statements it sends one after another; the shared pool of a
// long-lived process opens more for the same statements (sqlx returns a
// connection to its pool in a task of its own, so the next statement finds
// none idle), which is the cost the one-shot store avoids.
#[tokio::test]
async fn r_store_12_a_one_shot_store_opens_one_sqlite_connection() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    let one_shot = Store::connect_one_shot(&url).await.unwrap();
    one_shot.migrate().await.unwrap();
    for _ in 0..10 {
        one_shot.records().latest_seq().await.unwrap();
    }
    assert_eq!(one_shot.connections_opened(), 1);
    one_shot.close().await;

    let shared = Store::connect(&url).await.unwrap();
    for _ in 0..10 {
        shared.records().latest_seq().await.unwrap();
    }
    assert!(shared.connections_opened() > 1, "{}", shared.connections_opened());
    shared.close().await;
}

// R-STORE-14: a schema with every embedded migration applied, unedited, is
// recognised as current (migrate then runs no migrator); a database without
// the migrations table is not, and neither is one whose applied migration
// was edited: then migrate runs sqlx's migrator, which reports it as before.
store_test!(
    r_store_14_a_current_schema_skips_the_migrator_an_edited_one_does_not,
    |store| {
        assert!(store.schema_is_current().await);
        store.migrate().await.expect("a current schema migrates as a no-op");
        sqlx::query(
            "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
        )
        .bind(vec![0u8; 48])
        .execute(store.pool())
        .await
        .unwrap();
        assert!(!store.schema_is_current().await);
        let err = store.migrate().await.unwrap_err();
        assert!(matches!(err, StoreError::Migration(_)), "{err:?}");
    }
);

#[tokio::test]
async fn r_store_14_a_new_database_is_not_current_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crm.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert!(!store.schema_is_current().await);
    store.migrate().await.unwrap();
    assert!(store.schema_is_current().await);
    store.close().await;
}

// R-STORE-14: `migrate` on a current schema is one statement, the read of
// `_sqlx_migrations`: sqlx's migrator (which creates its table if missing,
// checks for a dirty migration and lists the applied ones, and takes an
// advisory lock on PostgreSQL) is not run. Counted from sqlx's own log of
// the store's one connection, on both backends.
#[tokio::test]
async fn r_store_14_migrate_on_a_current_schema_runs_one_statement() {
    use crmsync_testkit::{Backend, TestDatabase};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend, "crmsync_test").await;
        let store = Store::connect_one_shot(db.url()).await.unwrap();
        store
            .migrate()
            .await
            .expect("the first migrate applies every migration");
        let log = StatementLog::start(&store).await;
        store.migrate().await.expect("a current schema migrates as a no-op");
        let statements = log.take();
        assert_eq!(
            statements.len(),
            1,
            "{backend:?}: migrate on a current schema:\n{statements:#?}"
        );
        assert!(
            statements[0].contains("FROM _sqlx_migrations"),
            "{backend:?}: {statements:#?}"
        );
        store.close().await;
    }
}
