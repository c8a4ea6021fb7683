//! Deterministic sample data at any size, shaped like the CLI demo's
//! (`crmsync demo`): contacts with a company, title, e-mail, phones and a
//! business address, and one-hour meetings the user organizes, every tenth a
//! weekly series (a CRM calendar holds both kinds, and a series is the bigger
//! iCalendar object with more to expand and map).

use chrono::{DateTime, Duration, Utc};
use crmsync_model::{
    ActivityFields, ActivityKind, Address, ContactFields, Participant, ParticipantRole, Party, PartyKind, Recurrence,
};
use crmsync_store::Store;

use crate::error::BenchError;

const FIRST: [&str; 10] = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Katherine",
    "Radia",
    "Claude",
];
const LAST: [&str; 10] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Johnson", "Perlman", "Shannon",
];
const COMPANIES: [(&str, &str); 5] = [
    ("Analytical Engines Ltd", "London"),
    ("Compiler Works GmbH", "Berlin"),
    ("Shortest Path BV", "Amsterdam"),
    ("Apollo Navigation", "Houston"),
    ("Information Theory Co", "Boston"),
];
const TITLES: [&str; 4] = ["CEO", "Engineer", "Buyer", "Account Manager"];

/// The fields of sample contact number `i` (unique by e-mail and number).
pub fn contact(i: usize) -> ContactFields {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let (company, city) = COMPANIES[i % COMPANIES.len()];
    ContactFields {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        company: Some(company.into()),
        job_title: Some(TITLES[i % TITLES.len()].into()),
        email1: Some(format!(
            "{}.{}{i}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        )),
        phone_business: Some(format!("+44 20 7946 {:04}", i % 10_000)),
        phone_mobile: i.is_multiple_of(2).then(|| format!("+44 7700 9{:05}", i % 100_000)),
        business_address: Address {
            street: Some(format!("{} Market Street", 1 + i % 90)),
            city: Some(city.into()),
            postal_code: Some(format!("{:05}", 10_000 + i % 90_000)),
            country: Some("United Kingdom".into()),
            ..Address::default()
        },
        active: true,
        ..ContactFields::default()
    }
}

/// Whether sample meeting number `i` is a weekly series.
pub fn is_recurring(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// How many of meetings `0..n` are series.
pub fn recurring_count(n: usize) -> usize {
    (0..n).filter(|&i| is_recurring(i)).count()
}

/// The fields of sample meeting number `i`, organized by `user_id`, spread
/// over the next 60 days from `now` so every one is inside the calendar window.
pub fn meeting(i: usize, user_id: &str, now: DateTime<Utc>) -> ActivityFields {
    let mut a = ActivityFields::new(ActivityKind::Appointment, format!("Meeting {i} with {}", FIRST[i % 10]));
    let start = now + Duration::days(1 + (i % 60) as i64) + Duration::minutes((i % 480) as i64);
    a.start = Some(start);
    a.end = Some(start + Duration::hours(1));
    a.location = Some(format!("Room {}", 1 + i % 12));
    if is_recurring(i) {
        a.recurrence = Some(Recurrence {
            rule: "FREQ=WEEKLY;COUNT=10".into(),
            rdates: Vec::new(),
            exdates: Vec::new(),
            overrides: Vec::new(),
        });
    }
    a.participants = vec![Participant {
        party: Party {
            kind: PartyKind::User,
            id: Some(user_id.to_owned()),
            email: None,
            name: None,
        },
        role: ParticipantRole::Organizer,
        invite: true,
        response: Default::default(),
        sync_status: Default::default(),
    }];
    a
}

/// Creates contacts `0..n` owned by `owner_id`.
pub async fn seed_contacts(store: &Store, owner_id: &str, n: usize) -> Result<(), BenchError> {
    for i in 0..n {
        store.records().create(owner_id, contact(i)).await?;
    }
    Ok(())
}

/// Creates meetings `0..n` organized and owned by `owner_id`.
pub async fn seed_meetings(store: &Store, owner_id: &str, n: usize, now: DateTime<Utc>) -> Result<(), BenchError> {
    for i in 0..n {
        store.records().create(owner_id, meeting(i, owner_id, now)).await?;
    }
    Ok(())
}

/// A profile of `user_id` syncing with the DAV server at `url` as
/// `username` (Radicale with `auth = none` gives each user name its own
/// principal, so one server holds every profile's collections apart).
pub fn dav_profile(
    name: &str,
    user_id: &str,
    url: &str,
    username: &str,
) -> Result<crmsync_service::ProfileDefinition, BenchError> {
    let connector = crmsync_service::ConnectorSpec::from_json(serde_json::json!({
        "kind": "dav", "url": url, "username": username, "password": "bench"
    }))
    .map_err(|e| BenchError::Unexpected(format!("DAV settings: {e}")))?;
    Ok(profile_of(name, user_id, connector))
}

/// A profile of `user_id` syncing to the vdir folder `folder`, pulled
/// hourly with push on: the small profile the scale-out and page
/// benchmarks store by the hundred.
pub fn vdir_profile(
    name: &str,
    user_id: &str,
    folder: &std::path::Path,
) -> Result<crmsync_service::ProfileDefinition, BenchError> {
    let connector = crmsync_service::ConnectorSpec::from_json(serde_json::json!({ "kind": "vdir", "root": folder }))
        .map_err(|e| BenchError::Unexpected(format!("vdir settings: {e}")))?;
    Ok(profile_of(name, user_id, connector))
}

/// Pulled hourly with push on: the small profile the scale-out, profiles
/// and page benchmarks store by the hundred.
fn profile_of(
    name: &str,
    user_id: &str,
    connector: crmsync_service::ConnectorSpec,
) -> crmsync_service::ProfileDefinition {
    crmsync_service::ProfileDefinition {
        name: name.to_string(),
        user_id: user_id.to_string(),
        connector,
        mail: None,
        rules: serde_json::json!({}),
        pull_interval: std::time::Duration::from_secs(3600),
        push: true,
        enabled: true,
    }
}
