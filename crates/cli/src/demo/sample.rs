//! Realistic, deterministic sample data: two users, 20 accounts, 200 contacts,
//! and the kinds of activity a sales team has (a weekly meeting with one moved
//! and one cancelled occurrence, open and completed tasks, calls, letters).

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use crmsync_model::{
    AccountFields, ActivityFields, ActivityKind, ActivityState, Address, ContactFields, EntityKind, NewJournalEntry,
    OccurrenceOverride, Participant, ParticipantRole, Party, PartyKind, RecordRef, Recurrence, Role, User, UserFields,
};
use crmsync_store::Store;

const FIRST: [&str; 20] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Linus",
    "Margaret",
    "Niklaus",
    "Radia",
    "Ken",
    "Sophie",
    "Tim",
    "Hedy",
    "Dennis",
    "Shafi",
    "Claude",
];
const LAST: [&str; 10] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Johnson", "Hamilton",
];
const COMPANIES: [(&str, &str); 20] = [
    ("Analytical Engines Ltd", "London"),
    ("Compiler Works GmbH", "Berlin"),
    ("Enigma Systems", "Manchester"),
    ("Shortest Path BV", "Amsterdam"),
    ("Substitution AG", "Zurich"),
    ("TeX Typesetting Inc", "Stanford"),
    ("Fortran Foundry", "New York"),
    ("Apollo Navigation", "Houston"),
    ("Spanning Tree SARL", "Lyon"),
    ("Kernel & Sons", "Helsinki"),
    ("Pascal Partners", "Geneva"),
    ("Wireless Patents Oy", "Espoo"),
    ("Cipher Labs", "Tel Aviv"),
    ("Information Theory Co", "Boston"),
    ("Unix Heritage Ltd", "Edinburgh"),
    ("Web Weavers SA", "Geneva"),
    ("Orbit Calculations", "Hampton"),
    ("Protocol House", "Cambridge"),
    ("Interactive Proofs", "Cambridge"),
    ("Relay Logic KG", "Munich"),
];
const TITLES: [&str; 6] = [
    "CEO",
    "CTO",
    "Head of Purchasing",
    "Account Manager",
    "Engineer",
    "Office Manager",
];

/// What [`seed`] created, for the demo's first summary.
#[derive(Debug, Default)]
pub struct Seeded {
    pub users: usize,
    pub accounts: usize,
    pub contacts: usize,
    pub activities: usize,
}

fn slug(s: &str) -> String {
    s.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

/// Nine o'clock UTC `days` from `now`'s date, so the sample calendar is
/// always around the day the demo runs.
fn at(now: DateTime<Utc>, days: i64, hour: u32) -> DateTime<Utc> {
    let day = now.date_naive() + Duration::days(days);
    Utc.from_utc_datetime(&day.and_hms_opt(hour, 0, 0).expect("valid hour"))
}

fn user_party(user: &User, role: ParticipantRole) -> Participant {
    Participant {
        party: Party {
            kind: PartyKind::User,
            id: Some(user.meta.id.clone()),
            email: user.fields.email.clone(),
            name: Some(user.fields.name.clone()),
        },
        role,
        invite: true,
        response: Default::default(),
        sync_status: Default::default(),
    }
}

pub async fn seed(store: &Store, now: DateTime<Utc>) -> anyhow::Result<Seeded> {
    let mut seeded = Seeded::default();
    let mut users = Vec::new();
    for (name, role) in [("alice", Role::Admin), ("bob", Role::User)] {
        let fields = UserFields {
            name: name.into(),
            email: Some(format!("{name}@crmsync.example")),
            role,
            active: true,
        };
        users.push(store.records().create_user(fields).await?.0);
        seeded.users += 1;
    }
    let (alice, bob) = (&users[0], &users[1]);

    let mut accounts = Vec::new();
    for (i, (name, city)) in COMPANIES.iter().enumerate() {
        let owner = if i % 3 == 2 { bob } else { alice };
        let fields = AccountFields {
            name: (*name).into(),
            website: Some(format!("https://{}.example", slug(name))),
            phone: Some(format!("+44 20 7946 {:04}", 100 + i)),
            address: Address {
                city: Some((*city).into()),
                ..Address::default()
            },
            shared: true,
            active: true,
        };
        accounts.push(store.records().create(owner.id(), fields).await?);
        seeded.accounts += 1;
    }

    for i in 0..200usize {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len()) % LAST.len()];
        let account = &accounts[i % accounts.len()];
        let owner = if i < 120 { alice } else { bob };
        let domain = format!("{}.example", slug(&account.fields.name));
        let fields = ContactFields {
            account_id: Some(account.meta.id.clone()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            company: Some(account.fields.name.clone()),
            job_title: Some(TITLES[i % TITLES.len()].into()),
            email1: Some(format!("{}.{}{}@{domain}", slug(first), slug(last), i)),
            phone_business: Some(format!("+44 20 7946 {:04}", 1000 + i)),
            phone_mobile: i.is_multiple_of(2).then(|| format!("+44 7700 9{:05}", i)),
            business_address: Address {
                street: Some(format!("{} Market Street", 1 + i % 90)),
                city: account.fields.address.city.clone(),
                postal_code: Some(format!("{:05}", 10000 + i * 7)),
                country: Some("United Kingdom".into()),
                ..Address::default()
            },
            notes: (i % 10 == 0).then(|| format!("Met {first} at the {} trade fair.", 2020 + i % 6)),
            shared: i % 4 == 0,
            active: i % 50 != 49,
            ..ContactFields::default()
        };
        let contact = store.records().create(owner.id(), fields).await?;
        if i % 25 == 0 {
            let note = NewJournalEntry {
                text: format!("Called {first}: interested in the renewal."),
                system: false,
            };
            store
                .records()
                .add_journal_entry(
                    &RecordRef {
                        entity: EntityKind::Contact,
                        id: contact.meta.id.clone(),
                    },
                    Some(owner.id()),
                    note,
                )
                .await?;
        }
        seeded.contacts += 1;
    }

    // A weekly team meeting: alice organizes, bob is invited. One occurrence
    // moved by an hour, one cancelled (EXDATE).
    let monday = {
        let today = now.date_naive();
        let back = today.weekday().num_days_from_monday() as i64;
        (today - Duration::days(back) + Duration::days(7))
            .signed_duration_since(now.date_naive())
            .num_days()
    };
    debug_assert_eq!((now.date_naive() + Duration::days(monday)).weekday(), Weekday::Mon);
    let first_start = at(now, monday, 9);
    let mut weekly = ActivityFields::new(ActivityKind::Appointment, "Weekly sales meeting");
    weekly.start = Some(first_start);
    weekly.end = Some(first_start + Duration::hours(1));
    weekly.location = Some("Room 4.01".into());
    weekly.time_zone = Some("Europe/London".into());
    weekly.recurrence = Some(Recurrence {
        rule: "FREQ=WEEKLY;COUNT=10".into(),
        rdates: Vec::new(),
        exdates: vec![first_start + Duration::weeks(3)],
        overrides: vec![OccurrenceOverride {
            recurrence_id: first_start + Duration::weeks(1),
            start: Some(first_start + Duration::weeks(1) + Duration::hours(1)),
            end: Some(first_start + Duration::weeks(1) + Duration::hours(2)),
            subject: Some("Weekly sales meeting (moved)".into()),
            location: None,
            description: None,
        }],
    });
    weekly.participants = vec![
        user_party(alice, ParticipantRole::Organizer),
        user_party(bob, ParticipantRole::Required),
    ];
    weekly.reminder_minutes = Some(15);
    store.records().create(alice.id(), weekly).await?;
    seeded.activities += 1;

    let subjects = [
        "Demo for",
        "Contract review with",
        "Lunch with",
        "Kick-off with",
        "Quarterly review with",
    ];
    for (n, user) in [alice, bob].into_iter().enumerate() {
        for i in 0..6usize {
            let company = COMPANIES[(i * 3 + n) % COMPANIES.len()].0;
            let mut meeting = ActivityFields::new(
                ActivityKind::Appointment,
                format!("{} {company}", subjects[i % subjects.len()]),
            );
            let start = at(now, i as i64 * 2 - 3, 10 + i as u32 % 6);
            meeting.start = Some(start);
            meeting.end = Some(start + Duration::minutes(45));
            meeting.location = Some(format!("{} office", company));
            meeting.participants = vec![user_party(user, ParticipantRole::Organizer)];
            store.records().create(user.id(), meeting).await?;
            seeded.activities += 1;
        }
        let kinds = [
            (ActivityKind::Task, "Prepare offer for"),
            (ActivityKind::Task, "Update price list for"),
            (ActivityKind::PhoneCall, "Call back"),
            (ActivityKind::PhoneCall, "Follow-up call with"),
            (ActivityKind::Letter, "Send contract to"),
            (ActivityKind::Fax, "Fax signed order to"),
        ];
        for (i, (kind, what)) in kinds.iter().enumerate() {
            let company = COMPANIES[(i * 5 + n) % COMPANIES.len()].0;
            let mut task = ActivityFields::new(*kind, format!("{what} {company}"));
            task.due = Some(at(now, i as i64 + 1, 17));
            task.priority = Some([1, 5, 9][i % 3]);
            if i % 3 == 1 {
                task.state = ActivityState::Completed;
                task.percent_complete = Some(100);
                task.completed_at = Some(at(now, -1, 16));
            }
            store.records().create(user.id(), task).await?;
            seeded.activities += 1;
        }
    }
    Ok(seeded)
}
