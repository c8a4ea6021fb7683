//! R-SCALE-10: a paged listing is the listing `changes` gives, handed over
//! in pages (so a large folder's listing is never held whole): the same
//! items in the same order, the same token, and the same empty delta when
//! the folder did not change since the token.

use crate::common;

use common::contacts_fixture;
use crmsync_connector::conformance::sample_vcard;
use crmsync_connector::{Connector, ItemMeta};

#[tokio::test]
async fn r_scale_10_a_paged_listing_is_the_listing_in_pages() {
    let f = contacts_fixture().await;
    // More than one page (256 files), written in an order that is not the names'.
    for i in (0..600).rev() {
        let uid = format!("paged-{i:04}");
        f.vdir
            .create(&f.collection, &uid, &sample_vcard(&uid, "Paged"))
            .await
            .unwrap();
    }
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

    let idle = f
        .vdir
        .changes_paged(&f.collection, Some(&whole.new_token), &mut |_| {})
        .await
        .unwrap();
    assert!(
        !idle.complete && idle.changed.is_empty(),
        "no change, no work: {idle:?}"
    );
    assert_eq!(idle.new_token, whole.new_token);
}
