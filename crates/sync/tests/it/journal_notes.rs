//! The CRM journal (R-FIELD-5) reaches each synced item as its own notes when
//! a batch's journals are read together (R-VDIR-12), and the journal of a
//! record the user may not read reaches nothing (R-PERM-1).

use crate::common;
use common::{World, applied, contact_fields};
use crmsync_model::{EntityKind, NewJournalEntry, RecordRef};

async fn note(w: &World, entity: EntityKind, id: &str, text: &str) {
    let record = RecordRef { entity, id: id.into() };
    let entry = NewJournalEntry {
        text: text.into(),
        system: false,
    };
    w.store.records().add_journal_entry(&record, None, entry).await.unwrap();
}

/// Every item file of `collection`, unfolded (RFC 6350/5545 line folding).
fn items(w: &World, collection: &str) -> Vec<String> {
    w.files(collection)
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .replace("\r\n ", "")
                .replace("\n ", "")
        })
        .collect()
}

#[tokio::test]
async fn r_vdir_12_each_synced_item_carries_its_own_journal() {
    let w = World::new().await;
    let ada = w.contact("Ada", "Lovelace", "ada@example.com").await;
    let alan = w.contact("Alan", "Turing", "alan@example.com").await;
    let review = w.meeting("Quarterly review", 2).await;
    let bob = w.other_user("Bob", "bob@example.com").await;
    // Bob's own contact: Alice may not read it.
    let secret = w
        .store
        .records()
        .create(bob.id(), contact_fields("Sec", "Ret", "secret@example.com"))
        .await
        .unwrap();
    note(&w, EntityKind::Contact, ada.id(), "ada older").await;
    note(&w, EntityKind::Contact, alan.id(), "alan only").await;
    note(&w, EntityKind::Contact, secret.id(), "bob private").await;
    note(&w, EntityKind::Activity, review.id(), "review agenda").await;
    note(&w, EntityKind::Contact, ada.id(), "ada newer").await;

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "groupware create"), 2, "{report}");
    assert_eq!(applied(&report, "calendar", "groupware create"), 1, "{report}");

    let contacts = items(&w, "contacts");
    let of = |name: &str| -> &String {
        contacts
            .iter()
            .find(|c| c.contains(name))
            .unwrap_or_else(|| panic!("no card of {name}: {contacts:#?}"))
    };
    let ada_card = of("Lovelace");
    let (newer, older) = (
        ada_card.find("ada newer").expect(ada_card),
        ada_card.find("ada older").expect(ada_card),
    );
    assert!(newer < older, "newest note first: {ada_card}");
    assert!(
        !ada_card.contains("alan only") && !ada_card.contains("review agenda"),
        "{ada_card}"
    );
    let alan_card = of("Turing");
    assert!(alan_card.contains("alan only"), "{alan_card}");
    assert!(
        !alan_card.contains("ada ") && !alan_card.contains("review agenda"),
        "{alan_card}"
    );
    let calendar = items(&w, "calendar");
    assert_eq!(calendar.len(), 1);
    assert!(calendar[0].contains("review agenda"), "{}", calendar[0]);
    assert!(
        !calendar[0].contains("ada ") && !calendar[0].contains("alan only"),
        "{}",
        calendar[0]
    );

    let everything: Vec<String> = ["contacts", "calendar", "tasks"]
        .iter()
        .flat_map(|c| items(&w, c))
        .collect();
    assert!(
        everything
            .iter()
            .all(|item| !item.contains("bob private") && !item.contains("secret@example.com")),
        "an unreadable record's journal reaches nothing: {everything:#?}"
    );
}
