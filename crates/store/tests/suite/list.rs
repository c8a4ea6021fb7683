//! Listing: who sees what (R-PERM-2), paging, modified_since.

use std::collections::BTreeSet;
use std::time::Duration;

use crmsync_model::{ActivityFields, Actor, ContactFields, PartyKind, Role, UserFields};
use crmsync_store::{ListQuery, StoreError};

use crate::fixtures::*;

fn actor(u: &crmsync_model::User) -> Actor {
    Actor {
        user_id: u.id().to_string(),
        role: u.fields.role,
    }
}

async fn visible_ids<F: crmsync_store::Entity>(store: &crmsync_store::Store, who: Option<Actor>) -> BTreeSet<String> {
    let q = ListQuery {
        visible_to: who,
        ..ListQuery::default()
    };
    store
        .records()
        .list::<F>(&q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| r.meta.id)
        .collect()
}

store_test!(r_perm_2_list_never_shows_another_users_private_records, |store| {
    let alice = user(&store, "Alice", Role::User).await;
    let bob = user(&store, "Bob", Role::User).await;
    let carol = user(&store, "Carol", Role::User).await;
    let admin = user(&store, "Admin", Role::Admin).await;
    let alice_private = store
        .records()
        .create(alice.id(), contact("AlicePrivate", false))
        .await
        .unwrap();
    let bob_private = store
        .records()
        .create(bob.id(), contact("BobPrivate", false))
        .await
        .unwrap();
    let bob_shared = store
        .records()
        .create(bob.id(), contact("BobShared", true))
        .await
        .unwrap();

    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        visible_ids::<ContactFields>(&store, Some(actor(&alice))).await,
        ids(&[alice_private.id(), bob_shared.id()])
    );
    assert_eq!(
        visible_ids::<ContactFields>(&store, Some(actor(&bob))).await,
        ids(&[bob_private.id(), bob_shared.id()])
    );
    let everything = ids(&[alice_private.id(), bob_private.id(), bob_shared.id()]);
    assert_eq!(
        visible_ids::<ContactFields>(&store, Some(actor(&admin))).await,
        everything
    );
    assert_eq!(visible_ids::<ContactFields>(&store, None).await, everything);

    // Activities reach owner and participants (invited or not), no one else.
    let mut meeting = task("Bob's call with Alice");
    meeting.participants = vec![participant(PartyKind::User, Some(alice.id()), None, false)];
    let meeting = store.records().create(bob.id(), meeting).await.unwrap();
    let bob_alone = store.records().create(bob.id(), task("Bob alone")).await.unwrap();
    assert_eq!(
        visible_ids::<ActivityFields>(&store, Some(actor(&alice))).await,
        ids(&[meeting.id()])
    );
    assert_eq!(
        visible_ids::<ActivityFields>(&store, Some(actor(&bob))).await,
        ids(&[meeting.id(), bob_alone.id()])
    );
    assert!(
        visible_ids::<ActivityFields>(&store, Some(actor(&carol)))
            .await
            .is_empty()
    );

    // Everyone sees the users (participant names).
    assert_eq!(visible_ids::<UserFields>(&store, Some(actor(&carol))).await.len(), 4);

    // owner_id narrows further.
    let q = ListQuery {
        owner_id: Some(bob.id().to_string()),
        visible_to: Some(actor(&alice)),
        ..ListQuery::default()
    };
    let page = store.records().list::<ContactFields>(&q).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id()).collect::<Vec<_>>(),
        vec![bob_shared.id()]
    );
});

store_test!(list_pages_with_cursor_and_modified_since, |store| {
    let owner = user(&store, "Owner", Role::User).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            store
                .records()
                .create(owner.id(), contact(&format!("P{i}"), false))
                .await
                .unwrap(),
        );
    }
    let mut expected: Vec<_> = created
        .iter()
        .map(|c| (c.meta.modified_at, c.id().to_string()))
        .collect();
    expected.sort();

    let mut seen = Vec::new();
    let mut q = ListQuery {
        limit: 3,
        ..ListQuery::default()
    };
    let mut pages = 0;
    loop {
        let page = store.records().list::<ContactFields>(&q).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 3);
        seen.extend(page.items.iter().map(|c| (c.meta.modified_at, c.id().to_string())));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "every record once, in (modified_at, id) order");

    // Touch one record later; modified_since at its new time finds it and
    // only what was modified at or after that instant.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let touched = store
        .records()
        .update(created[2].id(), 1, contact("P2b", false))
        .await
        .unwrap();
    let q = ListQuery {
        modified_since: Some(touched.meta.modified_at),
        ..ListQuery::default()
    };
    let page = store.records().list::<ContactFields>(&q).await.unwrap();
    assert_eq!(
        page.items.iter().map(|c| c.id()).collect::<Vec<_>>(),
        vec![touched.id()]
    );
    assert!(page.next_cursor.is_none());

    let bad = ListQuery {
        cursor: Some("not a cursor".into()),
        ..ListQuery::default()
    };
    let err = store.records().list::<ContactFields>(&bad).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Validation(ref v) if v.field == "cursor"),
        "{err:?}"
    );
});
