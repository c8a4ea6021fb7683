//! R-STORE-15: a record's lookup rows (its folded e-mail addresses, an
//! activity's participants) are written in one statement per table, not
//! one per row, and still say what the record says. Counted from sqlx's
//! own log of the store's one connection, on both backends.

use crmsync_model::{PartyKind, Role};
use crmsync_store::Store;
use crmsync_testkit::{Backend, TestDatabase};
use sqlx::Row;

use crate::fixtures::*;
use crate::statement_log::StatementLog;

/// The statements of `log` that insert into `table`.
fn inserts_into(statements: &[String], table: &str) -> usize {
    let head = format!("INSERT INTO {table} ");
    statements.iter().filter(|s| s.contains(&head)).count()
}

#[tokio::test]
async fn r_store_15_lookup_rows_are_one_statement_per_table() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend, "crmsync_test").await;
        let store = Store::connect_one_shot(db.url()).await.unwrap();
        store.migrate().await.unwrap();
        let owner = user(&store, "Owner", Role::User).await;
        let guest = user(&store, "Guest", Role::User).await;

        // A contact with three addresses: three rows, one statement.
        let log = StatementLog::start(&store).await;
        let contact = store
            .records()
            .create(owner.id(), full_contact("Lovelace"))
            .await
            .unwrap();
        let statements = log.take();
        assert_eq!(
            inserts_into(&statements, "record_emails"),
            1,
            "{backend:?}: {statements:#?}"
        );
        let emails: Vec<String> = sqlx::query("SELECT email FROM record_emails WHERE record_id = $1 ORDER BY email")
            .bind(contact.id().to_owned())
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        let mut expected: Vec<String> = contact.fields.emails().map(|e| e.trim().to_lowercase()).collect();
        expected.sort();
        expected.dedup();
        assert!(expected.len() >= 2, "the fixture has several addresses: {expected:?}");
        assert_eq!(emails, expected, "{backend:?}");

        // An appointment with four participants (five with one more
        // stranger): one statement, each row in its position.
        let mut fields = full_appointment(owner.id(), guest.id());
        fields
            .participants
            .push(participant(PartyKind::Email, None, Some("Other@Example.com"), false));
        let log = StatementLog::start(&store).await;
        let appointment = store.records().create(owner.id(), fields).await.unwrap();
        let statements = log.take();
        assert_eq!(
            inserts_into(&statements, "activity_participants"),
            1,
            "{backend:?}: {statements:#?}"
        );
        let rows = sqlx::query(
            "SELECT position, kind, party_id, email, invite FROM activity_participants \
             WHERE activity_id = $1 ORDER BY position",
        )
        .bind(appointment.id().to_owned())
        .fetch_all(store.pool())
        .await
        .unwrap();
        assert_eq!(rows.len(), appointment.fields.participants.len(), "{backend:?}");
        for (i, (row, p)) in rows.iter().zip(&appointment.fields.participants).enumerate() {
            assert_eq!(row.get::<i64, _>("position"), i as i64, "{backend:?}");
            assert_eq!(row.get::<Option<String>, _>("party_id"), p.party.id, "{backend:?} #{i}");
            assert_eq!(
                row.get::<Option<String>, _>("email"),
                p.party.email.as_deref().map(|e| e.trim().to_lowercase()),
                "{backend:?} #{i}"
            );
            assert_eq!(row.get::<i64, _>("invite") != 0, p.invite, "{backend:?} #{i}");
        }
        // The lookups read them: the invited guest is found by the filter.
        let guests = store.records().activities_for_user(guest.id()).await.unwrap();
        assert!(guests.iter().any(|a| a.id() == appointment.id()), "{backend:?}");
        store.close().await;
    }
}
