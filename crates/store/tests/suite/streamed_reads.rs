//! The reads a streamed pass makes (R-SYNC-STREAM-1/2): activities a page at
//! a time, records by a batch of ids, and pairs as keys with full rows only
//! for the ids asked for. Both backends: the `IN (…)` lists and the bound
//! `LIMIT` are the SQL most likely to differ.

use chrono::Utc;
use crmsync_engine::{Origin, PairState};
use crmsync_model::{ContactFields, Role};
use crmsync_store::status::{PairKey, PairRow};

use crate::fixtures::*;

store_test!(r_sync_stream_1_activities_page_by_id_and_records_by_batch, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let a = store
            .records()
            .create(alice.id(), task(&format!("t{i}")))
            .await
            .unwrap();
        ids.push(a.meta.id);
    }
    ids.sort();
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .records()
            .activities_for_user_page(alice.id(), after.as_deref(), 2)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.meta.id.clone());
        assert!(page.len() <= 2);
        paged.extend(page.into_iter().map(|a| a.meta.id));
    }
    assert_eq!(paged, ids, "every activity once, in id order");

    let c1 = store.records().create(alice.id(), contact("One", false)).await.unwrap();
    let c2 = store.records().create(alice.id(), contact("Two", false)).await.unwrap();
    let asked = vec![c2.meta.id.clone(), "no-such-id".to_string(), c1.meta.id.clone()];
    let found = store.records().get_many::<ContactFields>(&asked).await.unwrap();
    let mut want = vec![c1.meta.id.clone(), c2.meta.id.clone()];
    want.sort();
    assert_eq!(found.iter().map(|c| c.meta.id.clone()).collect::<Vec<_>>(), want);
});

fn pair(id: &str) -> PairRow {
    PairRow {
        id: id.into(),
        profile: "p".into(),
        collection: "contacts".into(),
        crm_id: format!("crm-{id}"),
        href: format!("{id}.vcf"),
        etag: format!("etag-{id}"),
        uid: Some(format!("uid-{id}")),
        crm_version: 3,
        origin: Origin::Crm,
        state: PairState::Live,
        base: Default::default(),
        facts: Some("{}".into()),
        raw: Some(format!("BEGIN:VCARD\nUID:uid-{id}\nEND:VCARD\n")),
        updated_at: Utc::now(),
    }
}

store_test!(r_sync_stream_2_pair_keys_for_all_full_rows_for_the_ids_asked, |store| {
    let state = store.sync_state();
    assert_eq!(state.pair_count("p", "contacts").await.unwrap(), 0);
    for id in ["a", "b", "c"] {
        state.save_pair(&pair(id)).await.unwrap();
    }
    assert_eq!(state.pair_count("p", "contacts").await.unwrap(), 3);
    assert_eq!(state.pair_count("p", "events").await.unwrap(), 0);
    let mut keys = Vec::new();
    state
        .for_each_pair_key("p", "contacts", |k| keys.push(k))
        .await
        .unwrap();
    assert_eq!(
        keys,
        ["a", "b", "c"]
            .iter()
            .map(|id| PairKey {
                id: id.to_string(),
                crm_id: format!("crm-{id}"),
                href: format!("{id}.vcf"),
                etag: format!("etag-{id}"),
                uid: Some(format!("uid-{id}")),
                state: PairState::Live,
            })
            .collect::<Vec<_>>()
    );
    let rows = state
        .pairs_by_id(&["c".to_string(), "gone".to_string(), "a".to_string()])
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "c"]);
    assert_eq!(rows[1].raw, pair("c").raw, "a full row carries the body");
    assert!(state.pairs_by_id(&[]).await.unwrap().is_empty());
});

store_test!(r_scale_10_pairs_touching_by_crm_id_and_href_each_once, |store| {
    let state = store.sync_state();
    for id in ["a", "b", "c", "d"] {
        state.save_pair(&pair(id)).await.unwrap();
    }
    // The same keys in another collection are not this collection's pairs.
    state
        .save_pair(&PairRow {
            id: "e".into(),
            collection: "events".into(),
            crm_id: "crm-b".into(),
            href: "c.vcf".into(),
            ..pair("e")
        })
        .await
        .unwrap();
    let rows = state
        .pairs_touching(
            "p",
            "contacts",
            &["crm-d", "crm-b", "crm-gone"],
            &["b.vcf", "a.vcf", "gone.vcf"],
        )
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["a", "b", "d"],
        "by id, each once (b by both its CRM id and its href)"
    );
    assert_eq!(rows[0].raw, pair("a").raw, "a full row carries the body");
    assert!(
        state
            .pairs_touching("p", "contacts", &[], &[])
            .await
            .unwrap()
            .is_empty()
    );
    let many: Vec<String> = (0..450).map(|i| format!("crm-x{i}")).collect();
    let mut asked: Vec<&str> = many.iter().map(String::as_str).collect();
    asked.push("crm-c");
    let rows = state.pairs_touching("p", "contacts", &asked, &[]).await.unwrap();
    assert_eq!(rows.len(), 1, "ids past one query's list are asked too");
});
