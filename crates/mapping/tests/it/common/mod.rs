//! Shared helpers for the mapping tests: fixture loading and a small
//! in-memory participant directory.
#![allow(dead_code)]

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use crmsync_mapping::{IcalContext, ParticipantDirectory};
use crmsync_model::{Party, PartyKind};

pub fn fixture(rel: &str) -> String {
    String::from_utf8(fixture_bytes(rel)).expect("fixture is UTF-8")
}

pub fn fixture_bytes(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixtures(dir: &str) -> Vec<(String, String)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (n.clone(), fixture(&format!("{dir}/{n}"))))
        .collect()
}

/// A CRM with two users and one contact, found by e-mail (R-CAL-2).
pub struct TestDirectory;

pub const USERS: [(&str, &str, &str); 2] = [
    ("u-maria", "maria.schulz@contoso.example", "Maria Schulz"),
    ("u-tom", "tom.berger@contoso.example", "Tom Berger"),
];
pub const CONTACTS: [(&str, &str, &str); 1] = [("c-ben", "ben.okafor@example.org", "Ben Okafor")];

impl ParticipantDirectory for TestDirectory {
    fn email_of(&self, party: &Party) -> Option<String> {
        let id = party.id.as_deref();
        USERS
            .iter()
            .chain(CONTACTS.iter())
            .find(|(i, _, _)| Some(*i) == id)
            .map(|(_, e, _)| e.to_string())
            .or_else(|| party.email.clone())
    }

    fn party_for_email(&self, email: &str) -> Party {
        let email = email.to_lowercase();
        if let Some((id, e, n)) = USERS.iter().find(|(_, e, _)| *e == email) {
            return Party {
                kind: PartyKind::User,
                id: Some(id.to_string()),
                email: Some(e.to_string()),
                name: Some(n.to_string()),
            };
        }
        if let Some((id, e, n)) = CONTACTS.iter().find(|(_, e, _)| *e == email) {
            return Party {
                kind: PartyKind::Contact,
                id: Some(id.to_string()),
                email: Some(e.to_string()),
                name: Some(n.to_string()),
            };
        }
        Party {
            kind: PartyKind::Email,
            id: None,
            email: Some(email),
            name: None,
        }
    }
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 5, 12, 0, 0).unwrap()
}

pub fn ctx() -> IcalContext<'static> {
    IcalContext {
        now: now(),
        time_zone: None,
        directory: &TestDirectory,
        keep_schedule: false,
    }
}
