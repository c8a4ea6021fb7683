//! Choosing collections and field limits as an operator does it, with the
//! real binary on a `crmsync demo` folder (real SQLite, real vdir folders):
//! `crmsync collections` (R-COL-3), a profile naming the user's own folder
//! (R-COL-1), and a connector's declared field limit (R-FIELD-6).

use std::path::Path;

use crate::support::demo::{Demo, every, items};
use crmsync_model::ContactFields;

/// A folder the user's phone already syncs: `personal`, shown as "Personal",
/// holding one card of the user's own.
fn users_own_address_book(root: &Path) {
    let book = root.join("personal");
    std::fs::create_dir_all(&book).unwrap();
    std::fs::write(book.join("displayname"), "Personal").unwrap();
    std::fs::write(
        book.join("own-1.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:own-1\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEND:VCARD\r\n",
    )
    .unwrap();
}

/// Adds a profile for alice on `mailboxes/<name>` with extra connector keys.
fn add_profile(demo: &Demo, name: &str, connector_keys: &str) {
    let config = demo.dir.join("crmsync.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[profile]]\nname = \"{name}\"\nuser = \"alice\"\n\
         connector = {{ kind = \"vdir\", root = \"mailboxes/{name}\"{connector_keys} }}\n"
    ));
    std::fs::write(&config, text).unwrap();
}

// R-COL-3: the listing shows every folder with its kind, the calendars'
// components, and which class uses which, as text and as JSON.
#[test]
fn r_col_3_collections_lists_the_vdir_folders_and_which_class_uses_which() {
    let demo = Demo::new();
    users_own_address_book(&demo.dir.join("mailboxes/alice"));
    let text = demo.ok(&["collections", "--profile", "alice"]);
    assert!(text.contains("profile alice: 4 collection(s) in the mailbox"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("personal") && l.contains("\"Personal\"") && l.contains("address book")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("contacts ") && l.contains("<- used for contacts")),
        "{text}"
    );
    assert!(text.contains("calendar (VEVENT)"), "{text}");

    let json = demo.json(&["collections", "--profile", "alice"]);
    let all = json["collections"].as_array().unwrap();
    let personal = all.iter().find(|c| c["href"] == "personal").expect("personal listed");
    assert_eq!(personal["kind"], "address-book");
    assert_eq!(personal["display_name"], "Personal");
    assert_eq!(personal["used_for"], serde_json::json!([]));
    let tasks = all.iter().find(|c| c["href"] == "tasks").unwrap();
    assert_eq!(tasks["components"], serde_json::json!(["VTODO"]));
    assert_eq!(tasks["used_for"], serde_json::json!(["tasks"]));
    assert_eq!(json["classes"][0]["class"], "contacts");
    assert_eq!(json["classes"][0]["href"], "contacts");
    assert!(json["classes"][0]["chosen"].is_null());
}

// R-COL-1, R-COL-2: a profile names the user's own folder by display name;
// a wrong name fails, naming what exists, and writes nothing; fixed, the sync
// writes into the user's folder and makes no `contacts` folder of its own.
#[test]
fn r_col_1_a_named_folder_is_used_and_a_wrong_name_writes_nothing() {
    let demo = Demo::new();
    let root = demo.dir.join("mailboxes/phone");
    users_own_address_book(&root);
    add_profile(
        &demo,
        "phone",
        ", collections = { contacts = \"Personal\", calendar = \"Work\" }",
    );
    let err = demo.fails(&["sync", "--profile", "phone"]);
    assert!(
        err.contains("collections.calendar = `Work`: no such collection"),
        "{err}"
    );
    assert!(err.contains("crmsync collections --profile phone"), "{err}");
    let folders = |root: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(folders(&root), vec!["personal"], "nothing was created");
    assert_eq!(items(&root.join("personal"), "vcf").len(), 1, "nothing was written");

    // Fixed: the calendar is crmsync's own (R-COL-2), contacts go to Personal.
    let config = demo.dir.join("crmsync.toml");
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(", calendar = \"Work\"", "");
    std::fs::write(&config, text).unwrap();
    demo.ok(&["sync", "--profile", "phone"]);
    assert!(
        items(&root.join("personal"), "vcf").len() > 1,
        "alice's contacts are in Personal"
    );
    assert!(!root.join("contacts").exists(), "no contacts folder of crmsync's own");
    assert!(root.join("calendar").exists() && root.join("tasks").exists());
    let json = demo.json(&["collections", "--profile", "phone"]);
    assert_eq!(json["classes"][0]["chosen"], "Personal");
    assert_eq!(json["classes"][0]["href"], "personal");
}

// R-FIELD-6, R-LIMIT-1: the connector declares the server's limit, the profile inherits
// it: the card holds the cut value, the CRM keeps the whole one, and the run
// report and the record's history say so.
#[tokio::test(flavor = "multi_thread")]
async fn r_field_6_a_connector_limit_cuts_the_card_keeps_the_crm_value_and_says_so() {
    let demo = Demo::new();
    add_profile(&demo, "short", ", field_limits = { contacts = { company = 8 } }");
    let report = demo.ok(&["sync", "--profile", "short"]);
    assert!(
        report.contains("warning (R-FIELD-6): company is longer than the connector allows"),
        "{report}"
    );
    let store = demo.store().await;
    let contacts = every::<ContactFields>(&store).await;
    let long = contacts
        .iter()
        .find(|c| c.fields.company.as_deref() == Some("Analytical Engines Ltd"))
        .expect("a demo contact of Analytical Engines Ltd");
    let cards = items(&demo.dir.join("mailboxes/short/contacts"), "vcf");
    let card = cards
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|t| t.contains(&long.meta.id))
        .expect("the contact's card");
    assert!(
        card.contains("ORG:Analytic\r\n") || card.contains("ORG:Analytic;"),
        "{card}"
    );
    assert!(!card.contains("Analytical Engines"), "{card}");

    // The cut value coming back is no edit: the CRM keeps the whole name.
    let again = demo.ok(&["sync", "--profile", "short"]);
    assert!(!again.contains("crm update"), "{again}");
    let kept = store.records().get::<ContactFields>(&long.meta.id).await.unwrap();
    assert_eq!(kept.fields.company.as_deref(), Some("Analytical Engines Ltd"));
    let why = demo.ok(&["explain", "--profile", "short", "--record", &long.meta.id]);
    assert!(
        why.contains("warning (R-FIELD-6): company is longer than the connector allows"),
        "{why}"
    );
}
