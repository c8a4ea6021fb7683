//! R-SCALE-10: a paged listing is the listing `changes` gives, handed over
//! in pages (so a large folder's listing is never held whole): the same
//! items in the same order, the same token, and the same empty delta when
//! the folder did not change since the token.

use crate::common;

use common::{Fixture, contacts_fixture};
use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{Connector, ItemMeta};

/// A contacts folder of 600 files: more than one page (256 files), written
/// in an order that is not the names'.
async fn folder_of_600() -> Fixture {
    let f = contacts_fixture().await;
    for i in (0..600).rev() {
        let uid = format!("paged-{i:04}");
        f.vdir
            .create(&f.collection, &uid, &sample_vcard(&uid, "Paged"))
            .await
            .unwrap();
    }
    f
}

#[tokio::test]
async fn r_scale_10_a_paged_listing_is_the_listing_in_pages() {
    let f = folder_of_600().await;
    let whole = f.vdir.changes(&f.collection, None).await.unwrap();
    let mut pages: Vec<Vec<ItemMeta>> = Vec::new();
    let paged = f
        .vdir
        .changes_paged(&f.collection, None, &mut |page| pages.push(page))
        .await
        .unwrap();
    assert!(paged.complete && paged.changed.is_empty(), "{paged:?}");
    assert_eq!(paged.new_token, whole.new_token);
    assert!(pages.len() > 1, "a page at a time: {} page(s)", pages.len());
    assert_eq!(pages.concat(), whole.changed);
    assert_eq!(whole.changed.len(), 600);

    // vdir lists everything before it knows nothing changed: the pages are
    // handed over, then the empty delta says they are void.
    let mut idle_pages = 0;
    let idle = f
        .vdir
        .changes_paged(&f.collection, Some(&whole.new_token), &mut |_| idle_pages += 1)
        .await
        .unwrap();
    assert!(
        !idle.complete && idle.changed.is_empty(),
        "no change, no work: {idle:?}"
    );
    assert!(idle_pages > 1, "the pages came first: {idle_pages}");
    assert_eq!(idle.new_token, whole.new_token);
}

/// R-SCALE-10: a folder changed while its pages are read. A file removed
/// before its page is read is not listed; a file rewritten after its page
/// was read is listed as it was, and the token says so: it is not the
/// folder's token now, so the next listing from it sees the rewrite.
#[tokio::test]
async fn r_scale_10_a_change_during_a_paged_listing_is_seen_by_the_next() {
    let f = folder_of_600().await;
    // Listed in the names' order.
    let names = f.vdir.changes(&f.collection, None).await.unwrap().changed;
    let (rewritten, removed) = (names[0].href.to_string(), names[names.len() - 1].href.to_string());
    let mut pages: Vec<Vec<ItemMeta>> = Vec::new();
    let paged = f
        .vdir
        .changes_paged(&f.collection, None, &mut |page| {
            if pages.is_empty() {
                // The first page holds the first name; the last is not read yet.
                assert!(page.iter().any(|m| m.href.as_str() == rewritten));
                std::fs::remove_file(f.dir.join(&removed)).unwrap();
                std::fs::write(f.dir.join(&rewritten), sample_vcard("paged-0000", "Rewritten")).unwrap();
            }
            pages.push(page);
        })
        .await
        .unwrap();
    let listed = pages.concat();
    assert!(
        !listed.iter().any(|m| m.href.as_str() == removed),
        "a removed file is not listed"
    );
    assert_eq!(listed.len(), 599);

    let now = f.vdir.changes(&f.collection, None).await.unwrap();
    assert_ne!(
        paged.new_token, now.new_token,
        "the listing missed the rewrite, and its token says so"
    );
    let etag_in = |items: &[ItemMeta]| {
        items
            .iter()
            .find(|m| m.href.as_str() == rewritten)
            .map(|m| m.etag.clone())
    };
    let next = f.vdir.changes(&f.collection, Some(&paged.new_token)).await.unwrap();
    assert!(next.complete, "{next:?}");
    assert_eq!(etag_in(&next.changed), etag_in(&now.changed));
    assert_ne!(
        etag_in(&next.changed),
        etag_in(&listed),
        "the next listing sees the rewrite"
    );
}
