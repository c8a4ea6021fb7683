//! Interoperability: khard, a real vdir client no one here wrote, reads the
//! contacts the vdir connector writes. CI must `pip install khard`; without it
//! this test fails on purpose rather than skipping and hiding a regression.

use std::path::Path;
use std::process::Command;

use crmsync_connector::{CollectionKind, Connector};
use crmsync_vdir::{TEMP_FILE_PREFIX, VdirConfig, VdirConnector};

fn khard(config: &Path, home: &Path, args: &[&str]) -> String {
    let output = Command::new("khard")
        .arg("-c")
        .arg(config)
        .args(args)
        // khard may look for caches and its config under HOME/XDG dirs.
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .output()
        .unwrap_or_else(|e| panic!("khard could not be run ({e}): pip install khard (CI must install it)"));
    assert!(
        output.status.success(),
        "khard {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("khard prints UTF-8")
}

fn card(uid: &str, given: &str, family: &str, email: &str) -> Vec<u8> {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{given} {family}\r\nN:{family};{given};;;\r\nEMAIL;TYPE=WORK:{email}\r\nEND:VCARD\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn khard_lists_contacts_written_through_the_vdir_connector() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("vdir");
    std::fs::create_dir(&root).unwrap();
    let vdir = VdirConnector::open(&VdirConfig::new(root.clone())).unwrap();
    let book = vdir
        .ensure_collection(CollectionKind::Contacts, "CRM contacts")
        .await
        .unwrap();

    let ada = vdir
        .create(
            &book.id,
            "crm/contact/1",
            &card("crm/contact/1", "Ada", "Lovelace", "ada@example.org"),
        )
        .await
        .unwrap();
    vdir.create(
        &book.id,
        "Jürgen@例え",
        &card("Jürgen@例え", "Jürgen", "Ünal", "j@example.org"),
    )
    .await
    .unwrap();
    // An update and a crash leftover must not confuse a reader either.
    vdir.update(
        &book.id,
        &ada.href,
        &ada.etag,
        &card("crm/contact/1", "Ada", "King", "ada@example.org"),
    )
    .await
    .unwrap();
    let folder = root.join(book.id.as_str());
    std::fs::write(folder.join(format!("{TEMP_FILE_PREFIX}x.part")), "BEGIN:VCARD\r\n").unwrap();

    let config = tmp.path().join("khard.conf");
    std::fs::write(
        &config,
        format!(
            "[addressbooks]\n[[crm]]\npath = {}\n\n[general]\ndefault_action = list\neditor = true\nmerge_editor = true\n",
            folder.display()
        ),
    )
    .unwrap();

    let listing = khard(&config, tmp.path(), &["list", "--parsable"]);
    let mut rows: Vec<Vec<&str>> = listing.lines().map(|l| l.split('\t').collect()).collect();
    rows.sort();
    assert_eq!(
        rows,
        vec![
            vec!["Jürgen@例え", "Jürgen Ünal", "crm"],
            vec!["crm/contact/1", "Ada King", "crm"],
        ],
        "khard must see exactly the two contacts, with the update and the original UIDs"
    );
    let emails = khard(&config, tmp.path(), &["email", "--parsable", "King"]);
    assert!(emails.contains("ada@example.org"), "{emails}");
}
