//! Other programs (editors, khard, vdirsyncer) edit the same folder: their
//! changes must show up, and a conditional write must never overwrite them.

use crate::common;
use std::fs;

use common::{contacts_fixture, file_names};
use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{Connector, ConnectorError, Href};

// R-EDIT-1: an edit made by an editor shows up as a change at the next sync.
#[tokio::test]
async fn a_file_edited_by_another_program_shows_up_as_a_change() {
    let f = contacts_fixture().await;
    let meta = f
        .vdir
        .create(&f.collection, "ed", &sample_vcard("ed", "Before"))
        .await
        .unwrap();
    let first = f.vdir.changes(&f.collection, None).await.unwrap();

    let idle = f.vdir.changes(&f.collection, Some(&first.new_token)).await.unwrap();
    assert!(
        !idle.complete && idle.changed.is_empty(),
        "no change, no work: {idle:?}"
    );

    // Same length, as a quick typo fix in an editor would be.
    let edited = sample_vcard("ed", "Befor3");
    assert_eq!(edited.len(), sample_vcard("ed", "Before").len());
    fs::write(f.dir.join(meta.href.as_str()), &edited).unwrap();
    fs::write(f.dir.join("by-editor.vcf"), sample_vcard("by-editor", "New")).unwrap();

    let after = f.vdir.changes(&f.collection, Some(&first.new_token)).await.unwrap();
    assert_ne!(after.new_token, first.new_token);
    assert!(after.complete);
    let edited_meta = after
        .changed
        .iter()
        .find(|i| i.href == meta.href)
        .expect("still listed");
    assert_ne!(edited_meta.etag, meta.etag, "the edit must change the ETag");
    assert!(after.changed.iter().any(|i| i.href.as_str() == "by-editor.vcf"));
    let fetched = f
        .vdir
        .get_many(&f.collection, std::slice::from_ref(&meta.href))
        .await
        .unwrap();
    assert_eq!(fetched.found[0].body, edited);
    assert_eq!(fetched.found[0].etag, edited_meta.etag);
}

// R-SAFE-2: an edit between listing and update makes the update fail instead
// of overwriting it, and the edit survives.
#[tokio::test]
async fn an_edit_between_listing_and_update_is_precondition_failed() {
    let f = contacts_fixture().await;
    f.vdir
        .create(&f.collection, "race", &sample_vcard("race", "Old"))
        .await
        .unwrap();
    let listed = f.vdir.changes(&f.collection, None).await.unwrap().changed.remove(0);

    let theirs = sample_vcard("race", "Edited in khard");
    fs::write(f.dir.join(listed.href.as_str()), &theirs).unwrap();

    let err = f
        .vdir
        .update(&f.collection, &listed.href, &listed.etag, &sample_vcard("race", "Ours"))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::PreconditionFailed { .. }), "{err:?}");
    let err = f
        .vdir
        .delete(&f.collection, &listed.href, &listed.etag)
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectorError::PreconditionFailed { .. }), "{err:?}");
    assert_eq!(fs::read(f.dir.join(listed.href.as_str())).unwrap(), theirs);
}

// R-DEL-10 input: a file deleted by another program disappears from the listing.
#[tokio::test]
async fn a_file_deleted_by_another_program_disappears_from_the_listing() {
    let f = contacts_fixture().await;
    let a = f
        .vdir
        .create(&f.collection, "a", &sample_vcard("a", "A"))
        .await
        .unwrap();
    let b = f
        .vdir
        .create(&f.collection, "b", &sample_vcard("b", "B"))
        .await
        .unwrap();
    let token = f.vdir.changes(&f.collection, None).await.unwrap().new_token;
    fs::remove_file(f.dir.join(b.href.as_str())).unwrap();
    let after = f.vdir.changes(&f.collection, Some(&token)).await.unwrap();
    assert!(after.complete);
    assert_eq!(after.changed, vec![a]);
    let gone = f.vdir.delete(&f.collection, &b.href, &b.etag).await;
    assert!(matches!(gone, Err(ConnectorError::NotFound { .. })), "{gone:?}");
}

// R-SAFE-4: bytes that are not UTF-8 (or not a vCard at all) come back as
// stored, for the caller to quarantine; they are never dropped or deleted.
#[tokio::test]
async fn non_utf8_files_are_returned_as_bytes() {
    let f = contacts_fixture().await;
    let latin1 = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\xfcrgen\r\nEND:VCARD\r\n".to_vec();
    fs::write(f.dir.join("latin1.vcf"), &latin1).unwrap();
    let listing = f.vdir.changes(&f.collection, None).await.unwrap();
    assert_eq!(listing.changed.len(), 1);
    let fetched = f
        .vdir
        .get_many(&f.collection, &[Href::new("latin1.vcf")])
        .await
        .unwrap();
    assert_eq!(fetched.found[0].body, latin1);
    assert!(f.dir.join("latin1.vcf").exists());
}

// vdir metadata and other programs' files are not items.
#[tokio::test]
async fn metadata_and_foreign_files_are_skipped() {
    let f = contacts_fixture().await;
    fs::write(f.dir.join("color"), "#ff0000").unwrap();
    fs::write(f.dir.join("displayname"), "Work").unwrap();
    fs::write(f.dir.join("notes.txt"), "not a card").unwrap();
    fs::write(f.dir.join(".hidden.vcf"), sample_vcard("h", "H")).unwrap();
    fs::write(f.dir.join("a.vcf~"), "editor backup").unwrap();
    fs::create_dir(f.dir.join("sub.vcf")).unwrap();
    let card = f
        .vdir
        .create(&f.collection, "real", &sample_vcard("real", "R"))
        .await
        .unwrap();
    let listing = f.vdir.changes(&f.collection, None).await.unwrap();
    assert_eq!(listing.changed, vec![card]);
}

// File names from UIDs: every odd UID gets its own safe file inside the
// collection folder and round-trips.
#[tokio::test]
async fn odd_uids_become_distinct_safe_file_names() {
    let f = contacts_fixture().await;
    let uids = [
        "../../etc/passwd".to_owned(),
        "a/b".to_owned(),
        "a%2Fb".to_owned(),
        ".".to_owned(),
        "..".to_owned(),
        "".to_owned(),
        "tab\tnew\nline\u{7}".to_owned(),
        "CON".to_owned(),
        "Jürgen@例え.jp".to_owned(),
        "x".repeat(400),
        format!("{}y", "x".repeat(399)),
        "with space:and*star?".to_owned(),
    ];
    let mut hrefs = Vec::new();
    for uid in &uids {
        let body = sample_vcard("u", uid);
        let meta = f
            .vdir
            .create(&f.collection, uid, &body)
            .await
            .unwrap_or_else(|e| panic!("{uid:?}: {e}"));
        let name = meta.href.as_str();
        assert!(name.len() <= 128, "{name} too long");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@+%~".contains(&b)),
            "unsafe character in {name:?}"
        );
        assert!(!name.starts_with('.'), "{name} would be hidden");
        let fetched = f
            .vdir
            .get_many(&f.collection, std::slice::from_ref(&meta.href))
            .await
            .unwrap();
        assert_eq!(fetched.found[0].body, body, "{uid:?} round trip");
        hrefs.push(meta.href);
    }
    hrefs.sort();
    hrefs.dedup();
    assert_eq!(hrefs.len(), uids.len(), "two UIDs shared a file name");
    // Nothing escaped the collection folder.
    let root_entries = file_names(f._tmp.path());
    assert_eq!(root_entries, vec![f.collection.as_str().to_owned()]);
    assert_eq!(
        f.vdir.changes(&f.collection, None).await.unwrap().changed.len(),
        uids.len()
    );
}
