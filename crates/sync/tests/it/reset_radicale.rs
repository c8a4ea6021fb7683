//! A reset against a real Radicale loses no card edit (R-RESET-1, R-ENG-7,
//! R-EDIT-3, R-SYNC-ID-2; issue #10): sync, `reset`, then five cards edited
//! on the server by a plain CardDAV client (a changed title, a new note,
//! phone, company and address) and five other contacts edited in the CRM.
//! The next sync pairs every card again by its UID (the CRM id), copies what
//! one side holds alone, and settles the one field both hold differently
//! (the title) by the profile's policy, as a conflict.

use crate::dav_world;
use crmsync_engine::{ConflictPolicy, EntityClass};
use crmsync_model::{Contact, ContactFields};
use crmsync_sync::ops::{ResetScope, reset};
use dav_world::{DavWorld, Http, Peer, PeerKind, applied, text};

/// The five server edits, one line each (the first replaces the title).
const CARD_EDITS: [&str; 5] = [
    "TITLE:Countess",
    "NOTE:Met at the ball",
    "TEL;TYPE=CELL:+44 20 7946 0000",
    "ORG:Analytical Engines Ltd",
    "ADR;TYPE=WORK:;;1 Engine Way;London;;N1 1AA;United Kingdom",
];

async fn contact(w: &DavWorld, id: &str) -> Contact {
    w.store.records().get::<ContactFields>(id).await.unwrap()
}

async fn reset_keeps_server_edits(policy: ConflictPolicy) {
    let peer = Peer::start(PeerKind::Radicale);
    let mut w = DavWorld::new(&peer).await;
    w.profile.rules.entity_mut(EntityClass::Contacts).conflict = policy;
    let mut ids = Vec::new();
    for i in 0..10 {
        let c = w
            .contact(
                &format!("Ada{i}"),
                &format!("Lovelace{i}"),
                &format!("ada{i}@example.com"),
            )
            .await;
        ids.push(c.meta.id);
    }
    // The first card's title is then held on both sides.
    let first = contact(&w, &ids[0]).await;
    let mut fields = first.fields.clone();
    fields.job_title = Some("Analyst".into());
    w.store
        .records()
        .update(&ids[0], first.meta.version, fields)
        .await
        .unwrap();
    w.sync().await;

    assert_eq!(
        reset(&w.store.sync_state(), "alice", &ResetScope::default())
            .await
            .unwrap(),
        10
    );
    let http = Http::new(&peer);
    for (i, line) in CARD_EDITS.iter().enumerate() {
        let card = w.item_with("contacts", &format!("ada{i}@example.com")).await;
        let path = w.path_of("contacts", &card).await;
        let body = text(&card).replace("TITLE:Analyst\r\n", "");
        let edited = body.replace("END:VCARD", &format!("{line}\r\nEND:VCARD"));
        let status = http.put_card(&path, card.etag.as_str(), &edited).await;
        assert!((200..300).contains(&status), "{policy:?}: PUT card {i}: {status}");
    }
    for (i, id) in ids.iter().enumerate().skip(5) {
        let c = contact(&w, id).await;
        let mut fields = c.fields.clone();
        fields.job_title = Some(format!("Edited in the CRM {i}"));
        w.store.records().update(id, c.meta.version, fields).await.unwrap();
    }

    let report = w.sync().await;
    assert_eq!(applied(&report, "contacts", "crm create"), 0, "{policy:?}: {report}");
    assert_eq!(
        applied(&report, "contacts", "groupware create"),
        0,
        "{policy:?}: {report}"
    );
    assert_eq!(w.items("contacts").await.len(), 10, "{policy:?}: no duplicate card");

    // The CRM edits reached their cards.
    for i in 5..10 {
        let card = text(&w.item_with("contacts", &format!("ada{i}@example.com")).await);
        assert!(
            card.contains(&format!("TITLE:Edited in the CRM {i}")),
            "{policy:?}: {card}"
        );
    }
    // What only the card holds reached the CRM and stayed on the card.
    let crm: Vec<ContactFields> = {
        let mut all = Vec::new();
        for id in &ids[..5] {
            all.push(contact(&w, id).await.fields);
        }
        all
    };
    assert_eq!(crm[1].notes.as_deref(), Some("Met at the ball"), "{policy:?}");
    assert!(
        crm[2].phone_mobile.as_deref().is_some_and(|p| p.contains("7946")),
        "{policy:?}: {:?}",
        crm[2].phone_mobile
    );
    assert_eq!(crm[3].company.as_deref(), Some("Analytical Engines Ltd"), "{policy:?}");
    assert_eq!(
        crm[4].business_address.street.as_deref(),
        Some("1 Engine Way"),
        "{policy:?}"
    );
    for (i, kept) in ["Met at the ball", "7946 0000", "Analytical Engines Ltd", "1 Engine Way"]
        .iter()
        .enumerate()
    {
        let card = text(&w.item_with("contacts", &format!("ada{}@example.com", i + 1)).await);
        assert!(card.contains(kept), "{policy:?}: card {} kept {kept:?}: {card}", i + 1);
    }
    // The title both sides hold differently is a conflict, settled by the policy.
    let want = match policy {
        ConflictPolicy::GroupwareWins => "Countess",
        _ => "Analyst",
    };
    assert_eq!(crm[0].job_title.as_deref(), Some(want), "{policy:?}");
    let card = text(&w.item_with("contacts", "ada0@example.com").await);
    assert!(card.contains(&format!("TITLE:{want}")), "{policy:?}: {card}");
    let history = w
        .store
        .sync_state()
        .history("alice", Some(&ids[0]), None)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.rule == "R-EDIT-3" && e.message.contains("job_title")),
        "{policy:?}: recorded as a conflict: {history:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_reset_1_radicale_card_edits_after_a_reset_survive_under_crm_wins() {
    reset_keeps_server_edits(ConflictPolicy::CrmWins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_reset_1_radicale_card_edits_after_a_reset_survive_under_groupware_wins() {
    reset_keeps_server_edits(ConflictPolicy::GroupwareWins).await;
}
