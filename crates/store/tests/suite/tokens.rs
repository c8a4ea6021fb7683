//! API tokens (R-PERM-2): shown once, stored as a hash, revocable.

use crmsync_model::UserFields;
use crmsync_store::{TOKEN_PREFIX, hash_token};
use sqlx::Row;

store_test!(r_perm_2_token_auth_stores_only_the_hash, |store| {
    let fields = UserFields::active_user("Tok", "tok@example.org");
    let (user, token) = store.records().create_user(fields).await.unwrap();
    assert!(token.starts_with(TOKEN_PREFIX));
    assert!(token.len() >= TOKEN_PREFIX.len() + 43, "32 random bytes: {token}");
    assert_eq!(user.owner_id(), user.id());

    let authed = store
        .records()
        .authenticate(&token)
        .await
        .unwrap()
        .expect("valid token");
    assert_eq!(authed, user);
    assert!(store.records().authenticate("crm_wrong").await.unwrap().is_none());
    assert!(store.records().authenticate("").await.unwrap().is_none());

    // The database holds the hash, never the token.
    let rows = sqlx::query("SELECT user_id, token_hash FROM api_tokens")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("token_hash").unwrap();
    assert_eq!(stored, hash_token(&token));
    assert!(!stored.contains(&token[TOKEN_PREFIX.len()..]));

    // Rotation: old token dead, new one works.
    let fresh = store.records().rotate_token(user.id()).await.unwrap();
    assert_ne!(fresh, token);
    assert!(store.records().authenticate(&token).await.unwrap().is_none());
    assert!(store.records().authenticate(&fresh).await.unwrap().is_some());

    // An inactive user's token does not authenticate.
    let off = UserFields {
        active: false,
        ..user.fields.clone()
    };
    store.records().update(user.id(), 1, off).await.unwrap();
    assert!(store.records().authenticate(&fresh).await.unwrap().is_none());

    let err = store.records().rotate_token("ghost").await.unwrap_err();
    assert!(matches!(err, crmsync_store::StoreError::NotFound { .. }), "{err:?}");
});
