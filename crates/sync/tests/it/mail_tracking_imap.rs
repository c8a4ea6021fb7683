//! E-mail tracking against a real Dovecot (SPEC §10, R-MAP-3, R-DEL-12/13):
//! messages placed, moved, tagged and expunged with Python's imaplib as a
//! user's mail client would, then the real runner with the IMAP connector.

use crate::mail_world;
use crmsync_connector::MailSource;
use crmsync_model::{ContactFields, EmailDirection, PartyKind};
use crmsync_sync::MailTracking;
use mail_world::{ALICE_PASSWORD, BOB_PASSWORD, MailWorld, message, subjects};

// R-TRACK-4, R-TRACK-1, R-TRACK-6, R-TRACK-8, R-TRACK-9
#[tokio::test]
async fn r_track_4_a_message_in_the_tracking_folder_becomes_one_crm_email() {
    let w = MailWorld::new().await;
    let imap = w.imap("alice", ALICE_PASSWORD);
    let profile = w.profile("alice-mail", &w.alice, imap.clone(), MailTracking::default());
    // The first run creates the missing tracking folder (R-TRACK-4).
    let first = w.run(&profile).await.unwrap();
    assert!(w.emails().await.is_empty(), "{first:?}");
    let mail = w.client("alice");
    let raw = message(
        Some("offer-1@customer.example"),
        "Carla Kunde <carla@customer.example>",
        "alice@crm.example, Lena <lena@prospect.example>",
        "=?UTF-8?Q?Angebot_f=C3=BCr_Q1?=",
        "Cc: list@customer.example\r\nContent-Type: text/plain; charset=utf-8\r\n",
        "Hello Alice, see our offer.",
    );
    let uid = mail.append("CRM", "\\Seen", &raw);

    let report = w.run(&profile).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert_eq!(mail_report.applied.get("crm create"), Some(&1), "{report:?}");
    let email = w.email_with_subject("Angebot für Q1").await;
    let f = &email.fields;
    assert_eq!(f.message_id.as_deref(), Some("offer-1@customer.example"));
    assert_eq!(email.meta.owner_id, w.alice.user_id);
    let details = f.email.as_ref().unwrap();
    assert_eq!(details.direction, EmailDirection::Incoming);
    let from = details.from.as_ref().unwrap();
    assert_eq!(
        (from.kind, from.id.as_deref()),
        (PartyKind::Contact, Some(w.contact_id.as_str()))
    );
    let to: Vec<_> = details.to.iter().map(|p| (p.kind, p.id.clone())).collect();
    assert_eq!(
        to,
        [
            (PartyKind::User, Some(w.alice.user_id.clone())),
            (PartyKind::Lead, Some(w.lead_id.clone()))
        ]
    );
    assert_eq!(
        details.cc[0].kind,
        PartyKind::Email,
        "an unknown address stays an e-mail party"
    );
    assert_eq!(details.cc[0].email.as_deref(), Some("list@customer.example"));
    assert!(details.text_body.as_deref().unwrap().contains("see our offer"));
    assert!(f.participants.iter().any(|p| p.is_user(&w.alice.user_id)));
    // R-TRACK-9: the mailbox shows it is tracked.
    assert!(
        mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"),
        "{:?}",
        mail.flags("CRM", uid)
    );

    // Fetched once: a second run changes nothing and creates nothing.
    let again = w.run(&profile).await.unwrap();
    let mail_report = again.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert!(mail_report.applied.is_empty(), "{again:?}");
    assert_eq!(w.emails().await.len(), 1);
}

// R-TRACK-4, R-TRACK-10, R-DEL-13
#[tokio::test]
async fn r_track_4_the_keyword_tracks_and_removing_it_untracks_and_keeps_the_crm_email() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let plain = mail.append(
        "INBOX",
        "",
        &message(Some("p@x"), "a@x.example", "alice@crm.example", "Untagged", "", "b"),
    );
    let tagged = mail.append(
        "INBOX",
        "",
        &message(Some("t@x"), "a@x.example", "alice@crm.example", "Tagged", "", "b"),
    );
    w.run(&profile).await.unwrap();
    assert!(w.emails().await.is_empty(), "untagged mail is never tracked");

    mail.add_keywords("INBOX", tagged, "$CRM");
    w.run(&profile).await.unwrap();
    assert_eq!(subjects(&w.emails().await), ["Tagged"]);
    assert!(!mail.flags("INBOX", plain).iter().any(|f| f == "$CRMTracked"));
    assert!(mail.flags("INBOX", tagged).iter().any(|f| f == "$CRMTracked"));

    mail.remove_keywords("INBOX", tagged, "$CRM");
    let report = w.run(&profile).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert_eq!(mail_report.applied.get("crm untrack"), Some(&1), "{report:?}");
    assert_eq!(
        subjects(&w.emails().await),
        ["Tagged"],
        "untracking keeps the CRM e-mail"
    );
    let rows = w.store.sync_state().tracked_mail("alice-mail").await.unwrap();
    assert!(!rows[0].tracked);

    // Tagging it again tracks it again: still one CRM e-mail.
    mail.add_keywords("INBOX", tagged, "$CRM");
    w.run(&profile).await.unwrap();
    assert_eq!(w.emails().await.len(), 1);
    assert!(w.store.sync_state().tracked_mail("alice-mail").await.unwrap()[0].tracked);
}

// R-TRACK-4, R-TRACK-7
#[tokio::test]
async fn r_track_4_replies_to_a_tracked_message_are_tracked_with_its_regarding() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    mail.append(
        "CRM",
        "",
        &message(
            Some("q1@c.example"),
            "carla@customer.example",
            "alice@crm.example",
            "Question",
            "",
            "?",
        ),
    );
    mail.append(
        "INBOX",
        "",
        &message(
            Some("other@c.example"),
            "x@c.example",
            "alice@crm.example",
            "Unrelated",
            "",
            "-",
        ),
    );
    w.run(&profile).await.unwrap();
    // The user sets what the conversation is regarding (R-TRACK-7).
    let question = w.email_with_subject("Question").await;
    let mut fields = question.fields.clone();
    fields.regarding = Some(crmsync_model::RecordRef {
        entity: crmsync_model::EntityKind::Contact,
        id: w.contact_id.clone(),
    });
    w.store
        .records()
        .update(&question.meta.id, question.meta.version, fields)
        .await
        .unwrap();

    let reply = message(
        Some("a1@c.example"),
        "carla@customer.example",
        "alice@crm.example",
        "Re: Question",
        "In-Reply-To: <q1@c.example>\r\nReferences: <q1@c.example>\r\n",
        "answer",
    );
    let reply_uid = mail.append("INBOX", "", &reply);
    w.run(&profile).await.unwrap();
    let mut got = subjects(&w.emails().await);
    got.sort();
    assert_eq!(
        got,
        ["Question", "Re: Question"],
        "the unrelated message stays untracked"
    );
    let tracked_reply = w.email_with_subject("Re: Question").await;
    assert_eq!(
        tracked_reply.fields.regarding.as_ref().map(|r| r.id.clone()),
        Some(w.contact_id.clone()),
        "the reply carries the conversation's regarding"
    );
    assert_eq!(
        tracked_reply.fields.email.as_ref().unwrap().in_reply_to,
        ["q1@c.example"]
    );
    assert!(mail.flags("INBOX", reply_uid).iter().any(|f| f == "$CRMTracked"));
}

// R-TRACK-6-PERM, R-PERM-1
#[tokio::test]
async fn r_track_6_perm_another_users_private_contact_or_lead_is_not_linked() {
    let w = MailWorld::new().await;
    // Carla (contact) and Lena (lead) are alice's and not shared.
    let bob = w.profile("bob-mail", &w.bob, w.imap("bob", BOB_PASSWORD), MailTracking::default());
    w.run(&bob).await.unwrap();
    let bob_mail = w.client("bob");
    let raw = message(
        Some("private-1@customer.example"),
        "Carla Kunde <carla@customer.example>",
        "bob@crm.example, lena@prospect.example",
        "Private to alice",
        "",
        "hi",
    );
    bob_mail.append("CRM", "", &raw);
    w.run(&bob).await.unwrap();
    let email = w.email_with_subject("Private to alice").await;
    let details = email.fields.email.as_ref().unwrap();
    let from = details.from.as_ref().unwrap();
    assert_eq!(
        (from.kind, from.id.as_deref(), from.email.as_deref()),
        (PartyKind::Email, None, Some("carla@customer.example")),
        "alice's private contact is not linked to bob's e-mail"
    );
    assert_eq!(
        details.to.iter().map(|p| (p.kind, p.id.clone())).collect::<Vec<_>>(),
        [(PartyKind::User, Some(w.bob.user_id.clone())), (PartyKind::Email, None)],
        "alice's private lead is not linked either"
    );

    // Once alice shares the contact, bob's next e-mail from Carla links it.
    let carla = w.store.records().get::<ContactFields>(&w.contact_id).await.unwrap();
    let mut shared = carla.fields.clone();
    shared.shared = true;
    w.store
        .records()
        .update(&w.contact_id, carla.meta.version, shared)
        .await
        .unwrap();
    let raw = message(
        Some("shared-2@customer.example"),
        "Carla Kunde <carla@customer.example>",
        "bob@crm.example",
        "Now shared",
        "",
        "hi",
    );
    bob_mail.append("CRM", "", &raw);
    w.run(&bob).await.unwrap();
    let email = w.email_with_subject("Now shared").await;
    let from = email.fields.email.as_ref().unwrap().from.clone().unwrap();
    assert_eq!(
        (from.kind, from.id.as_deref()),
        (PartyKind::Contact, Some(w.contact_id.as_str()))
    );
}

// R-TRACK-5
#[tokio::test]
async fn r_track_5_the_same_message_in_two_mailboxes_is_one_crm_email_with_both_users() {
    let w = MailWorld::new().await;
    let alice = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    let bob = w.profile("bob-mail", &w.bob, w.imap("bob", BOB_PASSWORD), MailTracking::default());
    w.run(&alice).await.unwrap();
    w.run(&bob).await.unwrap();
    let raw = message(
        Some("shared@c.example"),
        "carla@customer.example",
        "alice@crm.example, bob@crm.example",
        "For both",
        "",
        "hi",
    );
    w.client("alice").append("CRM", "", &raw);
    w.client("bob").append("CRM", "", &raw);
    w.run(&alice).await.unwrap();
    let report = w.run(&bob).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert_eq!(mail_report.applied.get("crm create"), None, "{report:?}");
    let email = w.email_with_subject("For both").await;
    for user in [&w.alice.user_id, &w.bob.user_id] {
        assert!(
            email.fields.participants.iter().any(|p| p.is_user(user)),
            "{user} participates"
        );
    }
    assert_eq!(w.emails().await.len(), 1);
}

// R-TRACK-5
#[tokio::test]
async fn r_track_5_a_uidvalidity_reset_rescans_without_a_duplicate() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let one = message(
        Some("one@x"),
        "carla@customer.example",
        "alice@crm.example",
        "One",
        "",
        "1",
    );
    let two = message(None, "carla@customer.example", "alice@crm.example", "No id", "", "2");
    mail.append("CRM", "", &one);
    mail.append("CRM", "", &two);
    w.run(&profile).await.unwrap();
    assert_eq!(w.emails().await.len(), 2);
    let before = w
        .store
        .sync_state()
        .mail_folder("alice-mail", "CRM")
        .await
        .unwrap()
        .unwrap();

    // The folder is re-created (as a server restore would): new UIDVALIDITY,
    // the same messages, one more.
    mail.delete("CRM");
    mail.create("CRM");
    mail.append("CRM", "", &one);
    mail.append("CRM", "", &two);
    mail.append(
        "CRM",
        "",
        &message(
            Some("three@x"),
            "carla@customer.example",
            "alice@crm.example",
            "Three",
            "",
            "3",
        ),
    );
    w.run(&profile).await.unwrap();
    let after = w
        .store
        .sync_state()
        .mail_folder("alice-mail", "CRM")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        before.uid_validity, after.uid_validity,
        "the test must really reset UIDVALIDITY"
    );
    let mut got = subjects(&w.emails().await);
    got.sort();
    assert_eq!(got, ["No id", "One", "Three"], "no duplicate after the reset");
    let rows = w.store.sync_state().tracked_mail("alice-mail").await.unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r.tracked && r.uid_validity == after.uid_validity),
        "{rows:?}"
    );
}

// R-TRACK-10, R-DEL-12, R-DEL-13
#[tokio::test]
async fn r_del_12_moving_out_of_the_folder_or_deleting_untracks_and_keeps_the_crm_email() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let moved = mail.append(
        "CRM",
        "",
        &message(Some("m@x"), "a@x.example", "alice@crm.example", "Moved", "", "m"),
    );
    let deleted = mail.append(
        "CRM",
        "",
        &message(Some("d@x"), "a@x.example", "alice@crm.example", "Deleted", "", "d"),
    );
    w.run(&profile).await.unwrap();
    assert_eq!(w.emails().await.len(), 2);

    mail.create("Archive");
    mail.move_to("CRM", moved, "Archive");
    mail.expunge("CRM", deleted);
    let report = w.run(&profile).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert_eq!(mail_report.applied.get("crm untrack"), Some(&2), "{report:?}");
    let mut got = subjects(&w.emails().await);
    got.sort();
    assert_eq!(got, ["Deleted", "Moved"], "deleting never propagates (R-DEL-12)");
    assert!(
        w.store
            .sync_state()
            .tracked_mail("alice-mail")
            .await
            .unwrap()
            .iter()
            .all(|r| !r.tracked)
    );

    // Deleting the CRM e-mail never deletes the message (R-TRACK-10).
    let e = w.email_with_subject("Moved").await;
    w.store
        .records()
        .delete::<crmsync_model::ActivityFields>(&e.meta.id, Some(e.meta.version))
        .await
        .unwrap();
    w.run(&profile).await.unwrap();
    assert_eq!(mail.uids("Archive").len(), 1);
}

// R-TRACK-MAIL-2 (docs/RULES.md)
#[tokio::test]
async fn r_track_mail_2_a_poll_without_changes_is_one_command_per_folder() {
    let w = MailWorld::new().await;
    let imap = w.imap("alice", ALICE_PASSWORD);
    let profile = w.profile("alice-mail", &w.alice, imap.clone(), MailTracking::default());
    w.client("alice").create("CRM");
    w.client("alice").append(
        "CRM",
        "",
        &message(Some("n@x"), "a@x.example", "alice@crm.example", "N", "", "n"),
    );
    w.run(&profile).await.unwrap();
    // This run sees crmsync's own $CRMTracked (a change of the folder).
    w.run(&profile).await.unwrap();
    let before = imap.commands_sent();
    w.run(&profile).await.unwrap();
    let folders = MailTracking::default().folders().len() as u64;
    // LOGIN and CAPABILITY (a run holds no connection in between), then one
    // STATUS per folder.
    assert_eq!(imap.commands_sent() - before, 2 + folders);
}

// R-TRACK-8
#[tokio::test]
async fn r_track_8_malformed_8bit_headers_and_a_huge_attachment_do_not_stop_the_run() {
    let w = MailWorld::new().await;
    let tracking = MailTracking {
        attachment_cap_bytes: 64 * 1024,
        ..MailTracking::default()
    };
    let profile = w.profile("alice-mail", &w.alice, w.imap("alice", ALICE_PASSWORD), tracking);
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    // Raw 8-bit UTF-8 in headers, an encoded word in the From name, a broken Date.
    let eight_bit = "Message-ID: <8bit@x>\r\nFrom: =?ISO-8859-1?Q?J=F6rg?= <joerg@x.example>\r\n\
To: alice@crm.example\r\nSubject: Grüße aus Köln\r\nDate: not a date\r\n\r\nText\r\n";
    mail.append("CRM", "", eight_bit.as_bytes());
    // A header line without a colon and no blank line before the body.
    mail.append(
        "CRM",
        "",
        b"Message-ID: <broken@x>\r\nSubject: Broken\r\nthis is not a header\r\nFrom: b@x.example\r\n",
    );
    // 3 MB attachment over the 64 KiB cap.
    let big: String = "QUJD".repeat(3 * 1024 * 1024 / 3);
    let folded: Vec<&str> = big
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let huge = format!(
        "Message-ID: <huge@x>\r\nFrom: carla@customer.example\r\nTo: alice@crm.example\r\nSubject: Huge\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n\
see attachment\r\n--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--B--\r\n",
        folded.join("\r\n")
    );
    mail.append("CRM", "", huge.as_bytes());

    let report = w.run(&profile).await.unwrap();
    let emails = w.emails().await;
    assert_eq!(emails.len(), 3, "{:?} {report:?}", subjects(&emails));
    let eight = w.email_with_subject("Grüße aus Köln").await;
    let from = eight.fields.email.as_ref().unwrap().from.as_ref().unwrap();
    assert_eq!(from.name.as_deref(), Some("Jörg"), "encoded word in the name decoded");
    w.email_with_subject("Broken").await;
    let huge = w.email_with_subject("Huge").await;
    let att = &huge.fields.email.as_ref().unwrap().attachments[0];
    assert_eq!(att.name.as_deref(), Some("big.bin"));
    assert!(
        att.skipped && att.content_base64.is_none() && att.size > 2 * 1024 * 1024,
        "{att:?}"
    );
}

// R-TRACK-MAIL-4 (docs/RULES.md)
#[tokio::test]
async fn r_track_mail_4_a_wrong_password_fails_the_run_with_a_clear_error() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", "wrong"),
        MailTracking::default(),
    );
    let err = w.run(&profile).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("authentication failed") && text.contains("alice"),
        "{text}"
    );
    assert!(!err.is_transient(), "a wrong password does not heal by retrying");
    assert!(w.emails().await.is_empty());
}

// R-TRACK-MAIL-4, R-SAFE-1
#[tokio::test]
async fn r_track_mail_4_a_server_gone_mid_run_fails_it_and_the_next_run_converges() {
    let w = MailWorld::new().await;
    let imap = w.imap("alice", ALICE_PASSWORD);
    let profile = w.profile("alice-mail", &w.alice, imap.clone(), MailTracking::default());
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    for i in 0..60 {
        mail.append(
            "CRM",
            "",
            &message(
                Some(&format!("m{i}@x")),
                "carla@customer.example",
                "alice@crm.example",
                &format!("M{i}"),
                "",
                "x",
            ),
        );
    }
    // The server goes away after the first chunk of messages was fetched.
    let stopper = StopAfterFetches::new(imap.clone(), 1);
    let stopping = w.profile("alice-mail", &w.alice, stopper.clone(), MailTracking::default());
    let run = w.run(&stopping);
    let (result, ()) = tokio::join!(run, async {
        stopper.stop_requested().await;
        w.dovecot.stop();
        stopper.resume();
    });
    let err = result.unwrap_err();
    assert!(err.is_transient(), "a lost server is worth retrying: {err}");
    let partial = w.emails().await.len();
    assert!(partial < 60, "the run stopped part way ({partial})");

    w.dovecot.restart();
    w.run(&profile).await.unwrap();
    let emails = w.emails().await;
    assert_eq!(emails.len(), 60, "every message exactly once after the re-run");
}

/// Real connector, real server: after `n` fetch calls it asks the test to
/// stop Dovecot and waits until it is down, so the next call finds it gone.
struct StopAfterFetches {
    inner: std::sync::Arc<crmsync_imap::ImapConnector>,
    left: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    fired: std::sync::atomic::AtomicBool,
    stop: std::sync::Arc<tokio::sync::Notify>,
    stopped: std::sync::Arc<tokio::sync::Notify>,
}

impl StopAfterFetches {
    fn new(inner: std::sync::Arc<crmsync_imap::ImapConnector>, n: usize) -> std::sync::Arc<Self> {
        std::sync::Arc::new(StopAfterFetches {
            inner,
            left: std::sync::Arc::new(n.into()),
            fired: false.into(),
            stop: Default::default(),
            stopped: Default::default(),
        })
    }

    async fn stop_requested(&self) {
        self.stop.notified().await;
    }

    fn resume(&self) {
        self.stopped.notify_one();
    }
}

#[async_trait::async_trait]
impl MailSource for StopAfterFetches {
    async fn ensure_folder(&self, folder: &str) -> Result<(), crmsync_connector::ConnectorError> {
        self.inner.ensure_folder(folder).await
    }
    async fn poll(
        &self,
        folder: &str,
        since: Option<&crmsync_connector::FolderPosition>,
    ) -> Result<crmsync_connector::FolderPoll, crmsync_connector::ConnectorError> {
        self.inner.poll(folder, since).await
    }
    async fn thread_headers(
        &self,
        folder: &str,
        uids: &[u64],
    ) -> Result<Vec<crmsync_connector::ThreadHeaders>, crmsync_connector::ConnectorError> {
        self.inner.thread_headers(folder, uids).await
    }
    async fn fetch(
        &self,
        folder: &str,
        uids: &[u64],
    ) -> Result<Vec<crmsync_connector::RawMessage>, crmsync_connector::ConnectorError> {
        use std::sync::atomic::Ordering;
        let before = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(1)))
            .unwrap();
        if before == 0 && !self.fired.swap(true, Ordering::SeqCst) {
            self.stop.notify_one();
            self.stopped.notified().await;
        }
        self.inner.fetch(folder, uids).await
    }
    async fn add_keyword(
        &self,
        folder: &str,
        uid: u64,
        modseq: Option<u64>,
        keyword: &str,
    ) -> Result<crmsync_connector::MarkOutcome, crmsync_connector::ConnectorError> {
        self.inner.add_keyword(folder, uid, modseq, keyword).await
    }
    async fn close(&self) {
        self.inner.close().await
    }
}

// R-TRACK-MAIL-6, R-TRACK-9, R-SAFE-1
#[tokio::test]
async fn r_track_mail_6_a_run_lost_before_the_keyword_was_set_marks_the_message_next_time() {
    let w = MailWorld::new().await;
    let imap = w.imap("alice", ALICE_PASSWORD);
    let profile = w.profile("alice-mail", &w.alice, imap.clone(), MailTracking::default());
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let uid = mail.append(
        "CRM",
        "",
        &message(
            Some("lost-mark@x"),
            "carla@customer.example",
            "alice@crm.example",
            "Lost mark",
            "",
            "x",
        ),
    );
    // The connection drops just as the keyword is to be set: the CRM
    // e-mail and its status row exist, the mailbox shows nothing.
    let losing = w.profile(
        "alice-mail",
        &w.alice,
        std::sync::Arc::new(LoseTheMark(imap.clone(), false)),
        MailTracking::default(),
    );
    assert!(w.run(&losing).await.unwrap_err().is_transient());
    assert_eq!(subjects(&w.emails().await), ["Lost mark"]);
    assert!(!mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"));

    let report = w.run(&profile).await.unwrap();
    assert!(
        mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"),
        "the next run sets the keyword: {report:?}"
    );
    assert_eq!(w.emails().await.len(), 1);
    assert!(w.store.sync_state().tracked_mail("alice-mail").await.unwrap()[0].marked);
}

// R-TRACK-MAIL-6: the STORE landed, the answer was lost (as when the
// process is killed between the two): the next run records the keyword the
// message already carries instead of leaving the row unmarked for good.
#[tokio::test]
async fn r_track_mail_6_a_keyword_set_but_not_recorded_is_recorded_next_time() {
    let w = MailWorld::new().await;
    let imap = w.imap("alice", ALICE_PASSWORD);
    let profile = w.profile("alice-mail", &w.alice, imap.clone(), MailTracking::default());
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let uid = mail.append(
        "CRM",
        "",
        &message(
            Some("lost-answer@x"),
            "carla@customer.example",
            "alice@crm.example",
            "Lost answer",
            "",
            "x",
        ),
    );
    let losing = w.profile(
        "alice-mail",
        &w.alice,
        std::sync::Arc::new(LoseTheMark(imap.clone(), true)),
        MailTracking::default(),
    );
    assert!(w.run(&losing).await.unwrap_err().is_transient());
    assert!(mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"));
    assert!(!w.store.sync_state().tracked_mail("alice-mail").await.unwrap()[0].marked);

    let report = w.run(&profile).await.unwrap();
    assert!(
        w.store.sync_state().tracked_mail("alice-mail").await.unwrap()[0].marked,
        "the next run records the keyword the message carries: {report:?}"
    );
    assert_eq!(w.emails().await.len(), 1);
}

/// The real connector, except that setting a keyword finds the connection
/// lost: before the STORE reached the server (`false`) or after it landed,
/// with the answer lost (`true`).
struct LoseTheMark(std::sync::Arc<crmsync_imap::ImapConnector>, bool);

#[async_trait::async_trait]
impl MailSource for LoseTheMark {
    async fn ensure_folder(&self, folder: &str) -> Result<(), crmsync_connector::ConnectorError> {
        self.0.ensure_folder(folder).await
    }
    async fn poll(
        &self,
        folder: &str,
        since: Option<&crmsync_connector::FolderPosition>,
    ) -> Result<crmsync_connector::FolderPoll, crmsync_connector::ConnectorError> {
        self.0.poll(folder, since).await
    }
    async fn thread_headers(
        &self,
        folder: &str,
        uids: &[u64],
    ) -> Result<Vec<crmsync_connector::ThreadHeaders>, crmsync_connector::ConnectorError> {
        self.0.thread_headers(folder, uids).await
    }
    async fn fetch(
        &self,
        folder: &str,
        uids: &[u64],
    ) -> Result<Vec<crmsync_connector::RawMessage>, crmsync_connector::ConnectorError> {
        self.0.fetch(folder, uids).await
    }
    async fn add_keyword(
        &self,
        folder: &str,
        uid: u64,
        modseq: Option<u64>,
        keyword: &str,
    ) -> Result<crmsync_connector::MarkOutcome, crmsync_connector::ConnectorError> {
        if self.1 {
            self.0.add_keyword(folder, uid, modseq, keyword).await?;
        }
        Err(crmsync_connector::ConnectorError::Unreachable {
            detail: "connection reset (test)".into(),
        })
    }
    async fn close(&self) {
        self.0.close().await
    }
}

// R-TRACK-MAIL-4, R-TRACK-MAIL-7, R-TRACK-5
#[tokio::test]
async fn r_track_mail_7_a_message_without_message_id_is_one_crm_email_and_one_without_a_header_is_quarantined() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let raw = message(
        None,
        "carla@customer.example",
        "alice@crm.example",
        "No Message-ID",
        "",
        "Sent by a script.",
    );
    mail.append("CRM", "", &raw);
    // Nothing but a body: no header at all.
    let headless = mail.append("CRM", "", b"\r\njust text, no header\r\n");

    let report = w.run(&profile).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert_eq!(
        mail_report.quarantined.keys().collect::<Vec<_>>(),
        [&format!("CRM/{headless}")],
        "{report:?}"
    );
    assert_eq!(mail_report.applied.get("crm create"), Some(&1), "{report:?}");
    let email = w.email_with_subject("No Message-ID").await;
    assert!(email.fields.message_id.is_none());

    // The same message filed again (another copy, another UID) has the same
    // key, made of its headers and text: still one CRM e-mail.
    mail.append("CRM", "", &raw);
    w.run(&profile).await.unwrap();
    assert_eq!(subjects(&w.emails().await), ["No Message-ID"]);
}

// R-WEB-19: a message a user untracked (its row `released`, as the
// dashboard's Untrack leaves it) is never tracked again: not when its
// folder is listed in full, not when it changes, not as a copy filed again.
#[tokio::test]
async fn r_web_19_a_message_a_user_untracked_is_never_tracked_again() {
    let w = MailWorld::new().await;
    let profile = w.profile(
        "alice-mail",
        &w.alice,
        w.imap("alice", ALICE_PASSWORD),
        MailTracking::default(),
    );
    w.run(&profile).await.unwrap();
    let mail = w.client("alice");
    let raw = message(Some("u@x"), "a@x.example", "alice@crm.example", "Let go", "", "b");
    let uid = mail.append("CRM", "", &raw);
    w.run(&profile).await.unwrap();
    assert_eq!(subjects(&w.emails().await), ["Let go"]);

    let state = w.store.sync_state();
    assert!(state.release_tracked_mail("alice-mail", "u@x").await.unwrap());
    assert!(
        !state.release_tracked_mail("alice-mail", "u@x").await.unwrap(),
        "a repeat changes nothing"
    );
    mail.add_keywords("CRM", uid, "$Changed");
    mail.append("CRM", "", &raw);
    state.forget_mail_folders("alice-mail").await.unwrap();
    let report = w.run(&profile).await.unwrap();
    let mail_report = report.collections.iter().find(|c| c.collection == "mail").unwrap();
    assert!(mail_report.applied.is_empty(), "{report:?}");
    let rows = state.tracked_mail("alice-mail").await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(!rows[0].tracked && rows[0].uid == u64::from(uid), "{rows:?}");
    assert!(state.released_mail_keys("alice-mail").await.unwrap().contains("u@x"));
    assert_eq!(w.emails().await.len(), 1, "the CRM e-mail is kept, never a second");
}
