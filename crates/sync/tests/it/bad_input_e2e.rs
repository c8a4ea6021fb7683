//! Bad input end to end (issue 6, R-SAFE-4): a table of malformed items, each
//! placed among good ones into a vdir mailbox and, where the server stores it,
//! PUT raw into a real Radicale and Xandikos; then the real runner. Per row:
//! the documented outcome (quarantined with a message naming the problem, or
//! imported with the documented repair), the good items all synced, the bad
//! item's bytes untouched on the groupware side, and a second run stable.
//! And the other way: CRM records too large for an item fail one by one with
//! a clear message while the run goes on (R-MAP-18).
//!
//! The parsing rules themselves are proven item by item in
//! crates/mapping/tests/it/malformed.rs; this table proves the runner around them.

use crate::common;
use crate::dav_world;
use std::collections::BTreeMap;

use chrono::{Duration, Timelike, Utc};
use crmsync_model::ContactFields;
use crmsync_model::contact::MAX_PHOTO_LEN;
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_sync::RunReport;
use dav_world::{DavWorld, PASSWORD, Peer, PeerKind, USER};

/// What the runner must do with a row's item.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Quarantined; the message contains this (case-insensitive).
    Quarantined(&'static str),
    /// Imported into the CRM: a contact with this last name (`*`: any one
    /// character, for what a server decoded).
    ContactImported(&'static str),
    /// Bytes in a wrong charset: quarantined as not UTF-8 where the server
    /// keeps them; where the server re-encoded them on PUT (Radicale), the
    /// now-valid card is imported.
    WrongCharset,
    /// Imported into the CRM: an appointment with this subject, starting at
    /// one of these UTC hours (the documented reading of its time).
    EventImported(&'static str, &'static [u32]),
}

struct Row {
    name: &'static str,
    collection: &'static str,
    file: &'static str,
    body: Vec<u8>,
    expect: Expect,
}

fn card(uid: &str, last: &str, extra: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Bad {last}\r\nN:{last};Bad;;;\r\n{extra}END:VCARD\r\n")
}

/// An event a week from now (inside any calendar window), with `dtstart` as given.
fn event(uid: &str, summary: &str, dtstart: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bad input//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20260101T000000Z\r\n{dtstart}\r\nDURATION:PT1H\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

fn next_week() -> String {
    (Utc::now() + Duration::days(7)).format("%Y%m%dT100000Z").to_string()
}

/// Base64 text of `n` bytes of a fake JPEG, folded as clients write it.
fn photo_line(n: usize) -> String {
    let raw: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    let b64 = base64_encode(&raw);
    let mut folded = String::from("PHOTO;ENCODING=b;TYPE=JPEG:");
    for (i, chunk) in b64.as_bytes().chunks(74).enumerate() {
        if i > 0 {
            folded.push_str("\r\n ");
        }
        folded.push_str(std::str::from_utf8(chunk).unwrap());
    }
    folded + "\r\n"
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The table. Every row names the rule that decides it.
fn rows() -> Vec<Row> {
    let start = next_week();
    vec![
        // R-SAFE-4: a continuation line without its leading blank.
        Row {
            name: "broken line folding",
            collection: "contacts",
            file: "bad-folding.vcf",
            body: card(
                "bad-folding",
                "Folding",
                "NOTE:a note folded\r\nwithout the leading blank\r\n",
            )
            .into_bytes(),
            expect: Expect::Quarantined("folding"),
        },
        // R-SAFE-4: month 13.
        Row {
            name: "invalid date",
            collection: "calendar",
            file: "bad-date.ics",
            body: event("bad-date", "Bad date", "DTSTART:20261341T100000Z").into_bytes(),
            expect: Expect::Quarantined("invalid date"),
        },
        // R-MAP-8: refused, not guessed.
        Row {
            name: "unknown time zone",
            collection: "calendar",
            file: "bad-tz.ics",
            body: event(
                "bad-tz",
                "Meeting on Mars",
                &format!("DTSTART;TZID=Mars/Olympus_Mons:{}", start.trim_end_matches('Z')),
            )
            .into_bytes(),
            expect: Expect::Quarantined("unknown time zone"),
        },
        // R-MAP-7: over MAX_ITEM_BYTES, never parsed or cut.
        Row {
            name: "huge photo (7 MiB)",
            collection: "contacts",
            file: "bad-photo.vcf",
            body: card("bad-photo", "Photo", &photo_line(7 * 1024 * 1024)).into_bytes(),
            expect: Expect::Quarantined("more than the"),
        },
        // R-MAP-7.
        Row {
            name: "10 MB note",
            collection: "contacts",
            file: "bad-note.vcf",
            body: card(
                "bad-note",
                "Note",
                &format!("NOTE:{}\r\n", "x".repeat(10 * 1000 * 1000)),
            )
            .into_bytes(),
            expect: Expect::Quarantined("more than the"),
        },
        // R-MAP-7: Latin-1 bytes are not guessed at (a wrong guess garbles
        // every name); the message says to re-export as UTF-8.
        Row {
            name: "Latin-1 bytes",
            collection: "contacts",
            file: "bad-latin1.vcf",
            body: {
                let mut b = card("bad-latin1", "XLATIN", "").into_bytes();
                while let Some(at) = b.windows(6).position(|w| w == b"XLATIN") {
                    b.splice(at..at + 6, b"M\xfcller".iter().copied());
                }
                b
            },
            expect: Expect::WrongCharset,
        },
        // R-MAP-8: a floating time without X-WR-TIMEZONE is read as UTC.
        Row {
            name: "floating time",
            collection: "calendar",
            file: "floating.ics",
            body: event(
                "floating",
                "Floating meeting",
                &format!("DTSTART:{}", start.trim_end_matches('Z')),
            )
            .into_bytes(),
            expect: Expect::EventImported("Floating meeting", &[10]),
        },
        // R-MAP-8: Outlook's Windows zone name without a VTIMEZONE is resolved
        // (Berlin: 10:00 local is 08:00 or 09:00 UTC, by season).
        Row {
            name: "Windows time zone name",
            collection: "calendar",
            file: "windows-tz.ics",
            body: event(
                "windows-tz",
                "Outlook meeting",
                &format!("DTSTART;TZID=W. Europe Standard Time:{}", start.trim_end_matches('Z')),
            )
            .into_bytes(),
            expect: Expect::EventImported("Outlook meeting", &[8, 9]),
        },
        // R-SYNC-UID-2: two cards with one UID (Radicale refuses the second on PUT).
        Row {
            name: "first of two cards with one UID",
            collection: "contacts",
            file: "dup-a.vcf",
            body: card("dup-1", "Dupfirst", "EMAIL:dup-a@example.com\r\n").into_bytes(),
            expect: Expect::ContactImported("Dupfirst"),
        },
        Row {
            name: "second of two cards with one UID",
            collection: "contacts",
            file: "dup-b.vcf",
            body: card("dup-1", "Dupsecond", "EMAIL:dup-b@example.com\r\n").into_bytes(),
            expect: Expect::Quarantined("same UID"),
        },
        // Repair: LF line ends and a UTF-8 byte order mark are read as CRLF/none.
        Row {
            name: "LF line ends and a byte order mark",
            collection: "contacts",
            file: "lf-bom.vcf",
            body: format!(
                "\u{feff}{}",
                card("lf-bom", "Linefeed", "EMAIL:lf@example.com\r\n").replace("\r\n", "\n")
            )
            .into_bytes(),
            expect: Expect::ContactImported("Linefeed"),
        },
        // A large photo within the model's limit is data, not an attack.
        Row {
            name: "photo of 2 MiB",
            collection: "contacts",
            file: "big-photo.vcf",
            body: card("big-photo", "Portrait", &photo_line(2 * 1024 * 1024)).into_bytes(),
            expect: Expect::ContactImported("Portrait"),
        },
    ]
}

/// A good groupware item of each kind: all must sync whatever the bad rows do.
fn good_items() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let start = next_week();
    vec![
        (
            "contacts",
            "good-1.vcf",
            card("good-1", "Goodone", "EMAIL:good1@example.com\r\n").into_bytes(),
        ),
        (
            "contacts",
            "good-2.vcf",
            card("good-2", "Goodtwo", "EMAIL:good2@example.com\r\n").into_bytes(),
        ),
        (
            "calendar",
            "good-event.ics",
            event("good-event", "Good meeting", &format!("DTSTART:{start}")).into_bytes(),
        ),
    ]
}

/// A mailbox the test can write raw bytes into and read them back from.
enum Mailbox<'a> {
    Vdir(&'a common::World),
    Dav(&'a DavWorld, &'a Peer),
}

impl Mailbox<'_> {
    fn store(&self) -> &Store {
        match self {
            Mailbox::Vdir(w) => &w.store,
            Mailbox::Dav(w, _) => &w.store,
        }
    }

    async fn sync(&self) -> RunReport {
        match self {
            Mailbox::Vdir(w) => w.sync().await,
            Mailbox::Dav(w, peer) => match crmsync_sync::run_profile(&w.store, &w.profile, &w.options()).await {
                Ok(r) => r,
                Err(e) => panic!("sync failed: {e}\nserver log:\n{}", peer.log()),
            },
        }
    }

    /// Stores `body` as `file`; false when the server refuses it.
    async fn put(&self, collection: &str, file: &str, body: &[u8]) -> bool {
        match self {
            Mailbox::Vdir(w) => {
                std::fs::write(w.folder(collection).join(file), body).unwrap();
                true
            }
            Mailbox::Dav(w, peer) => {
                let url = self.dav_url(w, peer, collection, file).await;
                let content_type = if file.ends_with(".vcf") {
                    "text/vcard"
                } else {
                    "text/calendar"
                };
                let sent = reqwest::Client::new()
                    .put(url)
                    .basic_auth(USER, Some(PASSWORD))
                    .header("Content-Type", content_type)
                    .header("If-None-Match", "*")
                    .body(body.to_vec())
                    .send()
                    .await;
                match sent {
                    Ok(reply) => reply.status().is_success(),
                    // A server refusing a body over its size limit may answer
                    // (413) and close before the whole body was sent (the test
                    // Radicale's `max_content_length`, testkit's peer.rs); the
                    // client then fails writing it. Refused all the same: a
                    // read of the item below shows whether anything was kept.
                    Err(e) if !e.is_connect() && !e.is_timeout() => false,
                    Err(e) => panic!("{} PUT {file}: {e}", peer.kind.name()),
                }
            }
        }
    }

    /// The stored bytes of `file` (as the server keeps them), if present.
    async fn read(&self, collection: &str, file: &str) -> Option<Vec<u8>> {
        match self {
            Mailbox::Vdir(w) => std::fs::read(w.folder(collection).join(file)).ok(),
            Mailbox::Dav(w, peer) => {
                let url = self.dav_url(w, peer, collection, file).await;
                let response = reqwest::Client::new()
                    .get(url)
                    .basic_auth(USER, Some(PASSWORD))
                    .send()
                    .await
                    .unwrap();
                if !response.status().is_success() {
                    return None;
                }
                Some(response.bytes().await.unwrap().to_vec())
            }
        }
    }

    async fn dav_url(&self, w: &DavWorld, peer: &Peer, collection: &str, file: &str) -> String {
        let c = w.collection(collection).await;
        format!("{}{}{file}", peer.url().trim_end_matches('/'), c.id.as_str())
    }
}

async fn contacts(store: &Store) -> Vec<crmsync_model::Contact> {
    store
        .records()
        .list::<ContactFields>(&ListQuery {
            limit: MAX_PAGE,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .items
}

fn quarantined(report: &RunReport) -> BTreeMap<String, String> {
    report
        .collections
        .iter()
        .flat_map(|c| {
            c.quarantined
                .iter()
                .map(move |(h, e)| (format!("{}/{h}", c.collection), e.clone()))
        })
        .collect()
}

/// Runs the table against one mailbox, which must have been synced once so
/// its collections exist.
async fn table(mailbox: Mailbox<'_>, kind: &str) {
    // A CRM contact that must reach the groupware despite the bad items.
    let user = mailbox
        .store()
        .records()
        .list::<crmsync_model::UserFields>(&ListQuery::default())
        .await
        .unwrap();
    let owner = user.items[0].meta.id.clone();
    let ada = ContactFields {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email1: Some("ada@example.com".into()),
        active: true,
        ..ContactFields::default()
    };
    mailbox.store().records().create(&owner, ada).await.unwrap();

    let mut stored: Vec<(Row, Vec<u8>)> = Vec::new();
    for row in rows() {
        let accepted = mailbox.put(row.collection, row.file, &row.body).await;
        // What the server holds (Radicale re-serialises what it accepts;
        // Xandikos may keep an item it answered 500 for).
        if let Some(bytes) = mailbox.read(row.collection, row.file).await {
            if !accepted {
                println!("{kind}: the server refused the row {:?} but stored it", row.name);
            }
            let mut row = row;
            if matches!(row.expect, Expect::WrongCharset) {
                row.expect = match std::str::from_utf8(&bytes) {
                    Err(_) => Expect::Quarantined("not UTF-8"),
                    Ok(_) => {
                        println!("{kind}: the server re-encoded the row {:?} on PUT", row.name);
                        // Decoded as Latin-1 or with a replacement character.
                        Expect::ContactImported("M*ller")
                    }
                };
            }
            stored.push((row, bytes));
        } else {
            println!(
                "{kind}: the server refuses the row {:?}; nothing for crmsync to do",
                row.name
            );
        }
    }
    for (collection, file, body) in good_items() {
        assert!(
            mailbox.put(collection, file, &body).await,
            "{kind}: the server takes {file}"
        );
    }

    let first = mailbox.sync().await;
    let seen = quarantined(&first);
    let crm = contacts(mailbox.store()).await;
    let store_quarantine = mailbox.store().sync_state().quarantined("alice").await.unwrap();
    for (row, bytes) in &stored {
        let key = format!("{}/{}", row.collection, row.file);
        match row.expect {
            Expect::Quarantined(needle) => {
                let why = seen
                    .get(&key)
                    .unwrap_or_else(|| panic!("{kind} {:?}: not quarantined: {first}", row.name));
                assert!(
                    why.to_lowercase().contains(&needle.to_lowercase()),
                    "{kind} {:?}: the message names the problem ({needle:?}): {why}",
                    row.name
                );
                assert!(
                    store_quarantine.iter().any(|q| q.href == row.file && &q.error == why),
                    "{kind} {:?}: status shows the quarantine with its message",
                    row.name
                );
            }
            Expect::WrongCharset => unreachable!("resolved when stored"),
            Expect::ContactImported(last) => {
                assert!(!seen.contains_key(&key), "{kind} {:?}: {first}", row.name);
                let c = crm
                    .iter()
                    .find(|c| c.fields.last_name.as_deref().is_some_and(|l| name_matches(l, last)))
                    .unwrap_or_else(|| {
                        let names: Vec<_> = crm.iter().map(|c| c.fields.last_name.clone()).collect();
                        panic!(
                            "{kind} {:?}: not imported: {first}\nCRM: {names:?}\nitem: {:?}",
                            row.name,
                            String::from_utf8_lossy(bytes)
                        )
                    });
                if row.file == "big-photo.vcf" {
                    let photo = c.fields.photo.as_deref().expect("the photo is kept");
                    assert!(photo.len() > 2 * 1024 * 1024 && photo.len() <= MAX_PHOTO_LEN);
                }
            }
            Expect::EventImported(subject, hours) => {
                assert!(!seen.contains_key(&key), "{kind} {:?}: {first}", row.name);
                let events = mailbox.store().records().activities_for_user(&owner).await.unwrap();
                let event = events
                    .iter()
                    .find(|a| a.fields.subject == subject)
                    .unwrap_or_else(|| panic!("{kind} {:?}: not imported: {first}", row.name));
                let hour = event.fields.start.expect("a start").hour();
                assert!(hours.contains(&hour), "{kind} {:?}: starts at {hour}:00 UTC", row.name);
            }
        }
        // Nothing is written over or deleted on the groupware side for a
        // bad item, nor for a good one that needed no change.
        if matches!(row.expect, Expect::Quarantined(_)) {
            assert_eq!(
                mailbox.read(row.collection, row.file).await.as_ref(),
                Some(bytes),
                "{kind} {:?}: the item's bytes are untouched",
                row.name
            );
        }
    }
    // No record was made from a quarantined item: the CRM holds Ada, the
    // good cards and the imported rows, nothing else.
    let imported = stored
        .iter()
        .filter(|(r, _)| matches!(r.expect, Expect::ContactImported(_)))
        .count();
    assert_eq!(
        crm.len(),
        1 + 2 + imported,
        "{kind}: only good and repaired cards became contacts: {first}"
    );
    // The good items all synced, both ways.
    for last in ["Goodone", "Goodtwo"] {
        assert!(
            crm.iter().any(|c| c.fields.last_name.as_deref() == Some(last)),
            "{kind}: good card {last} imported: {first}"
        );
    }
    let events = mailbox.store().records().activities_for_user(&owner).await.unwrap();
    assert!(
        events.iter().any(|a| a.fields.subject == "Good meeting"),
        "{kind}: good event imported: {first}"
    );
    assert_eq!(
        applied(&first, "contacts", "groupware create"),
        1,
        "{kind}: the CRM contact reached the groupware: {first}"
    );
    assert!(first.collections.iter().all(|c| c.failed.is_empty()), "{first}");

    // A second run is stable: nothing written, the same quarantine, the same bytes.
    let second = mailbox.sync().await;
    assert_eq!(writes(&second), 0, "{kind}: a second run writes nothing: {second}");
    // The status store keeps each verdict as first made (message and time);
    // a run that lists nothing new need not mention them again.
    let again = mailbox.store().sync_state().quarantined("alice").await.unwrap();
    let rows_of = |q: &[crmsync_store::status::QuarantineRow]| {
        q.iter()
            .map(|r| (r.href.clone(), r.etag.clone(), r.error.clone(), r.at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rows_of(&again),
        rows_of(&store_quarantine),
        "{kind}: the same items stay quarantined"
    );
    for (href, why) in quarantined(&second) {
        assert_eq!(
            seen.get(&href),
            Some(&why),
            "{kind}: {href} is reported with its first message"
        );
    }
    for (row, bytes) in &stored {
        let now = mailbox.read(row.collection, row.file).await;
        if matches!(row.expect, Expect::Quarantined(_)) {
            assert_eq!(now.as_ref(), Some(bytes), "{kind} {:?}: untouched", row.name);
        } else {
            assert!(now.is_some(), "{kind} {:?}: still there", row.name);
        }
    }
}

/// `pattern` with `*` standing for any one character.
fn name_matches(name: &str, pattern: &str) -> bool {
    name.chars().count() == pattern.chars().count()
        && name.chars().zip(pattern.chars()).all(|(n, p)| p == '*' || n == p)
}

fn applied(report: &RunReport, collection: &str, key: &str) -> usize {
    common::applied(report, collection, key)
}

fn writes(report: &RunReport) -> usize {
    common::writes(report)
}

/// The other way (R-MAP-18): a CRM contact whose card would be larger than
/// crmsync reads back fails alone with a message saying what to shorten;
/// a contact with the largest photo the CRM allows syncs out; the run is ok,
/// the next one is quiet, and the record syncs once it is shortened.
async fn too_large_for_an_item(mailbox: Mailbox<'_>, kind: &str) {
    let users = mailbox
        .store()
        .records()
        .list::<crmsync_model::UserFields>(&ListQuery::default())
        .await
        .unwrap();
    let owner = users.items[0].meta.id.clone();
    let contact = |last: &str| ContactFields {
        first_name: Some("Big".into()),
        last_name: Some(last.into()),
        active: true,
        ..ContactFields::default()
    };
    let huge_note = ContactFields {
        notes: Some("n".repeat(10 * 1000 * 1000)),
        ..contact("Notes")
    };
    let huge_note = mailbox.store().records().create(&owner, huge_note).await.unwrap();
    // The largest photo the CRM stores: a data URI of MAX_PHOTO_LEN bytes.
    let prefix = "data:image/jpeg;base64,";
    let b64 = base64_encode(&vec![7u8; (MAX_PHOTO_LEN - prefix.len()) / 4 * 3]);
    let portrait = ContactFields {
        photo: Some(format!("{prefix}{b64}")),
        ..contact("Portrait")
    };
    mailbox.store().records().create(&owner, portrait).await.unwrap();
    mailbox
        .store()
        .records()
        .create(&owner, contact("Small"))
        .await
        .unwrap();

    let first = mailbox.sync().await;
    assert_eq!(
        first.outcome,
        crmsync_sync::RunOutcome::Ok,
        "{kind}: not a failed run: {first}"
    );
    let contacts = first.collections.iter().find(|c| c.collection == "contacts").unwrap();
    // Every pass of the run tries it again and fails it the same way; the
    // report lists it once (R-SYNC-REPORT-1), and it is the only one.
    assert!(contacts.passes > 1, "{kind}: the run made several passes: {first}");
    assert_eq!(
        contacts.failed.len(),
        1,
        "{kind}: exactly the huge record fails, once: {first}"
    );
    let failure = &contacts.failed[0];
    assert!(
        failure.contains(huge_note.id()) && failure.contains("shorten the record's notes or photo in the CRM"),
        "{kind}: the message names the record and says what to do: {first}"
    );
    assert_eq!(
        applied(&first, "contacts", "groupware create"),
        2,
        "{kind}: the portrait and the small contact reach the groupware: {first}"
    );
    let pairs = mailbox.store().sync_state().pairs("alice", "contacts").await.unwrap();
    assert!(
        !pairs.iter().any(|p| p.crm_id == huge_note.id()),
        "{kind}: nothing is paired for the record that was not written"
    );

    // Explain shows why it is not in the groupware.
    let history = mailbox
        .store()
        .sync_state()
        .history("alice", Some(huge_note.id()), None)
        .await
        .unwrap();
    assert!(
        history.iter().any(|h| h.message.contains("shorten the record's notes")),
        "{kind}: the record's history says why it was not written: {history:?}"
    );

    // Unchanged, it is not tried again (it would fail the same way): the
    // second run is quiet. Once shortened, it syncs.
    let second = mailbox.sync().await;
    assert_eq!(writes(&second), 0, "{kind}: a second run writes nothing: {second}");
    assert!(second.collections.iter().all(|c| c.failed.is_empty()), "{second}");
    let mut shorter = huge_note.fields.clone();
    shorter.notes = Some("n".repeat(1000));
    mailbox
        .store()
        .records()
        .update(huge_note.id(), huge_note.version(), shorter)
        .await
        .unwrap();
    let third = mailbox.sync().await;
    assert_eq!(
        applied(&third, "contacts", "groupware create"),
        1,
        "{kind}: shortened, it reaches the groupware: {third}"
    );
}

// R-MAP-18, R-SYNC-REPORT-1 (vdir)
#[tokio::test]
async fn r_map_18_crm_record_too_large_for_an_item_fails_alone_on_vdir() {
    let w = common::World::new().await;
    too_large_for_an_item(Mailbox::Vdir(&w), "vdir").await;
}

// R-MAP-18, R-SYNC-REPORT-1 (Radicale)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_map_18_crm_record_too_large_for_an_item_fails_alone_on_radicale() {
    let peer = Peer::start(PeerKind::Radicale);
    let w = DavWorld::new(&peer).await;
    too_large_for_an_item(Mailbox::Dav(&w, &peer), "radicale").await;
}

// R-SAFE-4, R-MAP-7, R-MAP-8, R-SYNC-UID-2, R-SYNC-QUAR-2, R-PROOF-4 (vdir)
#[tokio::test]
async fn r_safe_4_bad_input_table_on_vdir() {
    let w = common::World::new().await;
    w.sync().await; // creates the collections
    table(Mailbox::Vdir(&w), "vdir").await;
}

// R-SAFE-4, R-MAP-7, R-MAP-8, R-SYNC-QUAR-2, R-PROOF-4 (Radicale)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_4_bad_input_table_on_radicale() {
    let peer = Peer::start(PeerKind::Radicale);
    let w = DavWorld::new(&peer).await;
    w.sync().await;
    table(Mailbox::Dav(&w, &peer), "radicale").await;
}

// R-SAFE-4, R-MAP-7, R-MAP-8, R-SYNC-UID-2, R-SYNC-QUAR-2, R-DAV-15, R-PROOF-4 (Xandikos)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_safe_4_bad_input_table_on_xandikos() {
    let peer = Peer::start(PeerKind::Xandikos);
    let w = DavWorld::new(&peer).await;
    w.sync().await;
    table(Mailbox::Dav(&w, &peer), "xandikos").await;
}
