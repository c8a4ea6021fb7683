//! The known-contact trigger, the never-track list (R-TRACK-4) and unknown
//! senders becoming contacts or leads (R-TRACK-2), against a real Dovecot
//! with messages placed by Python's imaplib.

use crate::mail_world;
use crmsync_model::{ContactFields, PartyKind};
use crmsync_sync::{MailTracking, RunReport, UnknownSender};
use mail_world::{ALICE_PASSWORD, BOB_PASSWORD, MailWorld, message, subjects};

fn applied(report: &RunReport, what: &str) -> Option<usize> {
    let mail = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    mail.applied.get(what).copied()
}

async fn sorted_subjects(w: &MailWorld) -> Vec<String> {
    let mut got = subjects(&w.emails().await);
    got.sort();
    got
}

// R-TRACK-4, R-TRACK-6-PERM, R-TRACK-MAIL-3
#[tokio::test]
async fn r_track_4_known_contacts_tracks_new_mail_to_or_from_readable_contacts_and_leads() {
    let w = MailWorld::new().await;
    // Bob's private contact: alice may not read it, so it is no known contact of hers.
    let bobs = ContactFields {
        last_name: Some("Geheim".into()),
        email1: Some("secret@bobs.example".into()),
        ..ContactFields::default()
    };
    w.store.records().create(&w.bob.user_id, bobs).await.unwrap();
    let tracking = MailTracking {
        known_contacts: true,
        ..MailTracking::default()
    };
    let profile = w.profile("alice-mail", &w.alice, w.imap("alice", ALICE_PASSWORD), tracking);
    let mail = w.client("alice");
    // Mail from before the first run is history: not searched (R-TRACK-MAIL-3).
    mail.append(
        "INBOX",
        "",
        &message(
            Some("old@c.example"),
            "carla@customer.example",
            "alice@crm.example",
            "Old",
            "",
            "-",
        ),
    );
    w.run(&profile).await.unwrap();
    assert!(w.emails().await.is_empty());

    let from_contact = mail.append(
        "INBOX",
        "",
        &message(
            Some("k1@c.example"),
            "Carla <carla@customer.example>",
            "alice@crm.example",
            "From Carla",
            "",
            "-",
        ),
    );
    mail.append(
        "INBOX",
        "",
        &message(
            Some("k2@c.example"),
            "alice@crm.example",
            "Lena <LENA@prospect.example>",
            "To Lena",
            "",
            "-",
        ),
    );
    mail.append(
        "INBOX",
        "",
        &message(
            Some("k3@c.example"),
            "stranger@else.example",
            "alice@crm.example",
            "Stranger",
            "",
            "-",
        ),
    );
    mail.append(
        "INBOX",
        "",
        &message(
            Some("k4@c.example"),
            "secret@bobs.example",
            "alice@crm.example",
            "Bobs contact",
            "",
            "-",
        ),
    );
    let report = w.run(&profile).await.unwrap();
    assert_eq!(applied(&report, "crm create"), Some(2), "{report:?}");
    assert_eq!(sorted_subjects(&w).await, ["From Carla", "To Lena"]);
    let rows = w.store.sync_state().tracked_mail("alice-mail").await.unwrap();
    assert!(rows.iter().all(|r| r.trigger == "contact"), "{rows:?}");
    assert!(mail.flags("INBOX", from_contact).iter().any(|f| f == "$CRMTracked"));

    // Off (the default), the same mail is not tracked.
    let bob = w.profile("bob-mail", &w.bob, w.imap("bob", BOB_PASSWORD), MailTracking::default());
    w.run(&bob).await.unwrap();
    w.client("bob").append(
        "INBOX",
        "",
        &message(
            Some("b1@c.example"),
            "secret@bobs.example",
            "bob@crm.example",
            "To Bob",
            "",
            "-",
        ),
    );
    w.run(&bob).await.unwrap();
    assert_eq!(w.emails().await.len(), 2, "known_contacts is off by default");
}

// R-TRACK-4
#[tokio::test]
async fn r_track_4_the_never_track_list_wins_over_every_trigger() {
    let w = MailWorld::new().await;
    let tracking = MailTracking {
        known_contacts: true,
        never_track: vec!["private.example".into(), "ceo@customer.example".into()],
        ..MailTracking::default()
    };
    let profile = w.profile("alice-mail", &w.alice, w.imap("alice", ALICE_PASSWORD), tracking);
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let kept = mail.append(
        "CRM",
        "",
        &message(
            Some("ok@c.example"),
            "carla@customer.example",
            "alice@crm.example",
            "Tracked",
            "",
            "-",
        ),
    );
    // Folder trigger, a never-track address in Cc.
    let in_folder = mail.append(
        "CRM",
        "",
        &message(
            Some("n1@c.example"),
            "carla@customer.example",
            "alice@crm.example",
            "Folder but CEO",
            "Cc: CEO@customer.example\r\n",
            "-",
        ),
    );
    // Keyword trigger, a sender of a never-track subdomain.
    let tagged = mail.append(
        "INBOX",
        "$CRM",
        &message(
            Some("n2@c.example"),
            "me@mail.private.example",
            "alice@crm.example",
            "Tagged private",
            "",
            "-",
        ),
    );
    // Known-contact trigger, a never-track domain in To.
    mail.append(
        "INBOX",
        "",
        &message(
            Some("n3@c.example"),
            "carla@customer.example",
            "alice@crm.example, friend@private.example",
            "Known but private",
            "",
            "-",
        ),
    );
    let report = w.run(&profile).await.unwrap();
    assert_eq!(sorted_subjects(&w).await, ["Tracked"], "{report:?}");
    assert_eq!(applied(&report, "skip never-track"), Some(2), "{report:?}");
    assert!(mail.flags("CRM", kept).iter().any(|f| f == "$CRMTracked"));
    assert!(!mail.flags("CRM", in_folder).iter().any(|f| f == "$CRMTracked"));
    assert!(!mail.flags("INBOX", tagged).iter().any(|f| f == "$CRMTracked"));

    // Reply trigger: a reply to the tracked message, copied to the CEO.
    mail.append(
        "INBOX",
        "",
        &message(
            Some("n4@c.example"),
            "carla@customer.example",
            "alice@crm.example",
            "Re: Tracked",
            "Cc: ceo@customer.example\r\nIn-Reply-To: <ok@c.example>\r\n",
            "-",
        ),
    );
    w.run(&profile).await.unwrap();
    assert_eq!(sorted_subjects(&w).await, ["Tracked"]);
    let rows = w.store.sync_state().tracked_mail("alice-mail").await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
}

// R-TRACK-2, R-TRACK-5, R-EXPLAIN-1
#[tokio::test]
async fn r_track_2_an_unknown_sender_becomes_one_contact_owned_by_the_tracking_user() {
    let w = MailWorld::new().await;
    let tracking = MailTracking {
        unknown_sender: UnknownSender::Contact,
        ..MailTracking::default()
    };
    let alice = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        tracking.clone(),
    );
    let bob = w.profile("bob-mail", &w.bob, w.imap("bob", BOB_PASSWORD), tracking);
    w.run(&alice).await.unwrap();
    w.run(&bob).await.unwrap();
    let shared = message(
        Some("new-1@newco.example"),
        "Nina Neu <nina@newco.example>",
        "alice@crm.example, bob@crm.example",
        "Hello from Newco",
        "",
        "-",
    );
    w.client("alice").append("CRM", "", &shared);
    w.client("bob").append("CRM", "", &shared);
    // Both profiles track the shared message at once: one contact.
    let (a, b) = tokio::join!(w.run(&alice), w.run(&bob));
    let (a, b) = (a.unwrap(), b.unwrap());
    let made = applied(&a, "crm create contact").unwrap_or(0) + applied(&b, "crm create contact").unwrap_or(0);
    assert_eq!(made, 1, "{a:?} {b:?}");
    let contacts = w.store.records().contacts_by_email("nina@newco.example").await.unwrap();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let nina = &contacts[0];
    assert_eq!(
        (nina.fields.first_name.as_deref(), nina.fields.last_name.as_deref()),
        (Some("Nina"), Some("Neu"))
    );
    let email = w.email_with_subject("Hello from Newco").await;
    let from = email.fields.email.as_ref().unwrap().from.clone().unwrap();
    assert_eq!(
        (from.kind, from.id.as_deref()),
        (PartyKind::Contact, Some(nina.meta.id.as_str()))
    );
    assert!(
        email
            .fields
            .participants
            .iter()
            .any(|p| p.party.id.as_deref() == Some(nina.meta.id.as_str()))
    );
    // Owned by whoever tracked the message first, and the history says so.
    let (owner_profile, owner, owner_user) = if applied(&a, "crm create contact") == Some(1) {
        (&alice, "alice", &w.alice)
    } else {
        (&bob, "bob", &w.bob)
    };
    assert_eq!(nina.meta.owner_id, owner_user.user_id);
    let history = w
        .store
        .sync_state()
        .history(&owner_profile.name, Some(&nina.meta.id), None)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.rule == "R-TRACK-2" && h.action == "crm create"),
        "{history:?}"
    );

    // The owner's next e-mail from Nina links her; a new sender with two
    // messages in one run makes one contact; a known sender and an
    // outgoing message make none.
    let mail = w.client(owner);
    let batch = [
        message(
            Some("new-2@newco.example"),
            "NINA@newco.example",
            "x@crm.example",
            "Again Nina",
            "",
            "-",
        ),
        message(
            Some("o1@newco.example"),
            "Otto <otto@newco.example>",
            "x@crm.example",
            "Otto one",
            "",
            "1",
        ),
        message(
            Some("o2@newco.example"),
            "Otto <otto@newco.example>",
            "x@crm.example",
            "Otto two",
            "",
            "2",
        ),
        message(
            Some("kn@c.example"),
            "carla@customer.example",
            "x@crm.example",
            "Known",
            "",
            "-",
        ),
        message(
            Some("out@c.example"),
            &format!("{owner}@crm.example"),
            "z@newco.example",
            "Outgoing",
            "",
            "-",
        ),
    ];
    for raw in &batch {
        mail.append("CRM", "", raw);
    }
    let report = w.run(owner_profile).await.unwrap();
    // Carla is alice's private contact. To bob she is unknown
    // (R-TRACK-6-PERM), so when bob owns the thread his run makes her a
    // contact of his own; which profile tracked first is a race.
    let carla_unknown = owner == "bob";
    assert_eq!(
        applied(&report, "crm create contact"),
        Some(1 + usize::from(carla_unknown)),
        "{report:?}"
    );
    assert_eq!(
        w.store
            .records()
            .contacts_by_email("nina@newco.example")
            .await
            .unwrap()
            .len(),
        1
    );
    let otto = w.store.records().contacts_by_email("otto@newco.example").await.unwrap();
    assert_eq!(otto.len(), 1, "{otto:?}");
    for (subject, id) in [
        ("Again Nina", &nina.meta.id),
        ("Otto one", &otto[0].meta.id),
        ("Otto two", &otto[0].meta.id),
    ] {
        let from = w.email_with_subject(subject).await.fields.email.unwrap().from.unwrap();
        assert_eq!(
            (from.kind, from.id.as_ref()),
            (PartyKind::Contact, Some(id)),
            "{subject}"
        );
    }
    assert!(
        w.store
            .records()
            .contacts_by_email("z@newco.example")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        w.store
            .records()
            .contacts_by_email("carla@customer.example")
            .await
            .unwrap()
            .len(),
        1 + usize::from(carla_unknown)
    );
}

// R-TRACK-2
#[tokio::test]
async fn r_track_2_the_setting_says_lead_and_off_makes_nothing() {
    let w = MailWorld::new().await;
    let lead = MailTracking {
        unknown_sender: UnknownSender::Lead,
        ..MailTracking::default()
    };
    let alice = w.profile("alice-mail", &w.alice, w.imap("alice", ALICE_PASSWORD), lead);
    let bob = w.profile("bob-mail", &w.bob, w.imap("bob", BOB_PASSWORD), MailTracking::default());
    w.run(&alice).await.unwrap();
    w.run(&bob).await.unwrap();
    let raw = |id: &str, from: &str| message(Some(id), from, "someone@crm.example", "Enquiry", "", "-");
    w.client("alice")
        .append("CRM", "", &raw("l1@p.example", "Piet <piet@prospect2.example>"));
    w.client("bob")
        .append("CRM", "", &raw("l2@p.example", "Olga <olga@prospect3.example>"));
    w.run(&alice).await.unwrap();
    w.run(&bob).await.unwrap();
    let leads = w
        .store
        .records()
        .leads_by_email("piet@prospect2.example")
        .await
        .unwrap();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0].meta.owner_id, w.alice.user_id);
    assert!(
        w.store
            .records()
            .contacts_by_email("piet@prospect2.example")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        w.store
            .records()
            .leads_by_email("olga@prospect3.example")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        w.store
            .records()
            .contacts_by_email("olga@prospect3.example")
            .await
            .unwrap()
            .is_empty()
    );
}
