//! The README's IMAP profile, end to end: the real `crmsync` binary with a
//! config file naming `kind = "imap"` (password from the environment) against
//! a real Dovecot, a message placed in the tracking folder with imaplib.

use std::process::Output;

use crmsync_model::{ActivityFields, ActivityKind, ContactFields, PartyKind};
use crmsync_store::{ListQuery, MAX_PAGE, Store};
use crmsync_testkit::Dovecot;

fn crmsync(config: &str, args: &[&str]) -> Output {
    crate::support::crmsync_command()
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ANNA_IMAP_PASSWORD", "anna-pw")
        .output()
        .expect("crmsync runs")
}

fn ok(config: &str, args: &[&str]) -> String {
    let out = crmsync(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// R-TRACK-1, R-TRACK-4, R-CFG-SPEC-1
#[tokio::test]
async fn r_track_1_an_imap_profile_in_the_config_file_tracks_the_crm_folder() {
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("crm.db");
    let config = tmp.path().join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[[profile]]\nname = \"anna-mail\"\nuser = \"anna\"\n\
             connector = {{ kind = \"imap\", host = \"127.0.0.1\", port = {}, tls = \"none\", username = \"anna\", \
             password = {{ env = \"ANNA_IMAP_PASSWORD\" }} }}\n",
            db.display(),
            dovecot.port
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    ok(config, &["migrate"]);
    ok(config, &["user", "add", "anna", "--email", "anna@crm.example"]);
    // The first run creates the tracking folder CRM.
    ok(config, &["sync"]);
    let mail = dovecot.client("anna");
    let uid = mail.append(
        "CRM",
        "",
        b"Message-ID: <cli-1@customer.example>\r\nFrom: carla@customer.example\r\nTo: anna@crm.example\r\n\
Subject: Tracked from Thunderbird\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nHello\r\n",
    );
    ok(config, &["sync"]);
    assert!(mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"));

    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let emails: Vec<_> = store
        .records()
        .list::<ActivityFields>(&ListQuery {
            limit: MAX_PAGE,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|a| a.fields.kind == ActivityKind::Email)
        .collect();
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].fields.subject, "Tracked from Thunderbird");
}

// R-PROFILE-MAIL-1, R-TRACK-1, R-TRACK-6
#[tokio::test]
async fn r_profile_mail_1_one_profile_syncs_contacts_to_vdir_and_tracks_mail_in_one_run() {
    let dovecot = Dovecot::start(&[("anna", "anna-pw")]);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("crm.db");
    let root = tmp.path().join("anna-vdir");
    let config = tmp.path().join("crmsync.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[[profile]]\nname = \"anna\"\nuser = \"anna\"\n\
             connector = {{ kind = \"vdir\", root = \"{}\" }}\n\
             mail = {{ kind = \"imap\", host = \"127.0.0.1\", port = {}, tls = \"none\", username = \"anna\", \
             password = {{ env = \"ANNA_IMAP_PASSWORD\" }} }}\n",
            db.display(),
            root.display(),
            dovecot.port
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    ok(config, &["migrate"]);
    ok(config, &["user", "add", "anna", "--email", "anna@crm.example"]);
    let store = Store::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let anna = store.records().users_by_email("anna@crm.example").await.unwrap()[0].clone();
    let carla = ContactFields {
        first_name: Some("Carla".into()),
        last_name: Some("Kunde".into()),
        email1: Some("carla@customer.example".into()),
        ..ContactFields::default()
    };
    let carla = store.records().create(&anna.meta.id, carla).await.unwrap();
    // The tracking folder exists before the first run (Thunderbird made it).
    let mail = dovecot.client("anna");
    mail.create("CRM");
    let uid = mail.append(
        "CRM",
        "",
        b"Message-ID: <both-1@customer.example>\r\nFrom: Carla <carla@customer.example>\r\nTo: anna@crm.example\r\n\
Subject: Order confirmed\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nThanks\r\n",
    );

    // One run: the contact goes to the vdir, the message becomes a CRM e-mail.
    ok(config, &["sync"]);
    let files = |dir: &str, ext: &str| -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    };
    let cards = files("contacts", "vcf");
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert!(cards[0].contains("carla@customer.example"), "{}", cards[0]);
    assert!(mail.flags("CRM", uid).iter().any(|f| f == "$CRMTracked"));
    let emails: Vec<_> = store
        .records()
        .list::<ActivityFields>(&ListQuery {
            limit: MAX_PAGE,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|a| a.fields.kind == ActivityKind::Email)
        .collect();
    assert_eq!(emails.len(), 1);
    let from = emails[0].fields.email.as_ref().unwrap().from.clone().unwrap();
    assert_eq!((from.kind, from.id), (PartyKind::Contact, Some(carla.meta.id.clone())));
    // E-mails never travel to the calendar, on a later run either.
    ok(config, &["sync"]);
    assert_eq!(
        files("calendar", "ics"),
        Vec::<String>::new(),
        "an e-mail activity is no event"
    );
    assert_eq!(files("tasks", "ics"), Vec::<String>::new(), "nor a task");
}
