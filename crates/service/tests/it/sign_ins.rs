//! A delegated Graph sign-in kept in the database (R-GRAPH-32): sealed like
//! the other credentials, replaced only over the version it was read at.

use crate::common;

use crmsync_connector::{Secret, TokenVault, VaultError};
use crmsync_service::{ProfileCatalog, SealedVault, SecretKey};
use sqlx::Row;

const TOKEN: &str = "1.AQwA-delegated-refresh-00000001";

both_backends!(r_graph_32_the_sign_in_is_sealed_and_replaced_conditionally, |store| {
    let key = SecretKey::generate();
    let vault = SealedVault::new(store.clone(), key.clone(), "anna", "u-anna");
    assert!(vault.load().await.unwrap().is_none(), "not signed in yet");
    vault.store(&Secret::new(TOKEN)).await.unwrap();

    let rows = sqlx::query("SELECT sealed_token FROM graph_sign_ins")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let sealed: String = rows[0].try_get("sealed_token").unwrap();
    assert!(!sealed.contains(TOKEN) && !sealed.contains("delegated"), "{sealed}");

    let first = vault.load().await.unwrap().expect("signed in");
    assert_eq!((first.token.expose(), first.version), (TOKEN, 1));
    assert!(vault.replace(1, &Secret::new("second")).await.unwrap());
    // A worker that read version 1 does not overwrite the newer token.
    assert!(!vault.replace(1, &Secret::new("stale")).await.unwrap());
    let now = vault.load().await.unwrap().unwrap();
    assert_eq!((now.token.expose(), now.version), ("second", 2));

    // Another profile has none; another key cannot open it.
    assert!(
        SealedVault::new(store.clone(), key.clone(), "bob", "u-anna")
            .load()
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        SealedVault::new(store.clone(), SecretKey::generate(), "anna", "u-anna")
            .load()
            .await,
        Err(VaultError::Unusable(_))
    ));

    // The catalog hands out this vault only when it has a key to seal with.
    let catalog = ProfileCatalog::new(store.clone(), Some(key.clone()));
    let handle = catalog.sign_in_vault("anna", "u-anna").expect("a key");
    assert_eq!(handle.0.load().await.unwrap().unwrap().token.expose(), "second");
    assert!(!format!("{handle:?} {vault:?}").contains("second"));
    // The same profile name under another owner does not open it.
    assert!(matches!(
        SealedVault::new(store.clone(), key.clone(), "anna", "u-mallory")
            .load()
            .await,
        Err(VaultError::Unusable(_))
    ));
    assert!(
        ProfileCatalog::new(store.clone(), None)
            .sign_in_vault("anna", "u-anna")
            .is_none()
    );

    // Deleting the profile deletes its sign-in (a profile made later under
    // the name signs in itself).
    store.catalog().delete_profile("anna").await.unwrap();
    assert!(store.catalog().sign_in("anna").await.unwrap().is_none());
});
