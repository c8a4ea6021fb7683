//! R-WEB-14: a quarantined item whose verdict went stale without the item
//! changing is read again only when a user asks for a retry. The real case:
//! two cards with one UID (R-SYNC-UID-2; Xandikos and a vdir keep both), the
//! copy quarantined because "another item has the same UID"; then the user
//! gives the *first* card another UID. The copy did not change, so every run
//! keeps the old verdict, which is no longer true. After a retry the next run
//! reads the copy and judges it afresh: its UID still names the CRM record
//! the first card syncs with, so it stays quarantined with that reason, and
//! the run goes on (before the fix in `quarantine_duplicate_uids` it failed
//! as a whole). On Xandikos the listing is a delta (sync token), which
//! leaves the unchanged copy out: the runner must fetch it itself.

use crate::common;
use crate::dav_world::{DavWorld, Http, Peer, PeerKind};

use chrono::Utc;
use crmsync_model::ContactFields;
use crmsync_store::Store;
use crmsync_store::status::{HistoryEntry, QuarantineRow, RETRY_ETAG};
use crmsync_store::{ListQuery, MAX_PAGE};

fn card(uid: &str, last: &str) -> String {
    format!(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Twin {last}\r\nN:{last};Twin;;;\r\nEMAIL:{}@example.com\r\nEND:VCARD\r\n",
        last.to_lowercase()
    )
}

fn note(row: &QuarantineRow) -> HistoryEntry {
    HistoryEntry {
        profile: row.profile.clone(),
        collection: row.collection.clone(),
        crm_id: None,
        href: Some(row.href.clone()),
        run_id: None,
        at: Utc::now(),
        action: "status retry".into(),
        rule: "R-SAFE-4".into(),
        message: "retry by choice (R-WEB-14)".into(),
        detail: None,
    }
}

async fn last_names(store: &Store) -> Vec<String> {
    let mut names: Vec<String> = store
        .records()
        .list::<ContactFields>(&ListQuery {
            limit: MAX_PAGE,
            ..ListQuery::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.fields.last_name)
        .collect();
    names.sort();
    names
}

async fn quarantined(store: &Store) -> Vec<QuarantineRow> {
    store.sync_state().quarantined("alice").await.unwrap()
}

/// The part every mailbox shares, after the two cards are in and `rename`
/// gave the first one another UID: runs keep the copy quarantined until a
/// retry, after which it is read and judged afresh.
async fn copy_is_read_again_only_after_a_retry<F, Fut>(store: &Store, sync: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = crmsync_sync::RunReport>,
{
    for _ in 0..2 {
        sync().await;
        let rows = quarantined(store).await;
        assert_eq!(rows.len(), 1, "the unchanged copy keeps its verdict: {rows:?}");
        assert!(rows[0].error.contains("same UID"), "{rows:?}");
        assert_eq!(last_names(store).await, ["First"], "the copy is not imported");
    }
    let marked = store.sync_state().retry_quarantined("alice", None, note).await.unwrap();
    assert_eq!(marked.len(), 1);
    assert_eq!(quarantined(store).await[0].etag, RETRY_ETAG, "marked for the retry");
    // Retrying again before the run changes nothing and notes nothing twice.
    store.sync_state().retry_quarantined("alice", None, note).await.unwrap();
    let report = sync().await;
    let rows = quarantined(store).await;
    assert_eq!(rows.len(), 1, "{report}");
    assert!(
        rows[0].error.contains("had this UID before"),
        "read and judged afresh: {rows:?}"
    );
    assert_ne!(rows[0].etag, RETRY_ETAG, "the fresh verdict holds the item's ETag");
    assert_eq!(
        last_names(store).await,
        ["First"],
        "the copy never takes the first one's record"
    );
    let again = sync().await;
    assert_eq!(
        quarantined(store).await,
        rows,
        "an unchanged verdict stays as it is: {again}"
    );
    let history = store
        .sync_state()
        .history("alice", None, Some(&marked[0].href))
        .await
        .unwrap();
    let retries = history.iter().filter(|h| h.action == "status retry").count();
    assert_eq!(retries, 1, "one line per retry asked: {history:?}");
}

// R-WEB-14, R-SYNC-UID-2 (vdir: a complete listing every run)
#[tokio::test]
async fn r_web_14_retry_reads_an_unchanged_quarantined_copy_again_on_vdir() {
    let w = common::World::new().await;
    w.sync().await; // creates the collections
    let folder = w.folder("contacts");
    std::fs::write(folder.join("dup-a.vcf"), card("dup-1", "First")).unwrap();
    std::fs::write(folder.join("dup-b.vcf"), card("dup-1", "Second")).unwrap();
    w.sync().await;
    assert_eq!(quarantined(&w.store).await.len(), 1, "the copy is quarantined");
    std::fs::write(folder.join("dup-a.vcf"), card("dup-9", "First")).unwrap();
    copy_is_read_again_only_after_a_retry(&w.store, || w.sync()).await;
}

// R-WEB-14, R-SYNC-UID-2 (Xandikos: a delta listing leaves the copy out)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_web_14_retry_reads_an_unchanged_quarantined_copy_again_on_xandikos() {
    let peer = Peer::start(PeerKind::Xandikos);
    let w = DavWorld::new(&peer).await;
    w.sync().await;
    let http = Http::new(&peer);
    let base = w.collection("contacts").await.id.as_str().to_string();
    let put = |file: &'static str, body: String| {
        let http = &http;
        let path = format!("{base}{file}");
        async move {
            let headers = [("Content-Type", "text/vcard")];
            http.send("PUT", &path, &headers, body.as_bytes()).await.0
        }
    };
    assert!((200..300).contains(&put("dup-a.vcf", card("dup-1", "First")).await));
    assert!((200..300).contains(&put("dup-b.vcf", card("dup-1", "Second")).await));
    w.sync().await;
    assert_eq!(quarantined(&w.store).await.len(), 1, "the copy is quarantined");
    assert!((200..300).contains(&put("dup-a.vcf", card("dup-9", "First")).await));
    copy_is_read_again_only_after_a_retry(&w.store, || w.sync()).await;
}
