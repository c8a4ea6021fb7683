//! R-SCALE-8, R-SCALE-9: the directory a run maps against (who an attendee
//! is, R-CAL-2; what a linked contact's company is called, R-FIELD-2) is
//! looked up for what the mapped records name, batch by batch, never read
//! whole; and it answers as the whole directory did. On SQLite and
//! PostgreSQL, against a real vdir.

use chrono::Duration;
use crmsync_model::{
    AccountFields, ActivityFields, Contact, Participant, ParticipantRole, Party, PartyKind, RecordMeta, UserFields,
};
use crmsync_sync::RunReport;
use crmsync_testkit::{Backend, TestDatabase};

use crate::common::{World, applied, contact_fields, meeting_fields, now, writes};

/// Users, contacts and accounts the run's directory read, over all collections.
fn directory_rows(report: &RunReport) -> usize {
    report.collections.iter().map(|c| c.directory_rows).sum()
}

fn party(kind: PartyKind, id: &str) -> Participant {
    Participant {
        party: Party {
            kind,
            id: Some(id.to_string()),
            email: None,
            name: None,
        },
        role: ParticipantRole::Required,
        invite: false,
        response: Default::default(),
        sync_status: Default::default(),
    }
}

/// A CRM of `crowd` contacts Bob keeps (Alice may not read them) and three
/// meetings of Alice's, each with Bob and one of Bob's contacts; returns the
/// directory rows of the run that maps the three meetings.
async fn rows_to_map_three_meetings(backend: Backend, crowd: usize) -> usize {
    let db = TestDatabase::create(backend, "crmsync_directory_need").await;
    let w = World::on(tempfile::tempdir().unwrap(), db.url()).await;
    let bob = w.other_user("Bob", "bob@example.com").await;
    let mut named = Vec::new();
    for i in 0..crowd.max(3) {
        let c = w
            .store
            .records()
            .create(
                bob.id(),
                contact_fields("Crowd", &format!("Member{i}"), &format!("c{i}@example.com")),
            )
            .await
            .unwrap();
        if i < 3 {
            named.push(c);
        }
    }
    let quiet = w.sync().await;
    assert_eq!(writes(&quiet), 0, "Alice may read none of Bob's contacts: {quiet}");
    assert_eq!(
        directory_rows(&quiet),
        0,
        "a run that maps nothing reads no directory (R-SCALE-2): {quiet}"
    );
    for (i, contact) in named.iter().enumerate() {
        let mut meeting = meeting_fields(&w.actor.user_id, &format!("Review {i}"), now() + Duration::days(2));
        meeting.participants.push(party(PartyKind::User, bob.id()));
        meeting.participants.push(party(PartyKind::Contact, contact.id()));
        w.store.records().create(&w.actor.user_id, meeting).await.unwrap();
    }
    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "groupware create"), 3, "{report}");
    let ics: Vec<String> = w
        .files("calendar")
        .iter()
        .map(|f| unfolded(&std::fs::read_to_string(f).unwrap()))
        .collect();
    for contact in &named {
        let address = contact.fields.email1.as_deref().unwrap();
        assert!(
            ics.iter().any(|t| t.contains(&format!("mailto:{address}"))),
            "{address} is an attendee: {ics:#?}"
        );
    }
    assert!(ics.iter().all(|t| t.contains("mailto:bob@example.com")), "{ics:#?}");
    directory_rows(&report)
}

async fn reads_what_the_records_name(backend: Backend) {
    let small = rows_to_map_three_meetings(backend, 3).await;
    let large = rows_to_map_three_meetings(backend, 2_000).await;
    assert!(small > 0, "the meetings' parties are looked up");
    assert_eq!(
        large, small,
        "{backend:?}: mapping 3 meetings reads the rows they name, as many in a CRM of 2,000 contacts as in one of 3"
    );
}

// R-SCALE-8
#[tokio::test]
async fn r_scale_8_mapping_three_records_reads_their_parties_not_the_crm_sqlite() {
    reads_what_the_records_name(Backend::Sqlite).await;
}

// R-SCALE-8
#[tokio::test]
async fn r_scale_8_mapping_three_records_reads_their_parties_not_the_crm_postgres() {
    reads_what_the_records_name(Backend::Postgres).await;
}

/// The first in the order the whole directory was read in (modified, id).
fn first_in_load_order<'a>(contacts: &[&'a Contact]) -> &'a Contact {
    let key = |m: &RecordMeta| (m.modified_at, m.id.clone());
    contacts.iter().min_by_key(|c| key(&c.meta)).unwrap()
}

/// Long lines of an iCalendar or vCard text joined again (RFC 5545 3.1).
fn unfolded(text: &str) -> String {
    text.replace("\r\n ", "").replace("\r\n\t", "")
}

/// The content line of `text` that names `address`.
fn line_with<'a>(text: &'a str, address: &str) -> &'a str {
    text.lines()
        .find(|l| l.to_lowercase().contains(&format!("mailto:{address}")))
        .unwrap_or_else(|| panic!("no line names {address}:\n{text}"))
}

async fn answers_as_the_whole_directory_did(backend: Backend) {
    let db = TestDatabase::create(backend, "crmsync_directory_cases").await;
    let w = World::on(tempfile::tempdir().unwrap(), db.url()).await;
    let records = w.store.records();
    let (bob, _) = records
        .create_user(UserFields::active_user("Bob", "shared@example.com"))
        .await
        .unwrap();
    let mine = |first: &str, last: &str, email: &str| {
        let fields = contact_fields(first, last, email);
        let records = w.store.records();
        let me = w.actor.user_id.clone();
        async move { records.create(&me, fields).await.unwrap() }
    };
    let bobs = |first: &str, last: &str, email: &str| {
        let fields = contact_fields(first, last, email);
        let records = w.store.records();
        let owner = bob.meta.id.clone();
        async move { records.create(&owner, fields).await.unwrap() }
    };
    // One address on a user and a contact Alice may read.
    let _shadowed = mine("Shadow", "Contact", "Shared@Example.com").await;
    // One address on two contacts Alice may read.
    let twin_a = mine("Twin", "Alpha", "twice@example.com").await;
    let twin_b = mine("Twin", "Beta", "TWICE@example.com").await;
    // One address on a contact Alice may not read and one she may.
    let _hidden_twin = bobs("Hidden", "Twin", "both@example.com").await;
    let visible_twin = mine("Visible", "Twin", "both@example.com").await;
    // Only on a contact Alice may not read.
    let hidden = bobs("Hidden", "Only", "hidden@example.com").await;
    // Companies: a readable account names its contact's company, an
    // unreadable one does not (R-FIELD-2).
    let acme = records
        .create(
            &w.actor.user_id,
            AccountFields {
                name: "Acme".into(),
                ..AccountFields::default()
            },
        )
        .await
        .unwrap();
    let secret = records
        .create(
            bob.id(),
            AccountFields {
                name: "Secret Corp".into(),
                ..AccountFields::default()
            },
        )
        .await
        .unwrap();
    let mut linked = contact_fields("Linked", "Acme", "linked@example.com");
    linked.account_id = Some(acme.meta.id.clone());
    linked.company = Some("Old Name".into());
    records.create(&w.actor.user_id, linked).await.unwrap();
    let mut unreadable = contact_fields("Linked", "Secret", "secret@example.com");
    unreadable.account_id = Some(secret.meta.id.clone());
    unreadable.company = Some("Own Text".into());
    records.create(&w.actor.user_id, unreadable).await.unwrap();

    // A CRM meeting naming parties by id (mapped by the first run) and an
    // event made in the groupware naming them by address (the second).
    let mut meeting = meeting_fields(&w.actor.user_id, "From the CRM", now() + Duration::days(2));
    meeting.participants.push(party(PartyKind::User, bob.id()));
    meeting.participants.push(party(PartyKind::Contact, hidden.id()));
    meeting.participants.push(party(PartyKind::Contact, twin_b.id()));
    let from_crm = records.create(&w.actor.user_id, meeting).await.unwrap();
    w.sync().await; // the folders
    let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:cases-1@example.com\r\n\
DTSTAMP:20261120T100000Z\r\nDTSTART:20261201T090000Z\r\nDTEND:20261201T100000Z\r\nSUMMARY:From the groupware\r\n\
ORGANIZER:mailto:alice@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:shared@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:twice@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:both@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:hidden@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:nobody@example.com\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";
    std::fs::write(w.folder("calendar").join("cases-1.ics"), ics).unwrap();
    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "crm create"), 1, "{report}");

    // Groupware → CRM: who each address is (R-CAL-2, R-CAL-3).
    let first_twin = first_in_load_order(&[&twin_a, &twin_b]);
    let created = records
        .activities_for_user(&w.actor.user_id)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.fields.subject == "From the groupware")
        .expect("created in the CRM");
    // Each participant as (kind, id), or (kind, address) when it has no id.
    let actual: Vec<(String, String)> = created
        .fields
        .participants
        .iter()
        .map(|p| {
            let key = p
                .party
                .id
                .clone()
                .or_else(|| p.party.email.as_deref().map(str::to_lowercase));
            (format!("{:?}", p.party.kind), key.unwrap_or_default())
        })
        .collect();
    let cases: [(&str, PartyKind, &str, &str); 6] = [
        (
            "alice@example.com",
            PartyKind::User,
            &w.actor.user_id,
            "the organizer is the profile's user",
        ),
        (
            "shared@example.com",
            PartyKind::User,
            bob.id(),
            "a user wins over a contact",
        ),
        (
            "twice@example.com",
            PartyKind::Contact,
            first_twin.id(),
            "the first contact wins",
        ),
        (
            "both@example.com",
            PartyKind::Contact,
            visible_twin.id(),
            "only a readable contact is a party",
        ),
        (
            "hidden@example.com",
            PartyKind::Email,
            "hidden@example.com",
            "an unreadable contact is an address",
        ),
        (
            "nobody@example.com",
            PartyKind::Email,
            "nobody@example.com",
            "an unknown address is an address",
        ),
    ];
    assert_eq!(actual.len(), cases.len(), "{backend:?}: {actual:#?}");
    for (address, kind, key, why) in cases {
        assert!(
            actual.contains(&(format!("{kind:?}"), key.to_string())),
            "{backend:?}: {address}: {why}: {actual:#?}"
        );
    }

    // CRM → groupware: parties by id become addresses, named by address.
    let file = w
        .files("calendar")
        .into_iter()
        .map(|f| unfolded(&std::fs::read_to_string(f).unwrap()))
        .find(|t| t.contains("From the CRM"))
        .expect("the CRM meeting was written");
    let names: [(&str, Option<String>, &str); 3] = [
        (
            "shared@example.com",
            Some("Bob".into()),
            "a user by id, named as the user",
        ),
        (
            "hidden@example.com",
            None,
            "an unreadable contact: its address, no name (R-CAL-3-ATTENDEES)",
        ),
        (
            "twice@example.com",
            Some(first_twin.fields.display_name()),
            "named as whoever the address is",
        ),
    ];
    for (address, name, why) in names {
        let line = line_with(&file, address);
        match name {
            Some(name) => assert!(
                line.contains("CN=") && line.contains(&name),
                "{backend:?}: {why}: {line}"
            ),
            None => assert!(!line.contains("CN="), "{backend:?}: {why}: {line}"),
        }
    }
    let stored = records.get::<ActivityFields>(from_crm.id()).await.unwrap();
    assert_eq!(stored.fields.participants.len(), 4, "nobody lost or added: {stored:#?}");

    // Companies (R-FIELD-2).
    let cards: Vec<String> = w
        .files("contacts")
        .iter()
        .map(|f| unfolded(&std::fs::read_to_string(f).unwrap()))
        .collect();
    let card_of = |address: &str| {
        cards
            .iter()
            .find(|c| c.to_lowercase().contains(address))
            .unwrap_or_else(|| panic!("a card for {address}: {cards:#?}"))
            .clone()
    };
    assert!(
        card_of("linked@example.com").contains("ORG:Acme"),
        "{backend:?}: a readable account names the company"
    );
    assert!(
        card_of("secret@example.com").contains("ORG:Own Text"),
        "{backend:?}: an unreadable account does not: the contact's own text stays"
    );
    assert_eq!(writes(&w.sync().await), 0, "{backend:?}: converged");
}

// R-SCALE-9, R-CAL-2, R-CAL-3, R-FIELD-2
#[tokio::test]
async fn r_scale_9_attendees_and_companies_answer_as_the_whole_directory_did_sqlite() {
    answers_as_the_whole_directory_did(Backend::Sqlite).await;
}

// R-SCALE-9, R-CAL-2, R-CAL-3, R-FIELD-2
#[tokio::test]
async fn r_scale_9_attendees_and_companies_answer_as_the_whole_directory_did_postgres() {
    answers_as_the_whole_directory_did(Backend::Postgres).await;
}

// R-SYNC-STREAM-3 with R-SCALE-8: a streamed first sync maps the next batch
// while the batch before renders, each against its own lookups. Every
// meeting names a contact of its own, so no two batches need the same
// rows: mapped or rendered against the other batch's lookups, a meeting
// loses its attendee.
#[tokio::test]
async fn r_sync_stream_3_each_batch_is_mapped_and_rendered_with_its_own_lookups() {
    let n = crmsync_sync::STREAM_BATCH + 100;
    let w = World::new().await;
    let mut addresses = Vec::with_capacity(n);
    for i in 0..n {
        let address = format!("guest{i:04}@example.com");
        let c = w.contact("Guest", &format!("Number{i:04}"), &address).await;
        let mut meeting = meeting_fields(&w.actor.user_id, &format!("Visit {i:04}"), now() + Duration::days(2));
        meeting.participants.push(party(PartyKind::Contact, c.id()));
        w.store.records().create(&w.actor.user_id, meeting).await.unwrap();
        addresses.push(address);
    }
    let report = w.sync().await;
    assert_eq!(applied(&report, "calendar", "groupware create"), n, "{report}");
    let mut missing = Vec::new();
    for file in w.files("calendar") {
        let text = unfolded(&std::fs::read_to_string(&file).unwrap());
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("SUMMARY:Visit "))
            .unwrap_or_else(|| panic!("a meeting: {text}"))
            .to_string();
        let i: usize = subject.trim().parse().unwrap();
        if !text.contains(&format!("mailto:{}", addresses[i])) {
            missing.push(i);
        }
    }
    assert!(missing.is_empty(), "meetings without their attendee: {missing:?}");
    assert_eq!(writes(&w.sync().await), 0, "converged");
}
