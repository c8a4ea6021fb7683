//! R-API-16: user names are unique, ignoring case and surrounding blanks,
//! because profiles find their user by name.

use crmsync_model::{Role, UserFields};
use crmsync_store::StoreError;

fn named(name: &str) -> UserFields {
    UserFields {
        name: name.into(),
        email: None,
        role: Role::User,
        active: true,
    }
}

store_test!(r_api_16_a_second_user_of_the_same_name_is_a_conflict, |store| {
    let (bob, _) = store.records().create_user(named("Bob")).await.unwrap();
    for twin in ["Bob", "bob", " BOB "] {
        let err = store.records().create_user(named(twin)).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{twin}: {err}");
        assert!(err.to_string().contains("exists already"), "{err}");
    }
    // Renaming another user onto the name is refused the same way, and
    // nothing changed.
    let (carol, _) = store.records().create_user(named("Carol")).await.unwrap();
    let err = store
        .records()
        .update::<UserFields>(carol.id(), carol.version(), named("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    assert_eq!(
        store.records().get::<UserFields>(carol.id()).await.unwrap().fields.name,
        "Carol"
    );
    // The name is free again once its user is gone.
    store.records().delete::<UserFields>(bob.id(), None).await.unwrap();
    store.records().create_user(named("bob")).await.unwrap();
});
