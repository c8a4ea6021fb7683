//! Files and folders crmsync may not read or write. These run the blocking core
//! on a thread whose file-system uid is `nobody`, because CI runs as root and
//! root ignores permission bits (setfsuid to a non-zero uid drops the DAC
//! override capabilities for that thread only).

use std::fs::{self, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{CollectionKind, ConnectorError, Href};

use crate::store::VdirStore;

const NOBODY: libc::uid_t = 65534;

/// Runs `work` on a thread that file permissions apply to, even under root.
fn as_unprivileged<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: setfsuid only changes this thread's file-system uid;
                // passing -1 (invalid) just reads the current value back.
                unsafe {
                    if libc::geteuid() == 0 {
                        libc::setfsuid(NOBODY);
                        assert_eq!(libc::setfsuid(libc::uid_t::MAX), NOBODY as i32, "setfsuid failed");
                    }
                }
                work()
            })
            .join()
            .expect("unprivileged work panicked")
    })
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

fn setup() -> (tempfile::TempDir, VdirStore, crmsync_connector::CollectionId) {
    let tmp = tempfile::tempdir().unwrap();
    chmod(tmp.path(), 0o755);
    let store = VdirStore::new(tmp.path().to_owned());
    let id = store
        .ensure_collection(CollectionKind::Contacts, "contacts")
        .unwrap()
        .id;
    chmod(&tmp.path().join("contacts"), 0o777);
    (tmp, store, id)
}

// R-SAFE-4: an unreadable item is listed (so it is not taken for deleted),
// reported as a per-item failure with its path, and never written or deleted.
#[test]
fn an_unreadable_file_is_listed_reported_and_left_alone() {
    let (tmp, store, id) = setup();
    let ok = store.create(&id, "ok", &sample_vcard("ok", "OK")).unwrap();
    let locked = store.create(&id, "locked", &sample_vcard("locked", "L")).unwrap();
    let locked_path = tmp.path().join("contacts").join(locked.href.as_str());
    chmod(&locked_path, 0o000);

    as_unprivileged(|| {
        let listing = store.changes(&id, None).unwrap();
        let hrefs: Vec<&str> = listing.changed.iter().map(|i| i.href.as_str()).collect();
        assert_eq!(hrefs, vec!["locked.vcf", "ok.vcf"]);
        assert!(listing.changed[0].etag.as_str().starts_with("unreadable-"));
        assert_eq!(listing.changed[1], ok);

        let fetched = store.get_many(&id, &[locked.href.clone(), ok.href.clone()]).unwrap();
        assert_eq!(fetched.found.len(), 1);
        assert!(fetched.missing.is_empty(), "unreadable is not missing");
        let failure = &fetched.failed[0];
        assert_eq!(failure.href, locked.href);
        assert!(
            matches!(&failure.error, ConnectorError::Forbidden { detail } if detail.contains("locked.vcf")),
            "{:?}",
            failure.error
        );
        assert!(failure.error.hint().contains("permissions"));

        let upd = store.update(&id, &locked.href, &locked.etag, b"x").unwrap_err();
        assert!(matches!(upd, ConnectorError::Forbidden { .. }), "{upd:?}");
        let del = store.delete(&id, &locked.href, &locked.etag).unwrap_err();
        assert!(matches!(del, ConnectorError::Forbidden { .. }), "{del:?}");
    });
    assert!(locked_path.exists(), "never delete what we cannot read");
}

// A folder we may not read is a clear, permanent Forbidden naming the folder.
#[test]
fn a_permission_denied_folder_is_a_clear_error() {
    let (tmp, store, id) = setup();
    let dir = tmp.path().join("contacts");
    chmod(&dir, 0o000);
    as_unprivileged(|| {
        let err = store.changes(&id, None).unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Forbidden { detail } if detail.contains(&*dir.to_string_lossy())),
            "{err:?}"
        );
        assert!(!err.is_transient());
        assert!(err.hint().contains("permissions"), "{}", err.hint());
        let got = store.get_many(&id, &[Href::new("a.vcf")]).unwrap();
        assert!(got.missing.is_empty(), "an unreadable item is not a missing one");
        assert!(
            matches!(got.failed[0].error, ConnectorError::Forbidden { .. }),
            "{got:?}"
        );
    });
    chmod(&dir, 0o755);
}

// A read-only folder: reads work, writes fail with Forbidden and leave nothing.
#[test]
fn a_read_only_folder_refuses_writes_cleanly() {
    let (tmp, store, id) = setup();
    let existing = store.create(&id, "a", &sample_vcard("a", "A")).unwrap();
    let dir = tmp.path().join("contacts");
    chmod(&dir, 0o555);
    let before = fs::read_dir(&dir).unwrap().count();
    as_unprivileged(|| {
        assert_eq!(store.changes(&id, None).unwrap().changed, vec![existing.clone()]);
        let err = store.create(&id, "b", &sample_vcard("b", "B")).unwrap_err();
        assert!(matches!(err, ConnectorError::Forbidden { .. }), "{err:?}");
        let err = store.update(&id, &existing.href, &existing.etag, b"new").unwrap_err();
        assert!(matches!(err, ConnectorError::Forbidden { .. }), "{err:?}");
        let err = store.delete(&id, &existing.href, &existing.etag).unwrap_err();
        assert!(matches!(err, ConnectorError::Forbidden { .. }), "{err:?}");
    });
    assert_eq!(fs::read_dir(&dir).unwrap().count(), before, "no temp file left behind");
    chmod(&dir, 0o755);
}
