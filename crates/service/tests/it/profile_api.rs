//! The profiles API's service side on SQLite and PostgreSQL: create-only and
//! version-checked saves in one transaction (R-SVC-API-1), the stored
//! password kept on replace (R-SVC-API-3), push tokens stored as hashes and
//! rotated (R-SVC-API-5).

use crate::common;
use chrono::Utc;
use common::*;
use crmsync_model::{Actor, Role};
use crmsync_service::{ProfileCatalog, ProfileInput, PushTarget, SecretKey, ServiceError};
use crmsync_store::{ProfileUpsert, Store};
use serde_json::json;

const PASSWORD: &str = "pw-Kestrel-4411";

fn input(name: &str, push: bool, password: bool) -> ProfileInput {
    let mut connector = json!({"kind": "dav", "url": "https://dav.example.org/", "username": "anna"});
    if password {
        connector["password"] = json!(PASSWORD);
    }
    ProfileInput {
        name: name.into(),
        user_id: None,
        connector,
        mail: None,
        rules: json!({}),
        pull_interval_secs: 900,
        push,
        enabled: true,
    }
}

both_backends!(r_svc_api_versions_tokens_and_kept_password, |store| {
    let anna = user(&store, "anna").await;
    let actor = Actor {
        user_id: anna.meta.id.clone(),
        role: Role::User,
    };
    let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
    let now = Utc::now();

    let created = catalog.create_for(&actor, input("p", true, true), now).await.unwrap();
    assert_eq!(created.view.version, 1);
    assert!(
        !format!("{created:?}").contains(&created.push_token),
        "Debug hides the token"
    );
    assert!(
        !format!("{:?}", input("p", true, true)).contains(PASSWORD),
        "Debug hides the password"
    );
    assert_eq!(
        catalog.push_target(&created.push_token).await.unwrap(),
        Some(PushTarget::Trigger("p".into()))
    );
    let raw: Option<String> = sqlx::query_scalar("SELECT push_token_hash FROM sync_profiles WHERE name = 'p'")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(
        raw,
        Some(crmsync_store::hash_token(&created.push_token)),
        "only the hash is stored"
    );

    assert!(matches!(
        catalog.create_for(&actor, input("p", true, true), now).await,
        Err(ServiceError::ProfileExists(_))
    ));

    // Push off, password left out: kept, version 2.
    let (view, outcome) = catalog
        .replace_for(&actor, "p", 1, input("p", false, false), now)
        .await
        .unwrap();
    assert_eq!(outcome, ProfileUpsert::Changed);
    assert_eq!(view.version, 2);
    assert!(view.has_credentials);
    let row = store.catalog().profile_row("p").await.unwrap().unwrap();
    let def = catalog.definition_of(&row).unwrap();
    match &def.connector {
        crmsync_service::ConnectorSpec::Dav(dav) => assert!(
            dav.password.as_ref().is_some_and(|p| p.is_value()),
            "the stored password is kept"
        ),
        other => panic!("expected a dav connector, got {other:?}"),
    }
    assert_eq!(
        catalog.push_target(&created.push_token).await.unwrap(),
        Some(PushTarget::Ignored("p".into()))
    );

    // The same again is unchanged (same sealed text, same version).
    let (view, outcome) = catalog
        .replace_for(&actor, "p", 2, input("p", false, false), now)
        .await
        .unwrap();
    assert_eq!((outcome, view.version), (ProfileUpsert::Unchanged, 2));
    // A stale version changes nothing.
    assert!(matches!(
        catalog.replace_for(&actor, "p", 1, input("p", true, true), now).await,
        Err(ServiceError::ProfileVersion { current: 2, .. })
    ));

    let rotated = catalog.rotate_push_token_for(&actor, "p").await.unwrap();
    assert_eq!(catalog.push_target(&created.push_token).await.unwrap(), None);
    assert!(catalog.push_target(&rotated).await.unwrap().is_some());

    // Another user sees nothing of it.
    let bert = user(&store, "bert").await;
    let other = Actor {
        user_id: bert.meta.id.clone(),
        role: Role::User,
    };
    assert!(matches!(
        catalog.delete_for(&other, "p").await,
        Err(ServiceError::ProfileNotFound(_))
    ));
    catalog.delete_for(&actor, "p").await.unwrap();
    assert_eq!(catalog.push_target(&rotated).await.unwrap(), None);
});

fn with_mail(mail: serde_json::Value, password: bool) -> ProfileInput {
    let mut i = input("m", true, password);
    i.mail = Some(mail);
    i
}

fn imap(host: &str, password: bool) -> serde_json::Value {
    let mut mail = json!({"kind": "imap", "host": host, "tls": "tls", "username": "anna",
        "tracking": {"folder": "Tracked", "never_track": ["ceo@example.com"]}});
    if password {
        mail["password"] = json!("imap-pw-77");
    }
    mail
}

// R-PROFILE-MAIL-1: the API sets a profile's mail connector with the
// config file's checks; its password is sealed, write-only, and kept on a
// replace that leaves it out only while the server and user stay.
both_backends!(
    r_profile_mail_1_the_api_sets_the_mail_connector_as_the_config_file_does,
    |store| {
        let actor = user_actor(&user(&store, "anna").await);
        let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
        let now = Utc::now();
        fn refused<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> String {
            match r {
                Err(ServiceError::InvalidField { field, .. }) => field,
                other => panic!("expected a refused field, got {other:?}"),
            }
        }
        // Refused as the config file refuses them, naming the key.
        let dav_as_mail =
            json!({"kind": "dav", "url": "https://dav.example.org/", "username": "anna", "password": "x"});
        assert_eq!(
            refused(catalog.create_for(&actor, with_mail(dav_as_mail, true), now).await),
            "mail"
        );
        let mut bad_tracking = imap("imap.example.org", true);
        bad_tracking["tracking"]["never_track"] = json!(["not an address"]);
        assert_eq!(
            refused(catalog.create_for(&actor, with_mail(bad_tracking, true), now).await),
            "mail.tracking"
        );
        let mut unknown = imap("imap.example.org", true);
        unknown["colour"] = json!("red");
        assert_eq!(
            refused(catalog.create_for(&actor, with_mail(unknown, true), now).await),
            "mail.colour"
        );
        let mut imap_twice = with_mail(imap("imap.example.org", true), true);
        imap_twice.connector = imap("imap.example.org", true);
        assert_eq!(refused(catalog.create_for(&actor, imap_twice, now).await), "mail");
        assert!(
            store.catalog().profile_row("m").await.unwrap().is_none(),
            "nothing was saved"
        );

        let created = catalog
            .create_for(&actor, with_mail(imap("imap.example.org", true), true), now)
            .await
            .unwrap();
        let shown = serde_json::to_string(&created.view).unwrap();
        assert!(
            shown.contains("imap.example.org") && !shown.contains("imap-pw-77"),
            "{shown}"
        );
        let mail_password = |store: Store, catalog: ProfileCatalog| async move {
            let row = store.catalog().profile_row("m").await.unwrap().unwrap();
            match catalog.definition_of(&row).unwrap().mail {
                Some(crmsync_service::ConnectorSpec::Imap(c)) => {
                    assert_eq!(c.tracking.folder, "Tracked");
                    c.password.map(|p| p.is_value())
                }
                other => panic!("expected an imap mail connector, got {other:?}"),
            }
        };
        assert_eq!(mail_password(store.clone(), catalog.clone()).await, Some(true));

        // Both passwords left out, same servers: both kept (nothing changed).
        let (kept, outcome) = catalog
            .replace_for(&actor, "m", 1, with_mail(imap("imap.example.org", false), false), now)
            .await
            .unwrap();
        assert_eq!((outcome, kept.version), (ProfileUpsert::Unchanged, 1));
        assert_eq!(mail_password(store.clone(), catalog.clone()).await, Some(true));
        // Another IMAP server without the password: refused, naming the key.
        assert_eq!(
            refused(
                catalog
                    .replace_for(&actor, "m", 1, with_mail(imap("evil.example.net", false), false), now)
                    .await
            ),
            "mail.password"
        );
        // A replace without `mail` removes it.
        catalog
            .replace_for(&actor, "m", 1, input("m", true, false), now)
            .await
            .unwrap();
        let row = store.catalog().profile_row("m").await.unwrap().unwrap();
        assert_eq!(catalog.definition_of(&row).unwrap().mail, None);
    }
);

fn graph_input(base_url: &str, mailbox: &str, secret: bool) -> ProfileInput {
    let mut connector = json!({
        "kind": "graph", "tenant": "contoso.onmicrosoft.com", "mailbox": mailbox,
        "client_id": "11111111-2222-3333-4444-555555555555", "base_url": base_url,
    });
    if secret {
        connector["client_secret"] = json!("graph-secret-9931");
    }
    ProfileInput {
        connector,
        ..input("g", false, false)
    }
}

// R-SVC-API-3 for Graph: a client secret left out of an edit is kept only
// while the Graph host, the token authority, the tenant, the app and the
// mailbox stay the same; an edit that points the profile elsewhere must send
// the secret again, so a stored secret never goes to a host the editor picks.
both_backends!(
    r_svc_api_3_graph_secret_is_kept_only_for_the_same_destination,
    |store| {
        let admin = user(&store, "root").await;
        let actor = Actor {
            user_id: admin.meta.id.clone(),
            role: Role::Admin,
        };
        let catalog = ProfileCatalog::new(store.clone(), Some(SecretKey::generate()));
        let now = Utc::now();
        let graph = "https://graph.microsoft.com/v1.0";
        catalog
            .create_for(&actor, graph_input(graph, "carol@contoso.com", true), now)
            .await
            .unwrap();
        // Nothing that names the destination changed: the secret is kept.
        let (view, _) = catalog
            .replace_for(&actor, "g", 1, graph_input(graph, "carol@contoso.com", false), now)
            .await
            .unwrap();
        assert!(view.has_credentials, "the stored client secret is kept");
        // Another host, or another mailbox, without the secret: refused, naming it.
        for changed in [
            graph_input("https://graph.attacker.example/v1.0", "carol@contoso.com", false),
            graph_input(graph, "ceo@contoso.com", false),
        ] {
            match catalog.replace_for(&actor, "g", view.version, changed, now).await {
                Err(ServiceError::InvalidField { field, .. }) => assert_eq!(field, "connector.client_secret"),
                other => panic!("an edit to another destination must send the secret again, got {other:?}"),
            }
        }
        // With the secret sent again, the move is allowed.
        let (moved, _) = catalog
            .replace_for(
                &actor,
                "g",
                view.version,
                graph_input("https://graph.microsoft.us/v1.0", "carol@contoso.com", true),
                now,
            )
            .await
            .unwrap();
        assert!(moved.has_credentials);
    }
);
