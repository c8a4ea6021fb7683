//! Issue #13 items 10, 11 and 6 on a real Radicale server, as a user sees
//! them: the time zone of single events both ways (R-MAP-19), a finished
//! series counting as completed (R-ENG-4, R-DEL-7, R-DEL-9), and a contact's
//! company linking CRM accounts (R-FIELD-2).

use crate::dav_world;

use chrono::{Duration, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use crmsync_model::{AccountFields, ActivityFields, Contact, ContactFields, Recurrence};
use crmsync_store::Store;
use dav_world::{DavWorld, Http, Peer, PeerKind, text, writes};

fn unfold(s: &str) -> String {
    s.replace("\r\n ", "").replace("\r\n\t", "")
}

/// Writes a new item into a collection as a phone would.
async fn put_new(w: &DavWorld, peer: &Peer, collection: &str, name: &str, content_type: &str, body: &str) {
    let path = format!("{}{name}", w.collection(collection).await.id.as_str());
    let headers = [("Content-Type", content_type), ("If-None-Match", "*")];
    let (status, _) = Http::new(peer).send("PUT", &path, &headers, body.as_bytes()).await;
    assert!((200..300).contains(&status), "PUT {path}: {status}");
}

const BERLIN: &str = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\n\
TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n\
END:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\n\
DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";

// R-MAP-19, R-FIELD-3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_map_19_single_events_keep_their_time_zone_both_ways_on_radicale() {
    let peer = Peer::start(PeerKind::Radicale);
    let w = DavWorld::new(&peer).await;

    // CRM → server: written in the appointment's zone, not in UTC.
    let mut call = w.meeting_fields("Call planned in Berlin", 2);
    call.time_zone = Some("Europe/Berlin".into());
    let call = w.store.records().create(&w.actor.user_id, call).await.unwrap();
    w.sync().await;
    let body = unfold(&text(&w.item_with("calendar", "Call planned in Berlin").await));
    assert!(body.contains("DTSTART;TZID=Europe/Berlin:"), "{body}");
    assert!(body.contains("DTEND;TZID=Europe/Berlin:"), "{body}");
    assert!(body.contains("BEGIN:VTIMEZONE"), "{body}");
    let local_start = call
        .fields
        .start
        .unwrap()
        .with_timezone(&Berlin)
        .format("%Y%m%dT%H%M%S");
    assert!(
        body.contains(&format!("DTSTART;TZID=Europe/Berlin:{local_start}")),
        "{body}"
    );

    // Server → CRM: an event a phone planned in Berlin time.
    let day = (w.now + Duration::days(4)).with_timezone(&Berlin).date_naive();
    let local = day.and_hms_opt(10, 0, 0).unwrap();
    let start = Berlin.from_local_datetime(&local).single().unwrap().with_timezone(&Utc);
    let stamp = w.now.format("%Y%m%dT%H%M%SZ");
    let event = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//phone//EN\r\n{BERLIN}BEGIN:VEVENT\r\nUID:berlin-phone-1\r\n\
         DTSTAMP:{stamp}\r\nDTSTART;TZID=Europe/Berlin:{}\r\nDTEND;TZID=Europe/Berlin:{}\r\n\
         SUMMARY:Lunch planned on the phone\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        local.format("%Y%m%dT%H%M%S"),
        (local + Duration::hours(1)).format("%Y%m%dT%H%M%S"),
    );
    put_new(&w, &peer, "calendar", "berlin-phone-1.ics", "text/calendar", &event).await;
    w.sync().await;
    let lunch = w.activity_named("Lunch planned on the phone").await.expect("imported");
    assert_eq!(lunch.fields.time_zone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(lunch.fields.start, Some(start), "the instant stays right");
    assert_eq!(lunch.fields.end, Some(start + Duration::hours(1)));

    // Nothing moves afterwards: the zones agree on both sides.
    let report = w.sync().await;
    assert_eq!(writes(&report), 0, "{report}");
    let again = unfold(&text(&w.item_with("calendar", "Lunch planned on the phone").await));
    assert!(again.contains("DTSTART;TZID=Europe/Berlin:"), "{again}");
}

// R-ENG-4, R-DEL-9, R-DEL-7
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_eng_4_a_series_whose_last_occurrence_is_past_is_completed_on_radicale() {
    let peer = Peer::start(PeerKind::Radicale);
    let w = DavWorld::new(&peer).await;
    let series = |subject: &str, count: u32| {
        let mut a: ActivityFields = w.meeting_fields(subject, -25);
        a.recurrence = Some(Recurrence {
            rule: format!("FREQ=WEEKLY;COUNT={count}"),
            ..Recurrence::default()
        });
        a
    };
    // Weekly from 25 days ago: three occurrences end 11 days ago; ten run on.
    let finished = w
        .store
        .records()
        .create(&w.actor.user_id, series("Finished series", 3))
        .await
        .unwrap();
    let running = w
        .store
        .records()
        .create(&w.actor.user_id, series("Running series", 10))
        .await
        .unwrap();
    w.sync().await;
    w.item_with("calendar", "Finished series").await;
    w.item_with("calendar", "Running series").await;

    w.store
        .records()
        .delete::<ActivityFields>(finished.id(), None)
        .await
        .unwrap();
    w.store
        .records()
        .delete::<ActivityFields>(running.id(), None)
        .await
        .unwrap();
    let report = w.sync().await;
    let left: Vec<String> = w.items("calendar").await.iter().map(text).collect();
    assert!(
        left.iter().any(|t| t.contains("Finished series")),
        "a completed series deleted in the CRM stays in the calendar (R-DEL-9): {report}"
    );
    assert!(
        !left.iter().any(|t| t.contains("Running series")),
        "a planned series deleted in the CRM is removed (R-DEL-7): {report}"
    );
}

async fn contact(store: &Store, email: &str) -> Contact {
    let mut found = store.records().contacts_by_email(email).await.unwrap();
    assert_eq!(found.len(), 1, "{email}");
    found.remove(0)
}

fn card(uid: &str, first: &str, last: &str, org: Option<&str>) -> String {
    let org = org.map(|o| format!("ORG:{o}\r\n")).unwrap_or_default();
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{first} {last}\r\nN:{last};{first};;;\r\n{org}\
         EMAIL;TYPE=WORK:{}@example.com\r\nEND:VCARD\r\n",
        first.to_lowercase()
    )
}

// R-FIELD-2
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_field_2_a_company_links_its_account_on_every_branch_on_radicale() {
    let peer = Peer::start(PeerKind::Radicale);
    let mut w = DavWorld::new(&peer).await;
    let acme = w
        .store
        .records()
        .create(
            &w.actor.user_id,
            AccountFields {
                name: "ACME GmbH".into(),
                ..AccountFields::default()
            },
        )
        .await
        .unwrap();

    // Outbound: a linked contact's card shows its account's name, not the
    // contact's own company text.
    w.store
        .records()
        .create(
            &w.actor.user_id,
            ContactFields {
                first_name: Some("Ann".into()),
                last_name: Some("Linked".into()),
                email1: Some("ann@example.com".into()),
                company: Some("acme (old text)".into()),
                account_id: Some(acme.id().to_string()),
                active: true,
                ..ContactFields::default()
            },
        )
        .await
        .unwrap();
    w.sync().await;
    let ann = unfold(&text(&w.item_with("contacts", "ann@example.com").await));
    assert!(ann.contains("ORG:ACME GmbH"), "{ann}");

    // An existing account of that name is linked, none is created.
    put_new(
        &w,
        &peer,
        "contacts",
        "ian.vcf",
        "text/vcard",
        &card("ian", "Ian", "Same", Some("ACME GmbH")),
    )
    .await;
    // A missing account is created when the user may create accounts.
    put_new(
        &w,
        &peer,
        "contacts",
        "gus.vcf",
        "text/vcard",
        &card("gus", "Gus", "New", Some("Globex")),
    )
    .await;
    w.sync().await;
    assert_eq!(
        contact(&w.store, "ian@example.com").await.fields.account_id.as_deref(),
        Some(acme.id())
    );
    let globex = w
        .store
        .records()
        .account_by_name("Globex")
        .await
        .unwrap()
        .expect("account created");
    assert_eq!(
        contact(&w.store, "gus@example.com").await.fields.account_id.as_deref(),
        Some(globex.id())
    );

    // Without the right to create accounts the name stays text, with a warning.
    w.profile.rules.accounts.create = false;
    put_new(
        &w,
        &peer,
        "contacts",
        "ina.vcf",
        "text/vcard",
        &card("ina", "Ina", "Text", Some("Initech")),
    )
    .await;
    w.sync().await;
    assert!(w.store.records().account_by_name("Initech").await.unwrap().is_none());
    let ina = contact(&w.store, "ina@example.com").await;
    assert_eq!(ina.fields.company.as_deref(), Some("Initech"));
    assert_eq!(ina.fields.account_id, None);
    let history = w
        .store
        .sync_state()
        .history("alice", Some(ina.id()), None)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.rule == "R-FIELD-2" && h.action == "warning" && h.message.contains("Initech")),
        "{history:?}"
    );
}
