//! Crash safety: no half files, crash leftovers ignored and cleaned, creates
//! that never clobber another writer's file. (R-SAFE-2)

use crate::common;
use std::fs;
use std::time::{Duration, SystemTime};

use common::{contacts_fixture, file_names};
use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{Connector, ConnectorError};
use crmsync_vdir::TEMP_FILE_PREFIX;

// R-SAFE-2: a crash between writing the temp file and the rename leaves only a
// hidden temp file; it is never listed, and once stale it is removed.
#[tokio::test]
async fn crash_leftovers_are_ignored_and_stale_ones_cleaned() {
    let f = contacts_fixture().await;
    let kept = f
        .vdir
        .create(&f.collection, "kept", &sample_vcard("kept", "K"))
        .await
        .unwrap();

    let stale = f.dir.join(format!("{TEMP_FILE_PREFIX}crashed.part"));
    fs::write(&stale, b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:half").unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // A fresh one may belong to a concurrent writer still at work.
    let fresh = f.dir.join(format!("{TEMP_FILE_PREFIX}inflight.part"));
    fs::write(&fresh, b"BEGIN:VCARD").unwrap();

    let listing = f.vdir.changes(&f.collection, None).await.unwrap();
    assert_eq!(listing.changed, vec![kept], "temp files must never be listed as items");
    assert!(!stale.exists(), "a stale crash leftover must be cleaned");
    assert!(fresh.exists(), "a fresh temp file must be left to its writer");
}

// R-SAFE-2: failed and successful writes leave no temp files behind.
#[tokio::test]
async fn writes_leave_no_temp_files() {
    let f = contacts_fixture().await;
    let meta = f
        .vdir
        .create(&f.collection, "a", &sample_vcard("a", "A"))
        .await
        .unwrap();
    f.vdir
        .create(&f.collection, "a", &sample_vcard("a", "A2"))
        .await
        .unwrap_err();
    let e2 = f
        .vdir
        .update(&f.collection, &meta.href, &meta.etag, &sample_vcard("a", "B"))
        .await
        .unwrap();
    f.vdir
        .update(&f.collection, &meta.href, &meta.etag, b"stale")
        .await
        .unwrap_err();
    f.vdir.delete(&f.collection, &meta.href, &e2).await.unwrap();
    let leftovers: Vec<String> = file_names(&f.dir)
        .into_iter()
        .filter(|n| n.starts_with(TEMP_FILE_PREFIX))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// A reader running alongside updates sees only complete versions, never a mix
// or a truncated file: the rename is atomic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_never_see_a_partial_file() {
    let f = contacts_fixture().await;
    // Large bodies make a non-atomic write observable.
    let version = |n: usize| {
        let mut body = sample_vcard("big", &format!("V{n}"));
        body.extend(std::iter::repeat_n(b'0' + (n % 10) as u8, 256 * 1024));
        body
    };
    let versions: Vec<Vec<u8>> = (0..40).map(version).collect();
    let mut meta = f.vdir.create(&f.collection, "big", &versions[0]).await.unwrap();
    let path = f.dir.join(meta.href.as_str());

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (stop, versions, path) = (stop.clone(), versions.clone(), path.clone());
        std::thread::spawn(move || {
            let mut reads = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = fs::read(&path).expect("the item must exist at every instant");
                assert!(
                    versions.contains(&body),
                    "read a partial or mixed body ({} bytes)",
                    body.len()
                );
                reads += 1;
            }
            reads
        })
    };
    for body in &versions[1..] {
        meta.etag = f
            .vdir
            .update(&f.collection, &meta.href, &meta.etag, body)
            .await
            .unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("reader saw only complete versions");
    assert!(reads > 0);
}

// R-SAFE-2: a file another program created under the same name is never
// overwritten; create says AlreadyExists and the stranger's bytes survive.
#[tokio::test]
async fn create_never_clobbers_another_writers_file() {
    let f = contacts_fixture().await;
    let theirs = b"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:uid-1\r\nFN:Theirs\r\nEND:VCARD\r\n";
    fs::write(f.dir.join("uid-1.vcf"), theirs).unwrap();
    let err = f
        .vdir
        .create(&f.collection, "uid-1", &sample_vcard("uid-1", "Ours"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ConnectorError::AlreadyExists { ref href } if href.as_str() == "uid-1.vcf"),
        "{err:?}"
    );
    assert_eq!(fs::read(f.dir.join("uid-1.vcf")).unwrap(), theirs);
}

// Racing creators of one UID: exactly one wins, the other gets AlreadyExists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_of_one_name_have_exactly_one_winner() {
    let f = contacts_fixture().await;
    for round in 0..20 {
        let uid = format!("race-{round}");
        let (a, b) = tokio::join!(
            f.vdir
                .create(&f.collection, &uid, b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n"),
            f.vdir
                .create(&f.collection, &uid, b"BEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\n"),
        );
        let wins = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {a:?} / {b:?}");
        let loser = if a.is_ok() { b } else { a };
        assert!(matches!(loser, Err(ConnectorError::AlreadyExists { .. })));
        let winner_body = fs::read(f.dir.join(format!("{uid}.vcf"))).unwrap();
        assert!(
            winner_body == b"BEGIN:VCARD\r\nFN:A\r\nEND:VCARD\r\n"
                || winner_body == b"BEGIN:VCARD\r\nFN:B\r\nEND:VCARD\r\n"
        );
    }
}

// New items get the mode any file written by the service gets (umask applies),
// and an update keeps the mode the user gave the file.
#[cfg(unix)]
#[tokio::test]
async fn file_modes_follow_the_umask_and_survive_updates() {
    use std::os::unix::fs::PermissionsExt;
    let f = contacts_fixture().await;
    fs::write(f.dir.join("reference"), "x").unwrap();
    let reference = fs::metadata(f.dir.join("reference")).unwrap().permissions().mode();
    let meta = f
        .vdir
        .create(&f.collection, "m", &sample_vcard("m", "M"))
        .await
        .unwrap();
    let path = f.dir.join(meta.href.as_str());
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode(), reference);

    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    f.vdir
        .update(&f.collection, &meta.href, &meta.etag, &sample_vcard("m", "N"))
        .await
        .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
}
