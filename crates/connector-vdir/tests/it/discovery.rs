//! Finding collections in a vdir root and creating them.

use std::fs;

use crmsync_connector::{CollectionKind, Connector, ConnectorError, ContentType, VCardVersion};
use crmsync_vdir::{KIND_MARKER, VdirConfig, VdirConnector};

fn open(root: &std::path::Path) -> VdirConnector {
    VdirConnector::open(&VdirConfig::new(root.to_owned())).unwrap()
}

#[tokio::test]
async fn folders_written_by_other_tools_are_discovered_with_their_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for dir in ["book", "cal", "todo", "mixed", "empty", ".hidden"] {
        fs::create_dir(root.join(dir)).unwrap();
    }
    fs::write(
        root.join("book/a.vcf"),
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n",
    )
    .unwrap();
    fs::write(root.join("book/displayname"), "Private contacts\n").unwrap();
    fs::write(
        root.join("cal/e.ics"),
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    fs::write(
        root.join("todo/t.ics"),
        "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    fs::write(
        root.join("mixed/e.ics"),
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    fs::write(
        root.join("mixed/t.ics"),
        "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nEND:VTODO\r\nEND:VCALENDAR\r\n",
    )
    .unwrap();
    fs::write(root.join(".hidden/x.vcf"), "BEGIN:VCARD\r\nEND:VCARD\r\n").unwrap();
    fs::write(root.join("stray.vcf"), "BEGIN:VCARD\r\nEND:VCARD\r\n").unwrap();

    let found = open(root).discover().await.unwrap();
    let summary: Vec<(&str, CollectionKind, &str)> = found
        .iter()
        .map(|c| (c.id.as_str(), c.kind, c.display_name.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("book", CollectionKind::Contacts, "Private contacts"),
            ("cal", CollectionKind::Events, "cal"),
            ("mixed", CollectionKind::EventsAndTasks, "mixed"),
            ("todo", CollectionKind::Tasks, "todo"),
        ],
        "hidden and empty unmarked folders and loose files are not collections"
    );
    assert_eq!(found[0].vcard_version, Some(VCardVersion::V4));
    assert_eq!(found[0].content_type, ContentType::VCard);
    assert_eq!(found[1].content_type, ContentType::ICalendar);
}

#[tokio::test]
async fn ensure_collection_creates_marks_and_reuses_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let vdir = open(tmp.path());
    let created = vdir
        .ensure_collection(CollectionKind::Tasks, "CRM tasks/2025")
        .await
        .unwrap();
    assert_eq!(
        created.id.as_str(),
        "CRM%20tasks%2F2025",
        "the name is escaped into one folder"
    );
    assert_eq!(
        created.display_name, "CRM tasks/2025",
        "displayname keeps the real name"
    );
    assert_eq!(created.kind, CollectionKind::Tasks);
    let dir = tmp.path().join(created.id.as_str());
    assert_eq!(fs::read_to_string(dir.join(KIND_MARKER)).unwrap(), "tasks");

    // Even empty, the marked folder is discovered with its kind.
    assert_eq!(vdir.discover().await.unwrap(), vec![created.clone()]);
    assert_eq!(
        vdir.ensure_collection(CollectionKind::Tasks, "CRM tasks/2025")
            .await
            .unwrap(),
        created
    );
    let wrong = vdir.ensure_collection(CollectionKind::Contacts, "CRM tasks/2025").await;
    assert!(matches!(wrong, Err(ConnectorError::KindMismatch { .. })), "{wrong:?}");

    // New items in a tasks folder are .ics files.
    let meta = vdir
        .create(&created.id, "t1", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
        .await
        .unwrap();
    assert_eq!(meta.href.as_str(), "t1.ics");
}

#[tokio::test]
async fn an_existing_khard_folder_is_adopted_without_rewriting_it() {
    let tmp = tempfile::tempdir().unwrap();
    let book = tmp.path().join("family");
    fs::create_dir(&book).unwrap();
    fs::write(
        book.join("x.vcf"),
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n",
    )
    .unwrap();
    let vdir = open(tmp.path());
    let c = vdir
        .ensure_collection(CollectionKind::Contacts, "family")
        .await
        .unwrap();
    assert_eq!(
        (c.kind, c.vcard_version),
        (CollectionKind::Contacts, Some(VCardVersion::V3))
    );
    assert!(!book.join(KIND_MARKER).exists(), "a folder with items keeps its layout");
    let meta = vdir.create(&c.id, "y", b"BEGIN:VCARD\r\nEND:VCARD\r\n").await.unwrap();
    assert_eq!(meta.href.as_str(), "y.vcf", "the extension follows the folder's items");
}

#[tokio::test]
async fn an_empty_unmarked_folder_refuses_creates_until_ensured() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("blank")).unwrap();
    let vdir = open(tmp.path());
    let id = crmsync_connector::CollectionId::new("blank");
    let err = vdir.create(&id, "x", b"data").await.unwrap_err();
    assert!(matches!(err, ConnectorError::Unsupported { .. }), "{err:?}");
    vdir.ensure_collection(CollectionKind::Events, "blank").await.unwrap();
    assert_eq!(vdir.create(&id, "x", b"data").await.unwrap().href.as_str(), "x.ics");
}
