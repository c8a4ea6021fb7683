//! Records with every field set, and users to own them.

use chrono::{DateTime, TimeZone, Utc};
use crmsync_model::{
    AccountFields, ActivityFields, ActivityKind, ActivityState, Address, ContactFields, LeadFields, LeadStatus,
    OccurrenceOverride, Participant, ParticipantRole, ParticipantSyncStatus, Party, PartyKind, Privacy, RecordRef,
    Recurrence, ResponseStatus, Role, User, UserFields,
};
use crmsync_store::Store;

pub fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, h, m, 0).unwrap()
}

pub async fn user(store: &Store, name: &str, role: Role) -> User {
    let fields = UserFields {
        name: name.to_string(),
        email: Some(format!("{}@example.org", name.to_lowercase())),
        role,
        active: true,
    };
    store.records().create_user(fields).await.expect("create user").0
}

pub fn address(tag: &str) -> Address {
    Address {
        street: Some(format!("{tag} Street 1")),
        city: Some(format!("{tag} City")),
        region: Some("Region".into()),
        postal_code: Some("12345".into()),
        country: Some("Germany".into()),
    }
}

/// A contact with every R-FIELD-1 field, including a photo.
pub fn full_contact(last: &str) -> ContactFields {
    ContactFields {
        account_id: Some("acc-1".into()),
        prefix: Some("Dr.".into()),
        first_name: Some("Ada".into()),
        middle_name: Some("B.".into()),
        last_name: Some(last.into()),
        suffix: Some("PhD".into()),
        company: Some("Analytical Engines Ltd".into()),
        job_title: Some("Engineer".into()),
        department: Some("R&D".into()),
        website: Some("https://example.org".into()),
        email1: Some(format!("{}@example.org", last.to_lowercase())),
        email2: Some("Ada.Private@Example.COM".into()),
        email3: Some("third@example.net".into()),
        business_address: address("Business"),
        home_address: address("Home"),
        other_address: address("Other"),
        phone_business: Some("+49 30 1".into()),
        phone_business2: Some("+49 30 2".into()),
        phone_home: Some("+49 30 3".into()),
        phone_mobile: Some("+49 170 4".into()),
        phone_fax: Some("+49 30 5".into()),
        phone_other: Some("+49 30 6".into()),
        notes: Some("Met at the fair.\nLikes tea — ünïcödé too".into()),
        photo: Some("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==".into()),
        active: true,
        shared: false,
    }
}

pub fn contact(last: &str, shared: bool) -> ContactFields {
    ContactFields {
        last_name: Some(last.into()),
        shared,
        ..ContactFields::default()
    }
}

pub fn account(name: &str) -> AccountFields {
    AccountFields {
        name: name.into(),
        website: Some("https://acme.example".into()),
        phone: Some("+1 555 0100".into()),
        address: address("HQ"),
        shared: true,
        active: true,
    }
}

pub fn lead(last: &str) -> LeadFields {
    LeadFields {
        first_name: Some("Grace".into()),
        last_name: Some(last.into()),
        company: Some("Navy".into()),
        email: Some("grace@example.mil".into()),
        phone: Some("+1 555 0101".into()),
        status: LeadStatus::Contacted,
        notes: Some("Call back".into()),
        shared: false,
    }
}

pub fn participant(kind: PartyKind, id: Option<&str>, email: Option<&str>, invite: bool) -> Participant {
    Participant {
        party: Party {
            kind,
            id: id.map(str::to_string),
            email: email.map(str::to_string),
            name: Some("P".into()),
        },
        role: ParticipantRole::Required,
        invite,
        response: ResponseStatus::Tentative,
        // What a read shows while no profile wrote a status (R-CAL-3-STATUS).
        sync_status: if kind == PartyKind::User && invite {
            ParticipantSyncStatus::Pending
        } else {
            ParticipantSyncStatus::NotSynced
        },
    }
}

/// An appointment with every R-FIELD-3 field: participants, a series with
/// RDATE, EXDATE and an overridden instance, reminder, categories, regarding.
pub fn full_appointment(organizer_user: &str, invited_user: &str) -> ActivityFields {
    let mut organizer = participant(PartyKind::User, Some(organizer_user), Some("org@example.org"), true);
    organizer.role = ParticipantRole::Organizer;
    organizer.response = ResponseStatus::Accepted;
    ActivityFields {
        description: Some("Quarterly review".into()),
        state: ActivityState::Open,
        start: Some(at(9, 0)),
        end: Some(at(10, 30)),
        all_day: false,
        time_zone: Some("Europe/Berlin".into()),
        location: Some("Room 4".into()),
        recurrence: Some(Recurrence {
            rule: "FREQ=WEEKLY;COUNT=10;BYDAY=SA".into(),
            rdates: vec![at(11, 0)],
            exdates: vec![at(12, 0)],
            overrides: vec![OccurrenceOverride {
                recurrence_id: at(13, 0),
                start: Some(at(14, 0)),
                end: Some(at(15, 0)),
                subject: Some("Moved".into()),
                location: Some("Room 5".into()),
                description: Some("Moved once".into()),
            }],
        }),
        priority: Some(3),
        percent_complete: Some(10),
        categories: vec!["CRM".into(), "Review".into()],
        privacy: Privacy::Confidential,
        reminder_minutes: Some(15),
        regarding: Some(RecordRef {
            entity: crmsync_model::EntityKind::Account,
            id: "acc-1".into(),
        }),
        ical_uid: Some("uid-123@example.org".into()),
        message_id: None,
        email: None,
        participants: vec![
            organizer,
            participant(PartyKind::User, Some(invited_user), None, true),
            participant(PartyKind::Contact, Some("contact-9"), Some("c@example.com"), false),
            participant(PartyKind::Email, None, Some("Stranger@Example.com"), true),
        ],
        ..ActivityFields::new(ActivityKind::Appointment, "Review")
    }
}

pub fn task(subject: &str) -> ActivityFields {
    ActivityFields {
        due: Some(at(17, 0)),
        ..ActivityFields::new(ActivityKind::PhoneCall, subject)
    }
}
